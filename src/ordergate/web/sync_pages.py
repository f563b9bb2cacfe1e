"""Letzshop sync: "Import now" with its progress, recent runs with their failures in plain
words, and a health line per vendor (docs/dashboard.md).

"Import now" starts the same sync job as `POST …/letzshop/sync` (`letzshop.background.start_sync`
queues it like the API when jobs go to the queue, else runs `sync.run_sync` in a thread of its
own, from the request's `JobContext`) and goes to the
run's page, which polls `/sync/runs/{id}` every second while the run is running: the job
commits the run's counts with every page, so the page shows them as they grow.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ordergate.db import PageRequest
from ordergate.deps import JobContext, JobDep, SessionDep
from ordergate.errors import AppError
from ordergate.letzshop import background, runs
from ordergate.letzshop.errors import SyncAlreadyQueuedError, SyncInProgressError
from ordergate.letzshop.health import vendor_health
from ordergate.letzshop.models import SyncRunStatus, SyncTrigger
from ordergate.routing import CommittingRoute
from ordergate.schemas import IdParam
from ordergate.scope import VendorScope
from ordergate.vendors.errors import VendorNotFoundError
from ordergate.vendors.models import Vendor
from ordergate.web.deps import FormDep, WebContext, WebDep
from ordergate.web.templating import redirect, render

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)
RECENT_RUNS = 20


def _vendors_in_view(web: WebContext) -> list[Vendor]:
    return [web.vendor] if web.vendor is not None else list(web.vendors)


def _scope_of(web: WebContext, vendor: Vendor) -> VendorScope:
    return VendorScope(
        actor_user_id=web.user.id, vendor_id=vendor.id, is_admin=web.is_admin, role=web.role
    )


def _chosen_vendor(web: WebContext, vendor_id: int | None) -> Vendor:
    """The vendor an import is for: the one worked in, or for an admin on "all vendors" the one
    named by the form; any other id is 404, as in the API."""
    if web.vendor is not None:
        if vendor_id is not None and vendor_id != web.vendor.id:
            raise VendorNotFoundError.for_id(vendor_id)
        return web.vendor
    vendor = next((v for v in web.vendors if v.id == vendor_id), None)
    if vendor is None:
        raise VendorNotFoundError.for_id(vendor_id or 0)
    return vendor


def _lease(request: Request) -> float:
    return float(request.app.state.settings.letzshop_sync_lease_seconds)


@router.get("/sync")
def sync_page(request: Request, session: SessionDep, web: WebDep) -> Response:
    lease = _lease(request)
    vendors = _vendors_in_view(web)
    health = [
        (vendor, vendor_health(session, scope=_scope_of(web, vendor), lease_seconds=lease))
        for vendor in vendors
    ]
    recent, total = runs.list_runs(
        session, scope=web.scope, page=PageRequest(skip=0, limit=RECENT_RUNS), lease_seconds=lease
    )
    context = {
        "web": web,
        "section": "sync",
        "health": health,
        "runs": recent,
        "runs_total": total,
        "vendor_names": {v.id: v.name for v in web.vendors},
        "running": SyncRunStatus.RUNNING,
    }
    return render(request, "sync.html", context)


def _start(job: JobContext, scope: VendorScope) -> int | None:
    """The one call that starts a sync: queued when jobs go to the queue, else a thread."""
    return background.start_sync(
        job.session_factory,
        settings=job.settings,
        box=job.box,
        scope=scope,
        trigger=SyncTrigger.API,
        queue=job.sync_queue,
    )


@router.post("/sync/import")
def import_now(
    request: Request,
    session: SessionDep,
    job: JobDep,
    web: FormDep,
    vendor_id: Annotated[IdParam | None, Form()] = None,
) -> Response:
    vendor = _chosen_vendor(web, vendor_id)
    scope, name = _scope_of(web, vendor), vendor.name
    job.hand_off()
    try:
        run_id = _start(job, scope)
    except (SyncInProgressError, SyncAlreadyQueuedError) as busy:
        live = busy.details["run_id"]
        where = f"/sync/runs/{live}" if live is not None else "/sync"
        return redirect(request, where, flash=busy.message, level="warn")
    except AppError as refused:
        return redirect(request, "/sync", flash=refused.message, level="error")
    if run_id is None:
        return redirect(request, "/sync", flash=f"Import for {name} is starting")
    return redirect(request, f"/sync/runs/{run_id}", flash=f"Import for {name} started")


@router.post("/sync/import-all")
def import_all(request: Request, session: SessionDep, job: JobDep, web: FormDep) -> Response:
    """An admin on "all vendors": start an import for each vendor (one run each)."""
    targets = [(v.name, _scope_of(web, v)) for v in _vendors_in_view(web)]
    job.hand_off()
    started, refused = [], []
    for name, scope in targets:
        try:
            _start(job, scope)
            started.append(name)
        except AppError as error:
            refused.append(f"{name}: {error.message}")
    text = f"Imports started: {', '.join(started) or 'none'}"
    if refused:
        text += ". Not started — " + "; ".join(refused)
    return redirect(request, "/sync", flash=text, level="warn" if refused else "ok")


@router.get("/sync/runs/{run_id}")
def run_page(request: Request, run_id: IdParam, session: SessionDep, web: WebDep) -> Response:
    run = runs.get_run(session, scope=web.scope, run_id=run_id, lease_seconds=_lease(request))
    context = {
        "web": web,
        "section": "sync",
        "run": run,
        "vendor_names": {v.id: v.name for v in web.vendors},
        "running": SyncRunStatus.RUNNING,
        "live": (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING),
    }
    return render(request, "sync_run.html", context, block="progress")
