"""Small keyword-only factories; each flushes so ids are set, and the caller commits."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from ordergate.auth.service import create_user
from ordergate.catalog.models import Product
from ordergate.gtin import canonical_gtin
from ordergate.vendors.models import Vendor
from ordergate.vendors.service import create_vendor
from tests.conftest import PASSWORD


def make_vendor(db: Session, *, code: str = "shop1", name: str | None = None) -> Vendor:
    return create_vendor(db, code=code, name=name or f"Shop {code}")


def make_product(
    db: Session,
    *,
    vendor_id: int,
    title: str = "Product",
    gtin: str | None = None,
    sku: str | None = None,
    is_active: bool = True,
) -> Product:
    """A catalog row written directly, without auto-matching."""
    canonical = canonical_gtin(gtin)
    product = Product(
        vendor_id=vendor_id,
        title=title,
        gtin=gtin,
        gtin_normalized=canonical,
        gtin_type="gtin13" if canonical else None,
        sku=sku,
        currency="EUR",
        is_active=is_active,
        is_placeholder=False,
    )
    db.add(product)
    db.flush()
    return product


def make_user(
    db: Session,
    *,
    email: str = "user@example.test",
    is_admin: bool = False,
    vendors: list[str] | None = None,
    password: str = PASSWORD,
    role: str = "staff",
) -> User:
    """A user; the first member of a vendor becomes its owner whatever `role` says."""
    return create_user(
        db,
        email=email,
        password=password,
        is_admin=is_admin,
        vendor_codes=vendors or [],
        role=role,
    )


def login(
    client: TestClient, email: str, *, vendor_code: str | None = None, password: str = PASSWORD
) -> dict[str, str]:
    body = {"email": email, "password": password}
    if vendor_code:
        body["vendor_code"] = vendor_code
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def admin_headers(
    client: TestClient, db: Session, *, email: str = "admin@example.test"
) -> dict[str, str]:
    make_user(db, email=email, is_admin=True)
    db.commit()
    return login(client, email)


def vendor_headers(
    client: TestClient, db: Session, *, code: str = "shop1", email: str | None = None
) -> tuple[Vendor, dict[str, str]]:
    vendor = make_vendor(db, code=code)
    email = email or f"staff@{code}.test"
    make_user(db, email=email, vendors=[code])
    db.commit()
    return vendor, login(client, email)


def staff_headers(
    client: TestClient, db: Session, *, code: str = "shop1"
) -> tuple[Vendor, dict[str, str]]:
    """A vendor with an owner (owner@CODE.test) and a staff member's headers (staff@CODE.test)."""
    vendor = make_vendor(db, code=code)
    make_user(db, email=f"owner@{code}.test", vendors=[code], role="owner")
    make_user(db, email=f"staff@{code}.test", vendors=[code], role="staff")
    db.commit()
    return vendor, login(client, f"staff@{code}.test")


@dataclass(frozen=True)
class Caller:
    """One API caller of a test parametrised over the two trees (the `caller` fixture): an admin
    acting on `vendor`, or `vendor`'s own member."""

    tree: str  # "admin" or "vendor"
    vendor: Vendor
    headers: dict[str, str]

    @property
    def is_admin(self) -> bool:
        return self.tree == "admin"

    def url(self, *, admin: str, vendor: str) -> str:
        """The tree's spelling of a path, e.g. `admin="/api/v1/admin/order-exceptions"`."""
        return admin if self.is_admin else vendor

    def vendor_query(self) -> dict[str, int]:
        """`?vendor_id=` for the admin tree; the vendor tree takes it from the token."""
        return {"vendor_id": self.vendor.id} if self.is_admin else {}


def make_caller(client: TestClient, db: Session, tree: str, *, code: str = "shop1") -> Caller:
    if tree == "admin":
        vendor = make_vendor(db, code=code)
        return Caller(tree, vendor, admin_headers(client, db))
    vendor, headers = vendor_headers(client, db, code=code)
    return Caller(tree, vendor, headers)
