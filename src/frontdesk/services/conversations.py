"""Conversations: one thread per contact, the receptionist's replies, staff takeover.

Only inbound texts the keyword gate classified ``none`` reach :func:`respond`
(receptionist.md Part 1: the gate runs first; an opt-out, a HELP or a reply under
review never reaches the receptionist). The receptionist engine
(``frontdesk.receptionist.engine.respond``) reads the text and proposes an intent,
one action from a closed list and a reply; this module carries the action out
(confirm, cancel or ask to move the appointment, hand off, alert staff) and queues
the reply as a ``conversation`` message through :func:`services.messages.submit`,
so the gate re-checks it at hand-off like everything else (§2.3 item 1: a STOP that
arrives after the reply was prepared still stops it).

Guardrails held here rather than in the engine (receptionist.md §2.3):

* item 9 — a staff takeover or a staff reply pauses automation for the thread
  until released (or the staff-reply timer runs out);
* item 8 — automated replies are capped per contact per hour and per day, and two
  unrecognised texts in a row hand the thread to a person, never "invalid response";
* §1.6 — the reply that confirms a cancellation still says how to stop texts;
* item 11 — intent, action, template and source of every automated reply are audited.

A person who texts the business has asked for an answer: their text is recorded
as consent limited to the conversation (method ``inbound_sms``), only when no
suppression is active, so it can never lift an opt-out (R-FCC-07).

The tenant's optional model is never called inside a transaction: the caller
asks :func:`consultation` on a read-only unit of work, calls
:meth:`Consultation.ask` with no transaction open, and passes the recorded
answers to :func:`respond` in the write transaction, which replays them
(``receptionist.consult``). Without answers, :func:`respond` stays on the
deterministic path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from frontdesk import errors
from frontdesk.domain import content
from frontdesk.domain.consent import Method, Scope
from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.receptionist import engine as receptionist
from frontdesk.receptionist.consult import NluAnswers, RecordingNlu
from frontdesk.receptionist.engine import (
    AppointmentView,
    ConversationContext,
    ReceptionistReply,
    TenantKnowledge,
)
from frontdesk.receptionist.llm import LlmAdapter
from frontdesk.services import appointments, consents
from frontdesk.services import messages as messages_service
from frontdesk.services import settings as settings_service
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage import flows
from frontdesk.storage.models import Appointment, Conversation, InboundMessage, Message, Tenant
from frontdesk.storage.uow import TenantScope

log = logging.getLogger(__name__)

UNRECOGNISED_INTENTS = frozenset({"other", "unknown", "unrecognised", "unrecognized", ""})
SILENT_INTENTS = frozenset({"auto_reply"})
STOP_HINT = "Reply STOP to stop texts."
THREAD_LIMIT = 200


@dataclass
class ConversationOutcome:
    intent: str | None = None
    actions: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


_ADAPTERS: dict[tuple[str, str, float, bool], LlmAdapter] = {}
_ADAPTERS_LOCK = threading.Lock()


def nlu_for(settings: settings_service.TenantSettings) -> LlmAdapter | None:
    """The tenant's optional OpenAI-compatible model (§2.2), off unless configured.

    One adapter per configuration for the life of the process, so its circuit breaker
    remembers failures across texts and a dead server is skipped, not waited on.
    """
    llm = settings.llm
    if not (llm.base_url and llm.model):
        return None
    key = (llm.base_url, llm.model, llm.timeout_seconds, llm.use_for_wording)
    with _ADAPTERS_LOCK:
        adapter = _ADAPTERS.get(key)
        if adapter is None:
            adapter = LlmAdapter(
                llm.base_url, llm.model, timeout=llm.timeout_seconds, wording=llm.use_for_wording
            )
            _ADAPTERS[key] = adapter
        return adapter


# thread bookkeeping ----------------------------------------------------------------------
def ensure(scope: TenantScope, phone: str, now: datetime) -> Conversation:
    conv = flows.conversation(scope, phone)
    if conv is None:
        conv = Conversation(
            id=new_id("cnv"),
            tenant_id=scope.tenant_id,
            phone=phone,
            owner="ai",
            state="idle",
            unrecognised=0,
            language="en",
            data={},
            created_at=now,
            updated_at=now,
        )
        scope.add(conv)
        scope.flush()
    return conv


def ai_paused(conv: Conversation, now: datetime) -> bool:
    """§2.3 item 9: staff own the thread until released or their reply timer runs out."""
    if conv.owner != "staff":
        return False
    return conv.paused_until is None or conv.paused_until > now


def note_inbound(
    scope: TenantScope, phone: str, now: datetime, *, state: str | None = None
) -> Conversation:
    conv = ensure(scope, phone, now)
    conv.last_inbound_at = now
    conv.updated_at = now
    if state is not None:
        conv.state = state
    return conv


def handoff(
    scope: TenantScope,
    conv: Conversation,
    reason: str,
    now: datetime,
    actor: str,
    **detail: str | None,
) -> None:
    conv.owner = "staff"
    conv.state = "handed_off"
    conv.paused_until = None
    conv.unrecognised = 0
    conv.data = {
        **(conv.data or {}),
        "handoff": {
            "reason": reason,
            "at": now.isoformat(),
            **{k: v for k, v in detail.items() if v},
        },
    }
    conv.updated_at = now
    scope.audit(now, actor, "conversation.handed_off", conv.id, {"reason": reason})


# the receptionist ------------------------------------------------------------------------
def knowledge(tenant: Tenant, settings: settings_service.TenantSettings) -> TenantKnowledge:
    k = settings.knowledge
    return TenantKnowledge(
        business_name=k.business_name or tenant.name,
        timezone=tenant.timezone,
        phone=k.phone or tenant.support_phone,
        address=k.address,
        hours=dict(k.hours),
        services=tuple(k.services),
        prices=dict(k.prices),
        insurance=tuple(k.insurance),
        booking_url=k.booking_url,
        allowed_link_domains=frozenset(settings.allowed_link_domains),
        emergency_text=k.emergency_text,
        emergency_texts={lang: text for lang, text in k.emergency_texts.items() if text},
        languages=tuple(k.languages),
    )


def _state_for(state: str, appt: Appointment | None) -> str:
    if state in ("idle", "closed") and appt is not None and appt.status == "booked":
        return "awaiting_confirmation"
    return state


def context(
    scope: TenantScope,
    conv: Conversation,
    appt: Appointment | None,
    now: datetime,
    *,
    staff_owned: bool,
    thread_state: str | None = None,
) -> ConversationContext:
    """What the engine knows of the thread; ``thread_state`` stands in for ``conv.state``
    when the caller must not change the row (a read-only consultation)."""
    state = consents.current_state(scope, conv.phone)
    return ConversationContext(
        now=now,
        state=_state_for(thread_state or conv.state, appt),
        language=conv.language or "en",
        unrecognised=conv.unrecognised or 0,
        appointment=AppointmentView(appt.id, appt.starts_at, appt.service, appt.status)
        if appt is not None
        else None,
        marketing_consent=state.marketing.granted and state.marketing.written,
        ai_replies_last_hour=flows.ai_replies_since(scope, conv.phone, now - timedelta(hours=1)),
        ai_replies_last_day=flows.ai_replies_since(scope, conv.phone, now - timedelta(days=1)),
        staff_owned=staff_owned,
        first_message_to_contact=not scope.has_outbound_to(conv.phone),
    )


def _allow_conversation(
    scope: TenantScope, phone: str, inbound: InboundMessage, now: datetime
) -> None:
    if scope.active_suppressions(phone):
        return
    if consents.current_state(scope, phone).covers(Category.CONVERSATION):
        return
    consents.record_grant(
        scope,
        phone,
        consent_scope=Scope.INFORMATIONAL,
        method=Method.INBOUND_SMS,
        captured_at=inbound.received_at,
        evidence={"inbound_id": inbound.id, "message_id": inbound.provider_message_id},
        now=now,
        source="inbound_sms",
        actor="recipient",
        limited_to=frozenset({Category.CONVERSATION}),
    )


def _queue(
    scope: TenantScope,
    phone: str,
    sender: str | None,
    body: str,
    now: datetime,
    actor: str,
    *,
    automated: bool,
) -> Message:
    submitted = messages_service.submit(
        scope,
        messages_service.SendCommand(
            to=phone, body=body, category=Category.CONVERSATION, sender=sender
        ),
        now,
        actor=actor,
    )
    submitted.message.conversation_reply = automated
    return submitted.message


def _proposed(slots: Any) -> str | None:
    if not isinstance(slots, Mapping):
        return None
    for key in ("proposed_time", "time", "when"):
        value = slots.get(key)
        if value:
            return str(value)
    return None


@dataclass(frozen=True)
class Consultation:
    """The question the tenant's model would be asked about one text, read before the
    write transaction so that :meth:`ask` runs with none open."""

    text: str
    ctx: ConversationContext
    knowledge: TenantKnowledge
    nlu: LlmAdapter

    def ask(self) -> NluAnswers:
        """Run the engine against the model and keep its answers (network; no transaction).

        Never raises: the text must still be recorded and its keywords honoured, so an
        unexpected error keeps the answers gathered so far and is logged.
        """
        recorder = RecordingNlu(self.nlu)
        try:
            receptionist.respond(self.text, self.ctx, self.knowledge, nlu=recorder)
        except Exception:
            log.exception("consulting the model failed; the reply stays deterministic")
        return recorder.answers


def consultation(
    scope: TenantScope, tenant: Tenant, phone: str, text: str, now: datetime
) -> Consultation | None:
    """The model question :func:`respond` would ask for ``text``, or None when it would
    ask none (no model configured, AI off, staff own the thread, a review or an opt-out
    holds it). Reads only: nothing is added or changed, so a read-only unit of work
    serves."""
    settings = settings_service.load(tenant)
    nlu = nlu_for(settings)
    if nlu is None or not text.strip() or not settings.ai.enabled:
        return None
    if any(s.scope == "all" for s in scope.active_suppressions(phone)):
        return None
    conv = flows.conversation(scope, phone) or Conversation(
        phone=phone, owner="ai", state="idle", unrecognised=0, language="en"
    )
    held = bool(scope.pending_reviews(phone))
    if held or ai_paused(conv, now):
        return None
    thread_state = "idle" if conv.state in ("held", "closed") else conv.state
    appt = flows.next_appointment(scope, phone, now)
    ctx = context(scope, conv, appt, now, staff_owned=False, thread_state=thread_state)
    return Consultation(text, ctx, knowledge(tenant, settings), nlu)


def respond(
    scope: TenantScope,
    tenant: Tenant,
    inbound: InboundMessage,
    now: datetime,
    answers: NluAnswers | None = None,
) -> ConversationOutcome:
    """Hand an inbound text the gate classified ``none`` to the receptionist.

    While staff own the thread the engine still reads the text (an urgent message
    alerts staff) but nothing automated is sent (§2.3 item 9). The model's part comes
    from ``answers`` (see :func:`consultation`); it is never called here.
    """
    phone = inbound.from_phone
    out = ConversationOutcome()
    conv = note_inbound(scope, phone, now)
    if conv.owner == "staff" and not ai_paused(conv, now):
        conv.owner, conv.paused_until = "ai", None
    if any(s.scope == "all" for s in scope.active_suppressions(phone)):
        return out
    settings = settings_service.load(tenant)
    held = bool(scope.pending_reviews(phone))
    paused = ai_paused(conv, now) or held or not settings.ai.enabled
    if not held and conv.state in ("held", "closed"):
        conv.state = "idle"
    appt = flows.next_appointment(scope, phone, now)
    ctx = context(scope, conv, appt, now, staff_owned=paused)
    nlu = None if paused or answers is None else answers.replay()
    reply = receptionist.respond(inbound.body, ctx, knowledge(tenant, settings), nlu=nlu)
    out.intent = reply.intent or None
    conv.last_intent = reply.intent or None
    conv.language = (reply.language or conv.language or "en")[:8]
    if paused:
        out.actions.append("routed_to_staff")
        if reply.action == "alert_staff":
            out.actions.append("staff_alerted")
        _audit(scope, inbound, reply, out, now)
        return out
    _act(scope, conv, appt, reply, inbound, settings, ctx, out, now)
    _audit(scope, inbound, reply, out, now)
    return out


def _act(
    scope: TenantScope,
    conv: Conversation,
    appt: Appointment | None,
    reply: ReceptionistReply,
    inbound: InboundMessage,
    settings: settings_service.TenantSettings,
    ctx: ConversationContext,
    out: ConversationOutcome,
    now: datetime,
) -> None:
    """Carry out the engine's one action, queue its reply, hand off when asked."""
    text = reply.text
    reason: str | None = "engine" if reply.handoff else None
    proposed: str | None = None
    if reply.intent in UNRECOGNISED_INTENTS and reply.action is None:
        conv.unrecognised = (conv.unrecognised or 0) + 1
        if conv.unrecognised >= settings.ai.unrecognised_handoff:
            reason = reason or "unrecognised"
    elif reply.intent not in SILENT_INTENTS:
        conv.unrecognised = 0

    if reply.action == "confirm_appointment" and appt is not None:
        appointments.confirm(scope, appt, now, "recipient")
        conv.state = "idle"
        out.actions.append("appointment_confirmed")
    elif reply.action == "cancel_appointment" and appt is not None:
        appointments.cancel(scope, appt, now, "recipient")
        conv.state = "idle"
        out.actions.append("appointment_canceled")
        if text and not content.has_opt_out_language(text):
            text = f"{text.rstrip()} {STOP_HINT}"
    elif reply.action == "request_reschedule":
        proposed = _proposed(reply.slots)
        if appt is not None:
            appointments.request_reschedule(scope, appt, proposed, now, "recipient")
            out.actions.append("reschedule_requested")
        reason = "reschedule"
    elif reply.action == "alert_staff":
        out.actions.append("staff_alerted")
        reason = reason or "staff_alert"
    elif reply.action == "handoff":
        reason = reason or "engine"

    if text:
        if (
            ctx.ai_replies_last_hour >= settings.ai.max_replies_per_hour
            or ctx.ai_replies_last_day >= settings.ai.max_replies_per_day
        ):
            out.actions.append("ai_reply_capped")
            reason = reason or "reply_cap"
        else:
            _allow_conversation(scope, conv.phone, inbound, now)
            msg = _queue(
                scope, conv.phone, inbound.to_phone, text, now, "receptionist", automated=True
            )
            out.replies.append(msg.id)
            if msg.status != "blocked":
                out.actions.append("replied")
                conv.last_outbound_at = now
    if reason is not None:
        handoff(
            scope, conv, reason, now, "receptionist", proposed_time=proposed, inbound_id=inbound.id
        )
        out.actions.append("handed_off")


