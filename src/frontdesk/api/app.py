"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from frontdesk import __version__
from frontdesk.api import (
    problems,
    routes_admin,
    routes_carriers,
    routes_compliance,
    routes_contacts,
    routes_flows,
    routes_inbound,
    routes_messages,
    routes_registry,
    routes_twilio,
    routes_voice,
)
from frontdesk.api.group_commit import SendCommitter
from frontdesk.api.receipts import ReceiptCommitter
from frontdesk.bootstrap import Container
from frontdesk.web import routes as web_routes

DESCRIPTION = """Frontdesk sends and receives the texts of an AI receptionist and enforces the
SMS policy on every message: consent first, STOP and HELP always honoured, no spam,
proof of everything. Every error is `application/problem+json` naming the field and
the fix. Reason codes are stable strings (see `api.md`)."""


def create_app(container: Container, *, start_worker: bool | None = None) -> FastAPI:
    run_worker = container.embedded_worker if start_worker is None else start_worker
    committer = SendCommitter(container)
    receipts = ReceiptCommitter(container)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_worker:
            container.worker.start()
        try:
            yield
        finally:
            committer.stop()
            receipts.stop()
            container.worker.stop()

    app = FastAPI(
        title="Frontdesk", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.container = container
    app.state.send_committer = committer
    app.state.receipt_committer = receipts
    problems.install(app)
    # Routes are matched in order, router by router: the hot paths come first (issue 4);
    # with a real carrier, its status callbacks are two or three requests per message.
    for module in (
        routes_messages,
        routes_twilio,
        routes_inbound,
        routes_admin,
        routes_contacts,
        routes_compliance,
        routes_registry,
        routes_flows,
        routes_voice,
        routes_carriers,
    ):
        app.include_router(module.router)
    app.include_router(web_routes.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    return app
