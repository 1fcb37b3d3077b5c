"""Twilio at the edge: its webhooks, and a Twilio-compatible Messages endpoint.

Webhooks (api.md, provider webhooks): ``/webhooks/twilio/sms`` and
``/webhooks/twilio/status`` carry no bearer key; ``X-Twilio-Signature`` is the
proof, checked before anything is read into the database, because a forged
``STOP`` or ``START`` would change a person's consent (R-FCC-02). Replies never
go back as TwiML: they pass the gate and the worker like every other message.

Drop-in compliance (api.md): ``/2010-04-01/Accounts/{AccountSid}/Messages.json``
speaks Twilio's Messages API, so an application using the official Twilio SDK
points its base URL at Frontdesk and every send passes the gate. A refusal is
Twilio's error JSON (``code``, ``message``, ``more_info``, ``status``) with
HTTP 400, so the SDK raises ``TwilioRestException`` with the code an
application already handles (21610 for an opted-out recipient).

This module must not import SQLAlchemy; it reaches storage through the unit of work.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from frontdesk import errors
from frontdesk.api.receipts import ReceiptCommitter
from frontdesk.bootstrap import Container, TwilioWebhooks
from frontdesk.domain import phone
from frontdesk.domain.messages import PUBLIC_CATEGORIES, Category
from frontdesk.domain.reasons import ReasonCode
from frontdesk.providers.twilio import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, MultiParams
from frontdesk.services import inbound, keys, messages, status
from frontdesk.services import media as mediacheck
from frontdesk.storage.models import Message, Tenant
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.api.twilio")
router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
API_VERSION = "2010-04-01"

# Refusal codes for the compatible endpoint. Where Twilio's REST API has a
# documented 4xx code for the same refusal, it is used so existing handlers keep
# working; gate reasons Twilio never checks (consent, content policy, campaign)
# get Frontdesk codes 99101-99199, outside Twilio's dictionary as far as we know,
# with ``more_info`` naming the Frontdesk reason code.
TWILIO_CODES: dict[str, int] = {
    ReasonCode.OPTED_OUT: 21610,  # Attempt to send to unsubscribed recipient
    ReasonCode.INVALID_NUMBER: 21211,  # Invalid 'To' Phone Number
    ReasonCode.BODY_TOO_LONG: 21617,  # concatenated body exceeds 1,600 characters
    ReasonCode.EMPTY_BODY: 21602,  # Message body is required
    ReasonCode.SENDER_NOT_OWNED: 21606,  # 'From' number is not a valid sender for this account
    ReasonCode.NUMBER_NOT_SMS_CAPABLE: 21614,  # 'To' number is not a valid mobile number
    ReasonCode.MEDIA_NOT_ALLOWED: 21620,  # Invalid media URL(s)
}
FRONTDESK_CODES: dict[str, int] = {
    ReasonCode.NO_CONSENT: 99101,
    ReasonCode.MARKETING_REQUIRES_WRITTEN_CONSENT: 99102,
    ReasonCode.TENANT_SUSPENDED: 99103,
    ReasonCode.CAMPAIGN_NOT_APPROVED: 99104,
    ReasonCode.CATEGORY_NOT_IN_CAMPAIGN: 99105,
    ReasonCode.PROHIBITED_CONTENT: 99106,
    ReasonCode.PUBLIC_URL_SHORTENER: 99107,
    ReasonCode.MISSING_BUSINESS_NAME: 99108,
    ReasonCode.MISSING_OPT_OUT_LANGUAGE: 99109,
    ReasonCode.FREQUENCY_CAP: 99110,
    ReasonCode.QUIET_HOURS: 99111,
    ReasonCode.UNDER_REVIEW: 99112,
    ReasonCode.POLICY_NOT_ACCEPTED: 99113,
    ReasonCode.EMBEDDED_LINK_NOT_IN_CAMPAIGN: 99114,
    ReasonCode.EMBEDDED_PHONE_NOT_IN_CAMPAIGN: 99115,
    ReasonCode.AGE_GATE_REQUIRED: 99116,
    ReasonCode.CONFIRMATION_ALREADY_SENT: 99117,
    ReasonCode.CONFIRMATION_TOO_LATE: 99118,
    ReasonCode.COMPLIANCE_REPLY_HAS_MARKETING: 99119,
    ReasonCode.APPOINTMENT_STARTED: 99120,
}
FRONTDESK_OTHER_REFUSAL = 99199
FRONTDESK_BAD_PARAMETER = 99100
AUTH_FAILED = 20003
NOT_FOUND = 20404
TO_REQUIRED = 21604

# Our message states as Twilio's MessageStatus; a refused message reads "failed"
# with the refusal's code, as Twilio shows a message it could not send.
_TWILIO_STATUS = {
    "scheduled": "scheduled",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "canceled",
    "blocked": "failed",
}


def code_for_reason(reason_code: str) -> int:
    """The Twilio (or Frontdesk 991xx) error code for a gate reason code."""
    return TWILIO_CODES.get(reason_code) or FRONTDESK_CODES.get(
        reason_code, FRONTDESK_OTHER_REFUSAL
    )


def _more_info(code: int, reason_code: str | None = None) -> str:
    if code >= FRONTDESK_BAD_PARAMETER and reason_code:
        return f"urn:frontdesk:reason:{reason_code}"
    if code >= FRONTDESK_BAD_PARAMETER:
        return "urn:frontdesk:error"
    return f"https://www.twilio.com/docs/errors/{code}"


def twilio_error(
    http_status: int,
    code: int,
    message: str,
    *,
    reason_code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Twilio's classic error body; no ``type``/``title`` so the SDK raises TwilioRestException."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": _more_info(code, reason_code),
        "status": http_status,
    }
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=http_status, headers=headers)


# ---------------------------------------------------------------------------- webhooks
@dataclass(frozen=True, slots=True)
class WebhookAddress:
    """The form field naming the business number a webhook concerns.

    The container's verifier is chosen by that number (``Container.webhook_verifier``):
    an inbound text or call is addressed ``To`` it, a status callback reports a message
    sent ``From`` it.
    """

    number_field: str


INBOUND = WebhookAddress("To")
STATUS_CALLBACK = WebhookAddress("From")


async def verified_webhook(
    request: Request, address: WebhookAddress
) -> tuple[Container, TwilioWebhooks, MultiParams]:
    """The container, the verifier bootstrap chose and the form, once its signature checks.

    404 when the addressed number takes no Twilio webhooks on this deployment; 403 when
    ``X-Twilio-Signature`` is missing or wrong. Nothing is read into the database before.
    """
    c: Container = request.app.state.container
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = await request.form()
    params = MultiParams([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    number = params.get(address.number_field, "")
    parsed = phone.try_parse(number)
    verifier = c.webhook_verifier(parsed.e164 if parsed is not None else number)
    if verifier is None:
        raise errors.AppError(
            404,
            "Not Found",
            "This deployment takes no Twilio webhooks for this number; with "
            "FRONTDESK_PROVIDER=twilio it takes them for every number.",
        )
    signature = request.headers.get(SIGNATURE_HEADER, "")
    ok = verifier.verify_signature(
        str(request.url),
        params,
        signature,
        settings_header=request.headers.get(SIGNATURE_SETTINGS_HEADER),
        raw_body=raw,
    )
    if not ok:
        log.warning(
            "twilio webhook %s refused: %s signature",
            request.url.path,
            "bad" if signature else "missing",
        )
        raise errors.AppError(
            403,
            "Forbidden",
            "X-Twilio-Signature is missing or does not match; check the auth token and that "
            "FRONTDESK_PUBLIC_BASE_URL is the URL Twilio calls.",
        )
    return c, verifier, params


def twilio_provider(request: Request) -> tuple[Container, WebhookAddress]:
    """Kept for ``routes_voice`` until it calls :func:`verified_webhook`: an inbound address,
    whose verifier :func:`signed_form` picks once the form is read."""
    return request.app.state.container, INBOUND


async def signed_form(request: Request, address: WebhookAddress) -> MultiParams:
    """Kept for ``routes_voice``: the form of :func:`verified_webhook`."""
    _, _, params = await verified_webhook(request, address)
    return params


def _store_inbound(c: Container, verifier: TwilioWebhooks, params: MultiParams) -> bool:
    """Hand the text to the inbound flow; True when replies were queued."""
    sms = verifier.parse_inbound(params)
    to = phone.try_parse(sms.to)
    sender = phone.try_parse(sms.sender)
    if to is None or sender is None:
        log.warning("twilio inbound with an unusable number ignored (to …%s)", sms.to[-4:])
        return False
    sms = replace(sms, sender=sender.e164, to=to.e164)
    now = c.clock.now()
    with UnitOfWork(c.db, write=False) as peek:
        question = status.consult_inbound(peek, sms, now)
    answers = question.ask() if question is not None else None
    with UnitOfWork(c.db) as uow:
        tenant = uow.tenant_for_number(to.e164)
        if tenant is None:
            log.warning("twilio inbound to unknown number …%s ignored", to.e164[-4:])
            return False
        outcome = inbound.handle_inbound(
            uow.tenant(tenant.id),
            sms,
            now,
            review_hours=c.settings.review_hours,
            answers=answers,
        )
        uow.commit()
        return bool(outcome.replies)


@router.post("/webhooks/twilio/sms", tags=["webhooks"], response_class=Response)
async def twilio_sms(request: Request) -> Response:
    """An inbound text: STOP, HELP, START and the rest go through services.inbound."""
    c, verifier, params = await verified_webhook(request, INBOUND)
    if await run_in_threadpool(_store_inbound, c, verifier, params):
        c.worker.wake()
    return Response(EMPTY_TWIML, media_type="text/xml")


# A callback can beat the worker's write of the send's outcome (the carrier's answer and
# its first callback leave Twilio moments apart; the outbox writes outcomes in batches):
# an unknown MessageSid is tried again for a moment before it is given up on.
UNKNOWN_STATUS_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)


@router.post("/webhooks/twilio/status", tags=["webhooks"], status_code=204)
async def twilio_status(request: Request) -> Response:
    """A status callback; duplicates and late reports never move a message back (R-E-01).
    Concurrent callbacks share one transaction (api/receipts.py)."""
    _, verifier, params = await verified_webhook(request, STATUS_CALLBACK)
    update = verifier.parse_status(params)
    if not update.provider_message_id:
        log.info("twilio status without a MessageSid ignored")
        return Response(status_code=204)
    committer: ReceiptCommitter = request.app.state.receipt_committer
    result = await committer.apply(update)
    for pause in UNKNOWN_STATUS_RETRIES:
        if result != "unknown":
            break
        await asyncio.sleep(pause)
        result = await committer.apply(update)
    if result == "unknown":
        log.info("twilio status for an unknown message ignored")
    return Response(status_code=204)


# ------------------------------------------------------------- Twilio-compatible Messages
def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _unauthorized() -> JSONResponse:
    return twilio_error(
        401,
        AUTH_FAILED,
        "Authenticate: use HTTP Basic auth with the tenant id as the account SID and a "
        "tenant API key as the auth token.",
        headers={"WWW-Authenticate": 'Basic realm="Frontdesk"'},
    )


def _authenticate(uow: UnitOfWork, account_sid: str, authorization: str | None) -> Tenant | None:
    creds = _basic(authorization)
    if creds is None:
        return None
    user, key = creds
    tenant = uow.tenant_for_key_hash(keys.digest(key))
    if tenant is None:
        return None
    if not (
        secrets.compare_digest(user.encode(), tenant.id.encode())
        and secrets.compare_digest(account_sid.encode(), tenant.id.encode())
    ):
        return None
    return tenant


def _rfc2822(at: datetime | None) -> str | None:
    if at is None:
        return None
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return format_datetime(aware.astimezone(UTC))


def _error_of(m: Message) -> tuple[int | None, str | None]:
    if m.status == "blocked" and m.reasons:
        first = m.reasons[0]
        return code_for_reason(str(first.get("code"))), str(first.get("message"))
    if m.error_code and m.error_code.isdigit():
        return int(m.error_code), None
    return None, None


def message_json(m: Message, account_sid: str) -> dict[str, Any]:
    """Twilio's Message resource for one of our messages (sid = our message id)."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{m.id}.json"
    error_code, error_message = _error_of(m)
    media = m.media_urls or []
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": m.body,
        "date_created": _rfc2822(m.created_at),
        "date_sent": _rfc2822(m.handed_off_at),
        "date_updated": _rfc2822(m.updated_at),
        "direction": "outbound-api",
        "error_code": error_code,
        "error_message": error_message,
        "from": m.from_phone,
        "messaging_service_sid": None,
        "num_media": str(len(media)),
        "num_segments": str(m.segments),
        "price": None,
        "price_unit": "USD",
        "sid": m.id,
        "status": _TWILIO_STATUS.get(m.status, m.status),
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": m.to_phone,
        "uri": uri,
    }