def _audit(
    scope: TenantScope,
    inbound: InboundMessage,
    reply: ReceptionistReply,
    out: ConversationOutcome,
    now: datetime,
) -> None:
    """§2.3 item 11: what the receptionist read and did, with its template and source."""
    scope.audit(
        now,
        "receptionist",
        "conversation.receptionist",
        inbound.id,
        {
            "intent": reply.intent,
            "action": reply.action,
            "template_id": reply.template_id,
            "source": reply.source,
            "notes": list(reply.notes)[:5],
            "actions": out.actions,
        },
    )


# staff -------------------------------------------------------------------------------------
def staff_reply(scope: TenantScope, phone: str, body: str, now: datetime, actor: str) -> Message:
    """A person answers in the thread; the gate decides it, and the AI pauses (§2.3 item 9)."""
    ensure_contact(scope, phone, now)
    conv = ensure(scope, phone, now)
    settings = settings_service.load(scope.tenant())
    msg = _queue(scope, phone, None, body, now, actor, automated=False)
    if conv.owner != "staff" or conv.paused_until is not None:
        conv.owner = "staff"
        pause = settings.ai.staff_reply_pause_minutes
        conv.paused_until = now + timedelta(minutes=pause)
    if msg.status != "blocked":
        conv.last_outbound_at = now
    conv.updated_at = now
    return msg


