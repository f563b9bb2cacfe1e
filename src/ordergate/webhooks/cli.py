"""``ordergate webhooks ...``: send the due deliveries (for cron where no worker runs)."""

from __future__ import annotations

import typer

from ordergate.cli_session import job_context
from ordergate.webhooks.delivery import run_tick

webhooks_app = typer.Typer(help="Webhook notifications.", no_args_is_help=True)


@webhooks_app.command("deliver")
def deliver() -> None:
    """Record the orders newly at risk, then send every due delivery once (retries come due
    on later runs). What the API's own thread and the worker's periodic task run."""
    with job_context() as job:
        at_risk, report = run_tick(job.session_factory, settings=job.settings, box=job.box)
    typer.echo(
        f"at risk recorded: {at_risk}; delivered: {report.delivered}, "
        f"retrying: {report.retrying}, failed: {report.failed}"
    )
