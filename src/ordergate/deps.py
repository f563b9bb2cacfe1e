"""Request dependencies: session, current user, and the scopes of the admin and vendor trees."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.utils import generate_unique_id
from sqlalchemy.orm import Session, sessionmaker

from ordergate.auth import repository as auth_repository
from ordergate.auth.errors import OwnerRequiredError
from ordergate.auth.models import User
from ordergate.auth.service import TokenSettings, active_membership
from ordergate.auth.throttle import LoginThrottle
from ordergate.catalog.ports import GtinMatching, ProductsAdded
from ordergate.config import Settings
from ordergate.db import PageRequest
from ordergate.errors import AuthenticationError, PermissionDeniedError
from ordergate.events.timeline import UserEmails
from ordergate.item_exceptions import matching
from ordergate.letzshop.queueing import FulfilmentQueue, SyncQueue
from ordergate.routing import CommittingRoute, end_request_transaction, request_session
from ordergate.schemas import ERROR_RESPONSES, IdParam, Limit, Skip
from ordergate.scope import Scope, VendorScope
from ordergate.security import SecretBox, decode_access_token
from ordergate.vendors.models import Vendor
from ordergate.vendors.service import get_vendor

SessionDep = Annotated[Session, Depends(request_session)]


def _page(skip: Skip = 0, limit: Limit = 50) -> PageRequest:
    return PageRequest(skip=skip, limit=limit)


PageQuery = Annotated[PageRequest, Depends(_page)]

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    vendor: Vendor | None
    role: str | None = None  # the user's role in `vendor`


def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise AuthenticationError("Missing bearer token")
    claims = decode_access_token(request.app.state.secret_key, credentials.credentials)
    if claims is None:
        raise AuthenticationError("Invalid or expired token")
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("Invalid or expired token")
    if claims.token_version != user.token_version:
        raise AuthenticationError("The token was revoked; log in again")
    if claims.vendor_id is None:
        return Principal(user=user, vendor=None)
    membership = active_membership(user, claims.vendor_id)
    if membership is None:
        raise AuthenticationError("The token's vendor access was revoked; log in again")
    return Principal(user=user, vendor=membership.vendor, role=membership.role)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_admin(principal: PrincipalDep) -> User:
    if not principal.user.is_admin:
        raise PermissionDeniedError("Admin access required")
    return principal.user


def require_vendor(principal: PrincipalDep) -> Principal:
    if principal.vendor is None:
        raise PermissionDeniedError(
            "This token acts for no vendor; log in with vendor_code to use vendor endpoints"
        )
    return principal


VendorDep = Annotated[Principal, Depends(require_vendor)]


def require_owner(principal: VendorDep) -> Principal:
    """The vendor's owners (and platform admins) change its settings and members."""
    if principal.role != "owner" and not principal.user.is_admin:
        raise OwnerRequiredError("Only the vendor's owners can do this; you are staff")
    return principal


AdminDep = Annotated[User, Depends(require_admin)]
OwnerDep = Annotated[Principal, Depends(require_owner)]


# --- scopes: one operation, mounted in the admin and the vendor tree -------------------------

VendorIdFilter = Annotated[IdParam | None, Query(description="Only this vendor's data")]
VendorIdRequired = Annotated[IdParam, Query(description="The vendor acted on")]


def _vendor(session: Session, vendor_id: int) -> int:
    return get_vendor(session, vendor_id=vendor_id).id  # 404 VENDOR_NOT_FOUND


def _admin_all(user: AdminDep) -> Scope:
    return Scope(actor_user_id=user.id, vendor_id=None, is_admin=True)


def _admin_filtered(session: SessionDep, user: AdminDep, vendor_id: VendorIdFilter = None) -> Scope:
    chosen = None if vendor_id is None else _vendor(session, vendor_id)
    return Scope(actor_user_id=user.id, vendor_id=chosen, is_admin=True)


def _admin_vendor_in_query(
    session: SessionDep, user: AdminDep, vendor_id: VendorIdRequired
) -> VendorScope:
    return VendorScope(actor_user_id=user.id, vendor_id=_vendor(session, vendor_id), is_admin=True)


def _admin_vendor_in_path(session: SessionDep, user: AdminDep, vendor_id: IdParam) -> VendorScope:
    return VendorScope(actor_user_id=user.id, vendor_id=_vendor(session, vendor_id), is_admin=True)


def _own_vendor(principal: VendorDep) -> VendorScope:
    assert principal.vendor is not None  # require_vendor's guarantee, the one place it is read
    return VendorScope(
        actor_user_id=principal.user.id, vendor_id=principal.vendor.id, role=principal.role
    )


def _own_vendor_as_owner(principal: OwnerDep) -> VendorScope:
    return _own_vendor(principal)