def takeover(scope: TenantScope, phone: str, now: datetime, actor: str) -> Conversation:
    conv = ensure(scope, phone, now)
    conv.owner = "staff"
    conv.paused_until = None
    conv.updated_at = now
    scope.audit(now, actor, "conversation.takeover", conv.id, {})
    return conv


def release(scope: TenantScope, phone: str, now: datetime, actor: str) -> Conversation:
    conv = flows.conversation(scope, phone)
    if conv is None:
        raise errors.not_found("conversation")
    conv.owner = "ai"
    conv.paused_until = None
    conv.unrecognised = 0
    if conv.state == "handed_off":
        conv.state = "idle"
    conv.updated_at = now
    scope.audit(now, actor, "conversation.released", conv.id, {})
    return conv


@dataclass(frozen=True)
class Entry:
    direction: str
    at: datetime
    inbound: InboundMessage | None = None
    message: Message | None = None


def thread(scope: TenantScope, phone: str) -> tuple[Conversation | None, list[Entry]]:
    """Inbound and outbound texts with this number, oldest first."""
    conv = flows.conversation(scope, phone)
    entries = [
        Entry("inbound", i.received_at, inbound=i)
        for i in flows.inbound_from(scope, phone, THREAD_LIMIT)
    ]
    entries += [
        Entry("outbound", m.created_at, message=m)
        for m in flows.outbound_to(scope, phone, THREAD_LIMIT)
    ]
    entries.sort(key=lambda e: (e.at, 0 if e.direction == "inbound" else 1))
    if conv is None and not entries:
        raise errors.not_found("conversation")
    return conv, entries
