"""Messages: send, batch, check, read, list, cancel (tenant)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ValidationError

from frontdesk import errors
from frontdesk.api import views
from frontdesk.api.deps import AppContainer, Caller, TenantCaller, TenantToken
from frontdesk.api.group_commit import SendCommitter
from frontdesk.api.problems import _validation_errors
from frontdesk.api.schemas import BatchIn, MessageIn
from frontdesk.bootstrap import Container
from frontdesk.domain import phone
from frontdesk.domain.reasons import Reason
from frontdesk.services import media as media_check
from frontdesk.services import messages
from frontdesk.services.contacts import e164_or_422

router = APIRouter()


def _check_media(c: Container, urls: tuple[str, ...]) -> tuple[Reason, ...]:
    with httpx.Client(timeout=media_check.DEFAULT_TIMEOUT) as client:
        return tuple(
            media_check.check_media(
                urls,
                provider_supports_mms=c.provider.supports_mms,
                client=client,
                allow_insecure_loopback=c.settings.media_allow_insecure_loopback,
            )
        )


def _media_reasons(caller: Caller, c: Container, urls: tuple[str, ...]) -> tuple[Reason, ...]:
    """Check media URLs (R-S-02) before the decision; releases the write lock first."""
    if not urls:
        return ()
    caller.uow.commit()  # nothing written yet: never hold the SQLite write lock over the network
    return _check_media(c, urls)


def _command(body: MessageIn, *, strict_number: bool = True) -> messages.SendCommand:
    to = e164_or_422(body.to, "to") if strict_number else body.to
    if body.from_ is not None and phone.try_parse(body.from_) is None:
        raise errors.invalid("from", "invalid_number", "from is not a valid phone number")
    return messages.SendCommand(
        to=to,
        body=body.body,
        category=body.category_enum(),
        sender=body.from_,
        media_urls=tuple(body.media_urls),
        send_at=body.send_at,
        idempotency_key=body.idempotency_key,
        subject=body.subject,
        healthcare_exempt=body.healthcare_exempt,
    )


@router.post("/v1/messages", status_code=201, tags=["messages"])
async def send_message(
    body: MessageIn, token: TenantToken, request: Request, c: AppContainer
) -> JSONResponse:
    """Validated here; decided and stored by the group committer (api/group_commit.py),
    which answers once the transaction holding this message has committed."""
    cmd = _command(body)
    media = await run_in_threadpool(_check_media, c, cmd.media_urls) if cmd.media_urls else ()
    committer: SendCommitter = request.app.state.send_committer
    status, message = await committer.send(token, cmd, media)
    return JSONResponse(message, status_code=status)


def _item_error(index: int, exc: ValidationError | errors.AppError) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        errs = [{**e, "field": f"messages[{index}].{e['field']}"} for e in _validation_errors(exc)]
        return {"error": {"status": 422, "title": "Invalid message", "errors": errs}}
    return {
        "error": {
            "status": exc.status,
            "title": exc.title,
            "detail": exc.detail,
            "errors": [
                {**e.as_dict(), "field": f"messages[{index}].{e.field}"} for e in exc.errors
            ],
        }
    }


@router.post("/v1/messages/batch", tags=["messages"])
def send_batch(body: BatchIn, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    """Validate every item, read the facts for all recipients at once, then decide and
    store the items in order; a later item sees the earlier ones (R-Q-04 caps, first
    message), exactly as if they had been sent one by one (issue 4)."""
    now = c.clock.now()
    results: list[dict[str, Any] | None] = []
    accepted: list[tuple[int, messages.SendCommand, tuple[Reason, ...]]] = []
    keys_seen: set[str] = set()
    for index, item in enumerate(body.messages):
        try:
            parsed = MessageIn.model_validate(item)
            if parsed.idempotency_key and parsed.idempotency_key in keys_seen:
                raise errors.invalid(
                    "idempotency_key",
                    "duplicate_in_batch",
                    "the same idempotency_key appears twice in this batch",
                )
            if parsed.idempotency_key:
                keys_seen.add(parsed.idempotency_key)
            cmd = _command(parsed)
            media = _media_reasons(caller, c, cmd.media_urls)
            accepted.append((index, cmd, media))
            results.append(None)
        except (ValidationError, errors.AppError) as exc:
            results.append(_item_error(index, exc))
    batch = messages.prepare_batch(caller.scope, [cmd for _, cmd, _ in accepted], now)
    for index, cmd, media in accepted:
        try:
            accepted_row = messages.submit_row(
                caller.scope, cmd, now, caller.actor, media_reasons=media, batch=batch
            )
            results[index] = views.message_row(accepted_row.row)
        except errors.AppError as exc:
            results[index] = _item_error(index, exc)
    caller.uow.commit()
    c.worker.wake()
    return {"results": results}


@router.post("/v1/messages/check", tags=["messages"])
def check_message(body: MessageIn, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    cmd = _command(body, strict_number=False)
    media = _media_reasons(caller, c, cmd.media_urls)
    decision = messages.check(caller.scope, cmd, c.clock.now())
    return views.decision(messages.with_media_reasons(decision, media))


@router.get("/v1/messages/{message_id}", tags=["messages"])
def get_message(message_id: str, caller: TenantCaller) -> dict[str, Any]:
    row = caller.scope.message(message_id)
    if row is None:
        raise errors.not_found("message")
    out = views.message(row)
    out["events"] = [
        {"status": e.status, "at": views.iso(e.at), "error_code": e.error_code, "detail": e.detail}
        for e in caller.scope.message_events(row.id)
    ]
    return out


@router.get("/v1/messages", tags=["messages"])
def list_messages(
    caller: TenantCaller,
    to: str | None = Query(None, max_length=40),
    status: str | None = Query(None, max_length=16),
    since: AwareDatetime | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    e164 = e164_or_422(to, "to") if to else None
    valid = {
        "scheduled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "canceled",
        "blocked",
    }
    if status is not None and status not in valid:
        raise errors.invalid(
            "status", "invalid_status", f"status must be one of {', '.join(sorted(valid))}"
        )
    since_dt: datetime | None = since
    rows = caller.scope.messages(to=e164, status=status, since=since_dt, limit=limit, offset=offset)
    return {
        "items": [views.message(m) for m in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.post("/v1/messages/{message_id}/cancel", tags=["messages"])
def cancel_message(message_id: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    row = messages.cancel(caller.scope, message_id, c.clock.now(), caller.actor)
    caller.uow.commit()
    return views.message(row)
