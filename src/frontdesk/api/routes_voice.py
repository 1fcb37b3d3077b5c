"""Twilio's voice status callback: a missed inbound call becomes one follow-up text.

``POST /webhooks/twilio/voice`` carries no bearer key; ``X-Twilio-Signature`` is the
proof, checked by the container's :class:`TwilioProvider` before anything is stored,
because a forged callback would text a stranger in the business's name and record
consent evidence that never happened (R-C-06). An inbound call (``Direction``
``inbound``) whose ``CallStatus`` is ``no-answer``, ``busy``, ``canceled`` or
``failed`` is a missed call; other statuses and outbound calls are acknowledged and
ignored. Twilio retries and sends several callbacks per call, so ``CallSid`` dedupes.

This module must not import SQLAlchemy; it reaches storage through the unit of work.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from frontdesk import errors
from frontdesk.bootstrap import Container
from frontdesk.domain import phone
from frontdesk.providers.twilio import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    MultiParams,
    TwilioProvider,
)
from frontdesk.services import missed_calls
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.api.voice")
router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MISSED = frozenset({"no-answer", "busy", "canceled", "failed"})


def _provider(request: Request) -> tuple[Container, TwilioProvider]:
    c: Container = request.app.state.container
    if not isinstance(c.provider, TwilioProvider):
        raise errors.AppError(
            404,
            "Not Found",
            "This deployment does not use Twilio; send missed calls to POST /v1/calls/missed.",
        )
    return c, c.provider


async def _verified_form(request: Request, provider: TwilioProvider) -> MultiParams:
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = await request.form()
    params = MultiParams([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not provider.verify_signature(
        str(request.url),
        params,
        signature,
        settings_header=request.headers.get(SIGNATURE_SETTINGS_HEADER),
        raw_body=raw,
    ):
        log.warning(
            "twilio voice callback refused: %s signature", "bad" if signature else "missing"
        )
        raise errors.AppError(
            403,
            "Forbidden",
            "X-Twilio-Signature is missing or does not match; check the auth token and that "
            "FRONTDESK_PUBLIC_BASE_URL is the URL Twilio calls.",
        )
    return params


def _store(c: Container, params: MultiParams) -> bool:
    """Record a missed inbound call; True when a follow-up text was queued."""
    status = (params.get("CallStatus") or "").strip().lower()
    direction = (params.get("Direction") or "inbound").strip().lower()
    if status not in MISSED or direction != "inbound":
        return False
    to = phone.try_parse(params.get("To", ""))
    if to is None:
        log.warning("twilio voice callback with an unusable To ignored")
        return False
    with UnitOfWork(c.db) as uow:
        tenant = uow.tenant_for_number(to.e164)
        if tenant is None:
            log.warning("twilio voice callback for unknown number …%s ignored", to.e164[-4:])
            return False
        now = c.clock.now()
        outcome = missed_calls.record_missed_call(
            uow.tenant(tenant.id),
            missed_calls.MissedCall(
                caller=params.get("From", ""),
                to=to.e164,
                at=now,
                provider="twilio",
                provider_call_id=params.get("CallSid") or None,
                status=status,
            ),
            now,
            "twilio",
        )
        uow.commit()
        return outcome.message is not None and not outcome.duplicate


@router.post("/webhooks/twilio/voice", tags=["webhooks"], response_class=Response)
async def twilio_voice(request: Request) -> Response:
    """A call status callback; missed inbound calls get one follow-up text (R-C-06)."""
    c, provider = _provider(request)
    params = await _verified_form(request, provider)
    if await run_in_threadpool(_store, c, params):
        c.worker.wake()
    return Response(EMPTY_TWIML, media_type="text/xml")
