"""Missed-call text-back: one informational text to a caller the business did not answer.

R-C-06: a single, purely informational follow-up to someone who just called is
low-risk because the consumer started the contact, but it is not an FCC
exemption, so the platform allows exactly one per missed call, de-duplicated
per caller within a window (tenant setting, default 10 minutes; vendors use
10 minutes to a day), only within minutes of the call, with the business name
and opt-out language, and never to a caller who opted out. Withheld caller IDs,
short codes, toll-free and landline numbers get nothing: there is nobody to text,
or the text would reach a business or a phone that cannot receive it.

The call itself is recorded as consent evidence (method ``inbound_call``,
informational scope) limited to this follow-up and the conversation it starts
(R-C-06: any further message needs normal consent). The text passes the gate
like every other message; quiet hours bind it only if the tenant chose so
(receptionist.md §2.5, ``missed_call_in_quiet_hours``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from frontdesk.domain import phone
from frontdesk.domain.consent import Method, Scope
from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.services import consents, conversations
from frontdesk.services import messages as messages_service
from frontdesk.services import settings as settings_service
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage import flows
from frontdesk.storage.models import Call, Message, Tenant
from frontdesk.storage.uow import TenantScope

log = logging.getLogger("frontdesk.missed_calls")

MISSED_STATUSES = frozenset({"no-answer", "busy", "canceled", "failed", "missed"})
MAX_DELAY = timedelta(hours=1)  # "within minutes of the call" (R-C-06); later is not a reply
LIMITED_TO = frozenset({Category.MISSED_CALL_FOLLOWUP, Category.CONVERSATION})

_KEYPAD = {
    c: str(d)
    for d, letters in (
        (2, "abc"),
        (3, "def"),
        (4, "ghi"),
        (5, "jkl"),
        (6, "mno"),
        (7, "pqrs"),
        (8, "tuv"),
        (9, "wxyz"),
    )
    for c in letters
}
_WITHHELD_WORDS = (
    "anonymous",
    "restricted",
    "blocked",
    "unavailable",
    "unknown",
    "private",
    "withheld",
)
# Carriers and Twilio spell a withheld caller ID on the keypad: +266696687 is ANONYMOUS.
_WITHHELD_DIGITS = frozenset("".join(_KEYPAD[c] for c in w) for w in _WITHHELD_WORDS)
_NOT_SMS = frozenset({"premium_rate", "shared_cost", "uan", "voicemail", "pager"})


@dataclass(frozen=True)
class MissedCall:
    caller: str
    to: str
    at: datetime
    provider: str = "api"
    provider_call_id: str | None = None
    status: str = "no-answer"


@dataclass(frozen=True)
class MissedCallOutcome:
    call: Call
    message: Message | None
    duplicate: bool = False

    @property
    def outcome(self) -> str:
        return self.call.outcome


def screen_caller(raw: str) -> tuple[str | None, str | None]:
    """(E.164 or None, refusal or None) for a caller ID as the telephony reported it."""
    text = (raw or "").strip()
    letters = "".join(c for c in text.lower() if c.isalpha())
    digits = "".join(c for c in text if c.isdigit())
    if not text or letters in _WITHHELD_WORDS or digits in _WITHHELD_DIGITS:
        return None, "withheld_caller_id"
    if text.lower().startswith(("client:", "sip:")):
        return None, "not_a_phone_number"
    if phone.is_short_code(text):
        return None, "short_code"
    parsed = phone.try_parse(text)
    if parsed is None:
        return None, "invalid_number"
    if parsed.is_toll_free:
        return parsed.e164, "toll_free"
    if parsed.is_landline:
        return parsed.e164, "landline"
    if parsed.number_type in _NOT_SMS:
        return parsed.e164, "not_sms_capable"
    return parsed.e164, None


def _opening(span: str | None) -> tuple[int, int] | None:
    if not span:
        return None
    start, end = span.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


def business_hours(hours: dict[str, str | None], local: datetime) -> tuple[bool, str]:
    """Whether ``local`` is inside opening hours, and when the business next opens."""
    day = settings_service.DAYS[local.weekday()]
    minute = local.hour * 60 + local.minute
    today = _opening(hours.get(day))
    if today and today[0] <= minute < today[1]:
        return True, "today"
    for ahead in range(8):
        span = _opening(hours.get(settings_service.DAYS[(local.weekday() + ahead) % 7]))
        if span is None or (ahead == 0 and minute >= span[0]):
            continue
        hour, mins = divmod(span[0], 60)
        clock = f"{hour % 12 or 12}:{mins:02d} {'am' if hour < 12 else 'pm'}"
        if ahead == 0:
            return False, f"at {clock} today"
        if ahead == 1:
            return False, f"tomorrow at {clock}"
        name = (local + timedelta(days=ahead)).strftime("%A")
        return False, f"on {name} at {clock}"
    return False, "when we open"


def followup_text(tenant: Tenant, at: datetime) -> str:
    settings = settings_service.load(tenant)
    local = at.astimezone(ZoneInfo(tenant.timezone))
    open_now, next_open = business_hours(settings.knowledge.hours, local)
    fields = settings_service.template_fields(tenant, settings)
    fields["next_open"] = next_open
    template = (
        settings.missed_call.business_hours_template
        if open_now
        else settings.missed_call.after_hours_template
    )
    return settings_service.render(template, fields)


def record_missed_call(
    scope: TenantScope, call: MissedCall, now: datetime, actor: str
) -> MissedCallOutcome:
    """Record the call and, when it qualifies, queue its one follow-up text."""
    if call.provider_call_id:
        seen = flows.call_by_provider_id(scope, call.provider, call.provider_call_id)
        if seen is not None:
            msg = scope.message(seen.followup_message_id) if seen.followup_message_id else None
            return MissedCallOutcome(seen, msg, duplicate=True)
    tenant = scope.tenant()
    settings = settings_service.load(tenant)
    at = min(call.at, now)
    e164, refusal = screen_caller(call.caller)
    row = Call(
        id=new_id("call"),
        tenant_id=scope.tenant_id,
        caller=(e164 or call.caller or "")[:64],
        to_number=call.to,
        at=at,
        status=call.status[:24],
        provider=call.provider,
        provider_call_id=call.provider_call_id,
        outcome=refusal or "pending",
        created_at=now,
    )
    scope.add(row)
    if refusal is None and e164 is not None:
        row.outcome = _follow_up(scope, tenant, settings, row, e164, now, actor)
    scope.audit(
        now,
        actor,
        "call.missed",
        row.id,
        {"from": row.caller[-4:], "outcome": row.outcome, "provider": call.provider},
    )
    log.info("missed call from …%s: %s", row.caller[-4:], row.outcome)
    msg = scope.message(row.followup_message_id) if row.followup_message_id else None
    return MissedCallOutcome(row, msg)


def _follow_up(
    scope: TenantScope,
    tenant: Tenant,
    settings: settings_service.TenantSettings,
    row: Call,
    e164: str,
    now: datetime,
    actor: str,
) -> str:
    if not settings.missed_call.enabled:
        return "disabled"
    if now - row.at > MAX_DELAY:
        return "too_late"
    ensure_contact(scope, e164, now)
    scope.lock_contact(e164)
    active = scope.active_suppressions(e164)
    if any(s.reason == "carrier_landline" for s in active):
        return "landline"
    if any(s.scope == "all" for s in active):
        return "opted_out"
    window = timedelta(minutes=settings.missed_call.dedupe_minutes)
    if flows.followed_up_call_since(scope, e164, row.at - window) is not None:
        return "deduplicated"
    consents.record_grant(
        scope,
        e164,
        consent_scope=Scope.INFORMATIONAL,
        method=Method.INBOUND_CALL,
        captured_at=row.at,
        evidence={
            "call_id": row.id,
            "provider": row.provider,
            "provider_call_id": row.provider_call_id,
            "status": row.status,
            "to": row.to_number,
        },
        now=now,
        source="inbound_call",
        actor=actor,
        limited_to=LIMITED_TO,
    )
    submitted = messages_service.submit(
        scope,
        messages_service.SendCommand(
            to=e164,
            body=followup_text(tenant, row.at),
            category=Category.MISSED_CALL_FOLLOWUP,
            sender=row.to_number,
            subject="missed_call",
        ),
        now,
        actor=actor,
    )
    msg = submitted.message
    row.followup_message_id = msg.id
    conv = conversations.ensure(scope, e164, now)
    conv.last_outbound_at = now
    conv.data = {**(conv.data or {}), "started_by": "missed_call", "call_id": row.id}
    return "texted" if msg.status != "blocked" else "blocked"
