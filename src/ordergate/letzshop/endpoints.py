"""Letzshop credentials, sync, sync runs and fulfilment, declared once and mounted in the admin
tree (any vendor, `{vendor_id}` in the path) and the vendor tree (the token's vendor)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ordergate.deps import (
    JobContext,
    JobDep,
    PageQuery,
    SecretBoxDep,
    SessionDep,
    SettingsDep,
    Tree,
)
from ordergate.letzshop import credentials, runs
from ordergate.letzshop.check import run_check
from ordergate.letzshop.fulfilment import QueuedFulfilment, run_fulfilment
from ordergate.letzshop.models import SyncTrigger
from ordergate.letzshop.queueing import queue_sync
from ordergate.letzshop.schemas import (
    CheckOut,
    CredentialsIn,
    CredentialsOut,
    FulfilmentOut,
    FulfilmentRequestOut,
    SyncOut,
    SyncQueuedOut,
    SyncRequest,
    SyncRunList,
    SyncRunOut,
)
from ordergate.letzshop.sync import run_sync
from ordergate.orders.fulfilment import UnitDecision, Verdict
from ordergate.orders.fulfilment_requests import get_request
from ordergate.schemas import IdParam
from ordergate.scope import VendorScope

_SYNC_DOC = (
    "Import shipments now (default state `unconfirmed`; `all` for every state). The default "
    "sync also reconciles orders pending locally that Letzshop decided within "
    "ORDERGATE_LETZSHOP_RECONCILE_DAYS (`orders_reconciled`). After an abandoned or failed run "
    "it resumes from that run's last cursor. 409 SYNC_IN_PROGRESS (with `details.run_id`) while "
    "another run of the vendor is live. With jobs on the queue (PostgreSQL, docs/jobs.md) it "
    "answers 202 with the `queued` run instead (`run_id`, `Location` to poll its pages and "
    "counts); a worker runs it. 409 SYNC_ALREADY_QUEUED while a sync of the vendor waits."
)

_CONFIRM_DOC = (
    "Blocked with 400 ORDER_HAS_UNRESOLVED_EXCEPTIONS while an item that is not declined has a "
    "pending or ignored exception; nothing is sent to Letzshop then. "
)

_CHECK_DOC = (
    "Check, read-only, whether ordergate's GraphQL texts fit the vendor's Letzshop: the "
    "introspection query and one `shipments(first: 1)`, never a mutation. Reports each mismatch "
    "in plain words (`summary`) and as JSON (`mismatches`), the scalar types of the fields the "
    "import reads and page-size hints; without introspection (`mode: probe_only`) only the "
    "shipments query is checked. Stored as the credentials' `last_check`; while it found a "
    "mismatch in the confirmation mutation, confirm and decline answer 409 "
    "LETZSHOP_CHECK_MISMATCH. In the vendor tree, owners only. 502 LETZSHOP_UNAVAILABLE / "
    "LETZSHOP_AUTH_FAILED when Letzshop cannot be asked (nothing is recorded)."
)


_QUEUED_DOC = (
    "When Letzshop cannot be reached (connection error, timeout, 5xx after the client's "
    "retries) and jobs are on the queue (PostgreSQL, docs/jobs.md), the decision is recorded "
    "and retried by a worker: 202 with the request (`Location` to poll it) and the order's "
    "`confirmation_pending` is true until it lands, stops or fails; inline (SQLite) 502 "
    "LETZSHOP_UNAVAILABLE and nothing is recorded. 409 FULFILMENT_PENDING while a queued "
    "request of the order is under way. "
)
_QUEUED_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": FulfilmentRequestOut, "description": "Letzshop unreachable: queued"}
}


def _fulfil(
    job: JobContext, scope: VendorScope, order_id: int, decision: UnitDecision, requests_path: str
) -> FulfilmentOut | JSONResponse:
    job.hand_off()
    result = run_fulfilment(
        job.session_factory,
        settings=job.settings,
        box=job.box,
        scope=scope,
        order_id=order_id,
        decision=decision,
        queue=job.fulfilment_queue,
    )
    if isinstance(result, QueuedFulfilment):
        queued = FulfilmentRequestOut.model_validate(result.request)
        location = f"{requests_path.format(vendor_id=scope.vendor_id)}/{queued.request_id}"
        return JSONResponse(
            queued.model_dump(mode="json"), status_code=202, headers={"Location": location}
        )
    return FulfilmentOut.model_validate(result)


def mount(tree: Tree) -> APIRouter:
    router = tree.router(
        prefix=tree.pick(
            admin=f"{tree.prefix}/letzshop/vendors/{{vendor_id}}",
            vendor=f"{tree.prefix}/letzshop",
        ),
        tags=("letzshop",),
    )

    @router.put("/credentials", response_model=CredentialsOut)
    def set_credentials(
        body: CredentialsIn,
        session: SessionDep,
        settings: SettingsDep,
        box: SecretBoxDep,
        scope: VendorScope = tree.owner_in_path,
    ) -> CredentialsOut:
        """Set or change the vendor's Letzshop API key (stored encrypted), endpoint and
        scheduled syncs (`sync_interval_minutes`, or `auto_sync`: true = every 10 minutes when
        no interval was set, false = off); omitted fields keep their values. A refused
        endpoint is 400 ENDPOINT_NOT_ALLOWED. In the vendor tree, owners only."""
        stored = credentials.set_credentials(
            session,
            scope=scope,
            box=box,
            settings=settings,
            api_key=body.api_key,
            endpoint=body.endpoint,
            auto_sync=body.auto_sync,
            sync_interval_minutes=body.sync_interval_minutes,
            interval_given="sync_interval_minutes" in body.model_fields_set,
        )
        return CredentialsOut.model_validate(stored)

    @router.get("/credentials", response_model=CredentialsOut)
    def get_credentials(
        session: SessionDep, scope: VendorScope = tree.vendor_in_path
    ) -> CredentialsOut:
        """The vendor's Letzshop connection, without the key (its last 4 characters at most)."""
        return CredentialsOut.model_validate(credentials.get_credentials(session, scope=scope))

    @router.post("/check", response_model=CheckOut, description=_CHECK_DOC)
    def check(job: JobDep, scope: VendorScope = tree.owner_in_path) -> CheckOut:
        job.hand_off()
        report = run_check(job.session_factory, settings=job.settings, box=job.box, scope=scope)
        return CheckOut.model_validate(report)

    runs_path = tree.pick(
        admin=f"{tree.prefix}/letzshop/vendors/{{vendor_id}}/sync-runs",
        vendor=f"{tree.prefix}/letzshop/sync-runs",
    )

    @router.post(
        "/sync",
        response_model=SyncOut,
        description=_SYNC_DOC,
        responses={202: {"model": SyncQueuedOut, "description": "Queued for a worker"}},
    )
    def sync(
        job: JobDep, body: SyncRequest | None = None, scope: VendorScope = tree.vendor_in_path
    ) -> SyncOut | JSONResponse:
        job.hand_off()
        state = (body or SyncRequest()).state
        if job.sync_queue is not None:
            run = queue_sync(
                job.session_factory,
                queue=job.sync_queue,
                box=job.box,
                scope=scope,
                trigger=SyncTrigger.API,
                state=state,
            )
            queued = SyncQueuedOut.model_validate(run)
            location = f"{runs_path.format(vendor_id=scope.vendor_id)}/{run.id}"
            return JSONResponse(
                queued.model_dump(mode="json"), status_code=202, headers={"Location": location}
            )
        summary = run_sync(
            job.session_factory,
            settings=job.settings,
            box=job.box,
            scope=scope,
            trigger=SyncTrigger.API,
            state=state,
        )
        return SyncOut.model_validate(summary)

    @router.get("/sync-runs", response_model=SyncRunList)
    def sync_runs(
        session: SessionDep,
        settings: SettingsDep,
        page: PageQuery,
        scope: VendorScope = tree.vendor_in_path,
    ) -> SyncRunList:
        """The vendor's import runs, newest first (runs past their lease read as abandoned)."""
        found, total = runs.list_runs(
            session, scope=scope, page=page, lease_seconds=settings.letzshop_sync_lease_seconds
        )
        return SyncRunList.of(found, total, page)

    @router.get("/sync-runs/{run_id}", response_model=SyncRunOut)
    def sync_run(
        run_id: IdParam,
        session: SessionDep,
        settings: SettingsDep,
        scope: VendorScope = tree.vendor_in_path,
    ) -> SyncRunOut:
        """One of the vendor's import runs (a run past its lease reads as abandoned)."""
        run = runs.get_run(
            session, scope=scope, run_id=run_id, lease_seconds=settings.letzshop_sync_lease_seconds
        )
        return SyncRunOut.model_validate(run)

    requests_path = tree.pick(
        admin=f"{tree.prefix}/letzshop/vendors/{{vendor_id}}/fulfilment-requests",
        vendor=f"{tree.prefix}/letzshop/fulfilment-requests",
    )

    @router.post(
        "/orders/{order_id}/confirm",
        response_model=FulfilmentOut,
        description=_CONFIRM_DOC + _QUEUED_DOC + "Confirms every unconfirmed unit of the order.",
        responses=_QUEUED_RESPONSES,
    )
    def confirm_order(
        order_id: IdParam, job: JobDep, scope: VendorScope = tree.vendor_in_path
    ) -> FulfilmentOut | JSONResponse:
        return _fulfil(job, scope, order_id, UnitDecision(Verdict.CONFIRM), requests_path)

    @router.post(
        "/orders/{order_id}/reject",
        response_model=FulfilmentOut,
        description="Decline every unconfirmed unit of the order (never blocked by "
        "exceptions). " + _QUEUED_DOC,
        responses=_QUEUED_RESPONSES,
    )
    def reject_order(
        order_id: IdParam, job: JobDep, scope: VendorScope = tree.vendor_in_path
    ) -> FulfilmentOut | JSONResponse:
        return _fulfil(job, scope, order_id, UnitDecision(Verdict.DECLINE), requests_path)

    @router.post(
        "/orders/{order_id}/items/{item_id}/confirm",
        response_model=FulfilmentOut,
        description=_CONFIRM_DOC + _QUEUED_DOC + "Confirms the item's unconfirmed units.",
        responses=_QUEUED_RESPONSES,
    )
    def confirm_item(
        order_id: IdParam, item_id: IdParam, job: JobDep, scope: VendorScope = tree.vendor_in_path
    ) -> FulfilmentOut | JSONResponse:
        decision = UnitDecision(Verdict.CONFIRM, item_id=item_id)
        return _fulfil(job, scope, order_id, decision, requests_path)

    @router.post(
        "/orders/{order_id}/items/{item_id}/decline",
        response_model=FulfilmentOut,
        description="Decline the item's unconfirmed units (never blocked: an unknown product "
        "may be declined). " + _QUEUED_DOC,
        responses=_QUEUED_RESPONSES,
    )
    def decline_item(
        order_id: IdParam, item_id: IdParam, job: JobDep, scope: VendorScope = tree.vendor_in_path
    ) -> FulfilmentOut | JSONResponse:
        decision = UnitDecision(Verdict.DECLINE, item_id=item_id)
        return _fulfil(job, scope, order_id, decision, requests_path)

    @router.get("/fulfilment-requests/{request_id}", response_model=FulfilmentRequestOut)
    def fulfilment_request(
        request_id: IdParam, session: SessionDep, scope: VendorScope = tree.vendor_in_path
    ) -> FulfilmentRequestOut:
        """A queued confirm/decline: its status, attempts and last error (docs/jobs.md)."""
        request = get_request(session, scope=scope, request_id=request_id)
        return FulfilmentRequestOut.model_validate(request)

    return router