def _bad(code: int, message: str) -> JSONResponse:
    return twilio_error(400, code, message)


def _category(form: MultiParams) -> Category | None:
    raw = (form.get("FrontdeskCategory") or Category.TRANSACTIONAL.value).strip().lower()
    try:
        category = Category(raw)
    except ValueError:
        return None
    return category if category in PUBLIC_CATEGORIES else None


def _send_at(form: MultiParams) -> tuple[bool, datetime | None]:
    raw = form.get("SendAt")
    if not raw:
        return True, None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return False, None
    return (at.tzinfo is not None), at


def _media_refusal(c: Container, media: tuple[str, ...]) -> JSONResponse | None:
    """R-S-02 checked before the message is stored: Twilio answers 21620 for bad media too."""
    if not media:
        return None
    with httpx.Client(timeout=mediacheck.DEFAULT_TIMEOUT) as client:
        reasons = mediacheck.check_media(
            media,
            provider_supports_mms=c.provider.supports_mms,
            client=client,
            allow_insecure_loopback=bool(
                getattr(c.settings, "media_allow_insecure_loopback", False)
            ),
        )
    if not reasons:
        return None
    return twilio_error(
        400,
        TWILIO_CODES[ReasonCode.MEDIA_NOT_ALLOWED],
        " ".join(r.message for r in reasons),
        reason_code=ReasonCode.MEDIA_NOT_ALLOWED.value,
        details={"reasons": [r.as_dict() for r in reasons]},
    )


