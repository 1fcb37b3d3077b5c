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

from frontdesk.api.routes_twilio import EMPTY_TWIML, signed_form, twilio_provider
from frontdesk.bootstrap import Container
from frontdesk.domain import phone
from frontdesk.providers.twilio import MultiParams
from frontdesk.services import missed_calls
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.api.voice")
router = APIRouter()

MISSED = frozenset({"no-answer", "busy", "canceled", "failed"})


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
    c, provider = twilio_provider(request)
    params = await signed_form(request, provider)
    if await run_in_threadpool(_store, c, params):
        c.worker.wake()
    return Response(EMPTY_TWIML, media_type="text/xml")
