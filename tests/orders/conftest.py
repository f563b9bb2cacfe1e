"""The Letzshop sandbox fixtures, for the test that declines a line through the real API."""

from tests.letzshop.conftest import put_shipments, sandbox, shop

__all__ = ["put_shipments", "sandbox", "shop"]