def _create(
    c: Container,
    account_sid: str,
    authorization: str | None,
    idempotency_token: str | None,
    form: MultiParams,
) -> JSONResponse:
    """Validate like Twilio, check media, then submit through the gate.

    Authentication reads on the read engine and the media HEAD requests run
    outside any transaction, so a slow media host never holds the SQLite write
    lock; only the submit itself is one write transaction.
    """
    with UnitOfWork(c.db, write=False) as reader:
        tenant = _authenticate(reader, account_sid, authorization)
        tenant_id = tenant.id if tenant is not None else None
    if tenant_id is None:
        return _unauthorized()
    to = (form.get("To") or "").strip()
    body = form.get("Body") or ""
    media = tuple(u for u in form.getlist("MediaUrl") if u)
    if not to:
        return _bad(TO_REQUIRED, "A 'To' phone number is required.")
    if not body.strip() and not media:
        return _bad(21602, "Message body is required.")
    parsed = phone.try_parse(to)
    if parsed is None:
        return _bad(21211, f"The 'To' number {to} is not a valid phone number.")
    category = _category(form)
    if category is None:
        allowed = ", ".join(sorted(cat.value for cat in PUBLIC_CATEGORIES))
        return _bad(FRONTDESK_BAD_PARAMETER, f"FrontdeskCategory must be one of {allowed}.")
    ok, send_at = _send_at(form)
    if not ok:
        return _bad(FRONTDESK_BAD_PARAMETER, "SendAt must be ISO 8601 with a UTC offset.")
    refused = _media_refusal(c, media)
    if refused is not None:
        return refused
    cmd = messages.SendCommand(
        to=parsed.e164,
        body=body,
        category=category,
        sender=(form.get("From") or "").strip() or None,
        media_urls=media,
        send_at=send_at,
        idempotency_key=idempotency_token or None,
    )
    with UnitOfWork(c.db) as uow:
        try:
            submitted = messages.submit(
                uow.tenant(tenant_id), cmd, c.clock.now(), f"twilio-compat:{tenant_id}"
            )
        except errors.AppError as exc:
            return twilio_error(exc.status, FRONTDESK_OTHER_REFUSAL, exc.detail)
        uow.commit()
    msg = submitted.message
    if msg.status == "blocked":
        first = (msg.reasons or [{}])[0]
        reason_code = str(first.get("code", ""))
        return twilio_error(
            400,
            code_for_reason(reason_code),
            f"{first.get('message', 'Refused by policy.')} {first.get('fix', '')}".strip(),
            reason_code=reason_code,
            details={"frontdesk_message_id": msg.id, "reasons": list(msg.reasons or [])},
        )
    if submitted.created:
        c.worker.wake()
    return JSONResponse(message_json(msg, tenant_id), status_code=201)


