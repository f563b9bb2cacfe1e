"""The vendors' errors (codes in docs/errors.md)."""

from __future__ import annotations

from ordergate.errors import ConflictError, NotFoundError


class VendorNotFoundError(NotFoundError):
    code = "VENDOR_NOT_FOUND"

    @classmethod
    def for_id(cls, vendor_id: int) -> VendorNotFoundError:
        return cls(f"Vendor {vendor_id} not found", details={"vendor_id": vendor_id})

    @classmethod
    def for_code(cls, code: str) -> VendorNotFoundError:
        return cls(f"Vendor '{code}' not found", details={"vendor_code": code})


class VendorCodeTakenError(ConflictError):
    code = "VENDOR_CODE_TAKEN"

    def __init__(self, code: str) -> None:
        super().__init__(f"Vendor code '{code}' is already taken")