@dataclass(frozen=True)
class Tree:
    """One URL tree an operation is mounted in, with the scope dependencies its routes use.

    Use them as parameter defaults (`scope: Scope = tree.all`):
    - `all`: admin: every vendor; vendor tree: the token's vendor;
    - `filtered`: admin: every vendor or the optional `?vendor_id`; vendor tree: its own;
    - `vendor_in_query` / `vendor_in_path`: admin: the required `?vendor_id` or `{vendor_id}`
      in the path (404 VENDOR_NOT_FOUND when unknown); vendor tree: its own;
    - `owner_in_path`: as `vendor_in_path`, and in the vendor tree only the vendor's owners.
    """

    name: str
    prefix: str
    all: Any
    filtered: Any
    vendor_in_query: Any
    vendor_in_path: Any
    owner_in_path: Any

    @property
    def is_admin(self) -> bool:
        return self is ADMIN_TREE

    def pick(self, *, admin: str, vendor: str) -> str:
        """The tree's spelling of a path that differs between the trees."""
        return admin if self.is_admin else vendor

    def router(self, *, prefix: str = "", tags: tuple[str, ...] = ()) -> APIRouter:
        return APIRouter(
            prefix=prefix,
            tags=[self.name, *tags],
            route_class=CommittingRoute,
            responses=ERROR_RESPONSES,
            generate_unique_id_function=self.operation_id,
        )

    def operation_id(self, route: APIRoute) -> str:
        """`admin_list_orders_api_v1_admin_orders_get`: FastAPI's default id with the tree's
        name in front, so ids stay what they were when each tree had its own functions."""
        return f"{self.name}_{generate_unique_id(route)}"


ADMIN_TREE = Tree(
    name="admin",
    prefix="/api/v1/admin",
    all=Depends(_admin_all),
    filtered=Depends(_admin_filtered),
    vendor_in_query=Depends(_admin_vendor_in_query),
    vendor_in_path=Depends(_admin_vendor_in_path),
    owner_in_path=Depends(_admin_vendor_in_path),
)
VENDOR_TREE = Tree(
    name="vendor",
    prefix="/api/v1/vendor",
    all=Depends(_own_vendor),
    filtered=Depends(_own_vendor),
    vendor_in_query=Depends(_own_vendor),
    vendor_in_path=Depends(_own_vendor),
    owner_in_path=Depends(_own_vendor_as_owner),
)
TREES = (ADMIN_TREE, VENDOR_TREE)


# --- job runners started by a request ----------------------------------------------------------


def _nothing_to_end() -> None:
    return None


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job runner (a sync, a confirm/decline) takes from whoever starts it: it opens and
    commits its own sessions from `session_factory`.

    Call `hand_off()` just before starting the job: a request's context commits and closes the
    request's session there (on SQLite an open request transaction would hold the write lock
    the job needs); a command's (`cli_session.job_context`) has nothing to end.
    """

    session_factory: sessionmaker[Session]
    settings: Settings
    box: SecretBox
    hand_off: Callable[[], None] = _nothing_to_end
    # Where syncs are queued (jobs on PostgreSQL, docs/jobs.md); None: they run inline.
    sync_queue: SyncQueue | None = None
    # Where confirms/declines Letzshop could not be reached for are queued for retries (the
    # same procrastinate queue, docs/jobs.md); None: they fail with 502.
    fulfilment_queue: FulfilmentQueue | None = None


def _job_context(request: Request) -> JobContext:
    state = request.app.state
    return JobContext(
        session_factory=state.session_factory,
        settings=state.settings,
        box=state.secret_box,
        hand_off=functools.partial(end_request_transaction, request),
        sync_queue=state.sync_queue,
        fulfilment_queue=state.sync_queue,  # ProcrastinateSyncQueue serves both ports
    )


JobDep = Annotated[JobContext, Depends(_job_context)]


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def _secret_box(request: Request) -> SecretBox:
    return cast(SecretBox, request.app.state.secret_box)


def _tokens(request: Request) -> TokenSettings:
    state = request.app.state
    return TokenSettings(
        secret=state.secret_key, lifetime_minutes=state.settings.token_lifetime_minutes
    )


def _throttle(request: Request) -> LoginThrottle:
    return cast(LoginThrottle, request.app.state.login_throttle)


SettingsDep = Annotated[Settings, Depends(_settings)]
SecretBoxDep = Annotated[SecretBox, Depends(_secret_box)]
TokensDep = Annotated[TokenSettings, Depends(_tokens)]
ThrottleDep = Annotated[LoginThrottle, Depends(_throttle)]


# --- what the catalog is handed: the QC workflow's matching (catalog/ports.py) -----------------
# The composition root: catalog sits below item_exceptions in the domain graph, so its write
# use cases take the matching as arguments, and the web layer passes these.

AUTO_MATCH: ProductsAdded = matching.auto_match_products
GTIN_MATCHING = GtinMatching(
    pending=matching.pending_gtins, match=matching.match_gtins, batch_size=matching.CHUNK_SIZE
)


# --- what timelines are handed: users' emails (events/timeline.py) ---------------------------
# The events, orders and exceptions domains sit below the users' domain.

USER_EMAILS: UserEmails = auth_repository.emails_of