@router.post(
    "/2010-04-01/Accounts/{account_sid}/Messages.json",
    tags=["twilio-compatible"],
    response_class=JSONResponse,
)
async def twilio_compat_create(account_sid: str, request: Request) -> JSONResponse:
    """Create a Message as Twilio does, after the gate (api.md, drop-in compliance)."""
    c: Container = request.app.state.container
    form = await request.form()
    params = MultiParams([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    return await run_in_threadpool(
        _create,
        c,
        account_sid,
        request.headers.get("Authorization"),
        request.headers.get("I-Twilio-Idempotency-Token"),
        params,
    )


def _fetch(c: Container, account_sid: str, sid: str, authorization: str | None) -> JSONResponse:
    with UnitOfWork(c.db) as uow:
        tenant = _authenticate(uow, account_sid, authorization)
        if tenant is None:
            return _unauthorized()
        msg = uow.tenant(tenant.id).message(sid)
        if msg is None:
            return twilio_error(
                404,
                NOT_FOUND,
                f"The requested resource /{API_VERSION}/Accounts/{account_sid}/Messages/"
                f"{sid}.json was not found",
            )
        return JSONResponse(message_json(msg, tenant.id))


@router.get(
    "/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    tags=["twilio-compatible"],
    response_class=JSONResponse,
)
def twilio_compat_fetch(account_sid: str, sid: str, request: Request) -> JSONResponse:
    """Fetch a Message as Twilio renders it."""
    c: Container = request.app.state.container
    return _fetch(c, account_sid, sid, request.headers.get("Authorization"))
