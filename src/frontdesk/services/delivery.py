"""Hand-off through an outbox: claim due messages, re-run the gate with fresh facts, and
give those still allowed to the carrier outside any transaction (issue 12).

Three short transactions, none of them open while a carrier is called (design.md: a
carrier call takes 100-300 ms; on SQLite a transaction holds the one write lock):

1. :func:`claim_batch` claims due rows, re-checks each with the gate (on SQLite the
   write lock, on PostgreSQL the contact-row locks make a STOP committed before the
   claim visible to the re-check) and marks those still allowed as claimed;
2. the dispatcher (``worker/dispatch.py``) releases each claim with a compare-and-set
   just before its network write (``storage.claims.release``) and sends many at once;
   a revocation committed after the claim fences the unreleased claims to that
   number (``storage.claims.fence_recipient``), so the release finds nothing —
   **no message is handed to a carrier after the STOP that forbids it has committed**;
3. :func:`record_outcomes` writes the carrier's answers back in one batch.

A crash between claim and outcome loses nothing: :func:`recover_claims` puts an
unreleased claim back in the queue and treats a released one as an attempt of unknown
outcome, retried within the validity period (duplicates bounded by what was in flight).

Before the carrier sees a message it must still be worth sending:

* a reminder is never handed off once its appointment has begun (late cutoff);
* a message due for longer than the validity period is failed, not sent late;
* a sender the carrier has blocked (30032/30034) sends nothing more;
* the gate decides again (opt-out, consent, quiet hours: a deferral is a new
  ``send_at``, and a retry is only a new ``send_at`` too, so it passes the same
  re-check and never goes out in quiet hours — R-E-02, T-22);
* throughput caps per sending number, per campaign and per brand per day
  (R-R-04) hold it back: over a cap it is rescheduled, never dropped. A claimed
  message counts against the caps from its claim (``handed_off_at``), so many
  sends in flight never exceed them.

A failed attempt is classified by :mod:`frontdesk.domain.carrier_errors`: a
permanent error (21610, 30007, 30032, 30034, …) is never retried; a transient one
is retried with backoff and deterministic jitter, a bounded number of times and
only within the validity period.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from frontdesk.domain import carrier_errors, gate, throttle
from frontdesk.domain.carrier_errors import Action, CarrierError
from frontdesk.domain.consent import Method
from frontdesk.domain.messages import Category, Status
from frontdesk.providers.base import OutboundSms, SendResult
from frontdesk.services import consents, suppressions
from frontdesk.services import facts as facts_service
from frontdesk.storage import claims, throughput
from frontdesk.storage.claims import Claimed, MessageUpdates, claim_due_rows, load_message
from frontdesk.storage.models import Message, Tenant
from frontdesk.storage.uow import TenantScope, UnitOfWork

log = logging.getLogger("frontdesk.delivery")

MAX_ATTEMPTS = 6
VALIDITY = timedelta(hours=10)  # Twilio's longest ValidityPeriod (36,000 s)
FILTERING_WINDOW = timedelta(hours=72)
FILTERING_ESCALATION = 3  # R-E-02: escalate at >= 3 affected recipients in 72 h

# Suppression reasons for carrier verdicts; the gate blocks on any active suppression.
NUMBER_MARKS: dict[Action, str] = {
    Action.MARK_INVALID: "carrier_invalid",
    Action.MARK_NOT_SMS_CAPABLE: "carrier_landline",
}


@dataclass(frozen=True)
class Policy:
    """Retry bounds (R-E-02): attempts per message and the validity period."""

    max_attempts: int = MAX_ATTEMPTS
    validity: timedelta = VALIDITY

    def for_tenant(self, tenant: Tenant) -> Policy:
        hours = (tenant.settings or {}).get("validity_hours")
        if hours:
            return Policy(self.max_attempts, timedelta(hours=float(hours)))
        return self


DEFAULT_POLICY = Policy()


@dataclass
class BatchResult:
    claimed: int = 0
    handed_off: int = 0
    blocked: int = 0
    deferred: int = 0
    failed: int = 0
    throttled: int = 0
    retried: int = 0
    canceled: int = 0


def _request(msg: Message | Claimed) -> gate.MessageRequest:
    """The gate's view of a stored message, with the sender chosen at accept time, so the
    sender's campaign (R-R-01, R-CT-05) is judged at hand-off as it was at accept."""
    return gate.MessageRequest(
        to=msg.to_phone,
        body=msg.body,
        category=Category(msg.category),
        sender=msg.from_phone,
        media_urls=tuple(msg.media_urls or ()),
        subject=msg.subject,
        appointment_starts_at=msg.appointment_starts_at,
        revocation_at=msg.revocation_at,
        healthcare_exempt=msg.healthcare_exempt,
    )


def _event(
    scope: TenantScope,
    msg: Message | Claimed,
    status: str,
    now: datetime,
    *,
    provider_message_id: str | None = None,
    **detail: object,
) -> None:
    scope.add_event(
        msg.id,
        status,
        now,
        dict(detail),
        provider=msg.provider,
        provider_message_id=provider_message_id,
        error_code=msg.error_code,
    )


def _reason(code: str, rule: str, message: str, fix: str) -> dict[str, str]:
    return {"code": code, "rule": rule, "message": message, "fix": fix, "severity": "block"}


def jitter_draw(message_id: str, attempt: int) -> float:
    """A uniform draw in [0, 1) fixed by the message and attempt: retries repeat exactly."""
    digest = hashlib.blake2b(f"{message_id}:{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def recheck(
    uow: UnitOfWork,
    msg: Message | Claimed,
    now: datetime,
    batch: facts_service.BatchFacts | None = None,
) -> gate.Decision:
    """Run the gate again with fresh facts; ``batch`` holds them already read for the
    whole claim (its contacts locked first on PostgreSQL, see :func:`_load_facts`).

    The facts are the stored sender's, the number chosen at accept: its campaign's
    status and use case now (R-R-01, R-R-05, R-CT-05) and whether the tenant still
    owns it (R-R-02), so a refusal here names what accept would name (issue 12)."""
    request = _request(msg)
    if batch is not None:
        with uow.session.no_autoflush:  # earlier outcomes of the claim are already flushed
            facts = batch.facts(
                facts_service.FactsRequest(msg.to_phone, now, msg.id, msg.from_phone)
            )
        return gate.evaluate(request, facts, now)
    scope = uow.tenant(msg.tenant_id)
    if uow.dialect == "postgresql":
        scope.lock_contact(msg.to_phone)  # SQLite's BEGIN IMMEDIATE already serialises writers
    tenant = scope.tenant()
    with uow.session.no_autoflush:
        facts = facts_service.gather(
            scope, tenant, msg.to_phone, now, exclude_message_id=msg.id, sender=msg.from_phone
        )
    return gate.evaluate(request, facts, now)


def _load_facts(
    uow: UnitOfWork, rows: Sequence[Claimed], now: datetime
) -> dict[str, facts_service.BatchFacts]:
    """Every claimed message's facts, a few queries per tenant instead of ~10 per message.

    On PostgreSQL the recipients' contact rows are locked first, in claim order
    (the order the per-message re-check locked them in), so a STOP committed
    before this point is read and one arriving later waits for the hand-off
    (guarantee 1). On SQLite the transaction already holds the write lock.
    """
    by_tenant: dict[str, list[Claimed]] = {}
    for msg in rows:
        by_tenant.setdefault(msg.tenant_id, []).append(msg)
    out: dict[str, facts_service.BatchFacts] = {}
    with uow.session.no_autoflush:
        for tenant_id, msgs in by_tenant.items():
            scope = uow.tenant(tenant_id)
            if uow.dialect == "postgresql":
                for phone in dict.fromkeys(m.to_phone for m in msgs):
                    scope.lock_contact(phone)
            requests = [
                facts_service.FactsRequest(m.to_phone, now, m.id, m.from_phone) for m in msgs
            ]
            out[tenant_id] = facts_service.BatchFacts(scope, scope.tenant(), requests, now)
    return out


# --- carrier verdicts: platform actions and retries ---------------------------------------


def apply_action(
    scope: TenantScope, msg: Message, error: CarrierError, code: str, now: datetime
) -> None:
    """The platform side of a carrier error (R-E-02 "Platform action", R-E-03, T-12)."""
    if error.action is Action.RECORD_OPT_OUT:
        record_carrier_opt_out(scope, msg.to_phone, code, now)
    elif error.action in NUMBER_MARKS:
        suppressions.add(
            scope,
            msg.to_phone,
            reason=NUMBER_MARKS[error.action],
            scope_name="all",
            source=f"carrier_{code}",
            note=error.meaning,
            now=now,
            actor="carrier",
        )
    elif error.action is Action.BLOCK_SENDER and msg.from_phone:
        block_sender(scope, msg.from_phone, code, now)
    elif error.action is Action.COUNT_FILTERING:
        scope.audit(now, "carrier", "carrier.filtered", msg.id, {"code": code})
        since = now - FILTERING_WINDOW
        scope.flush()
        affected = throughput.filtered_recipients_since(scope.session, scope.tenant_id, code, since)
        if affected == FILTERING_ESCALATION:
            scope.audit(
                now,
                "carrier",
                "carrier.filtering_escalation",
                None,
                {"code": code, "recipients": affected, "window_hours": 72},
            )
            log.warning("tenant %s: %s recipients filtered in 72 h", scope.tenant_id, affected)


def record_carrier_opt_out(scope: TenantScope, e164: str, code: str, now: datetime) -> None:
    """21610 (and its SMPP/vendor aliases): the recipient texted STOP to the carrier.

    T-12: the platform keeps its own record of every opt-out the carrier knows.
    The revocation goes into the consent ledger (the proof, R-D-04) and a
    ``carrier_opt_out`` suppression blocks every later send; that reason is a
    recipient suppression, so only the recipient's START lifts it (R-E-02: re-send
    only after START/UNSTOP). No confirmation is queued: the recipient's STOP went
    to the carrier, which answers it itself, and a second one would be T-09.
    """
    already = any(
        s.reason in consents.RECIPIENT_SUPPRESSIONS and s.scope == "all"
        for s in scope.active_suppressions(e164)
    )
    if already:
        return
    consents.record_revocation(
        scope,
        e164,
        revoked_scope=None,
        method=Method.INBOUND_SMS,
        at=now,
        now=now,
        source=f"carrier_{code}",
        actor="carrier",
        evidence={"carrier_error": code},
    )
    suppressions.add(
        scope,
        e164,
        reason="carrier_opt_out",
        scope_name="all",
        source=f"carrier_{code}",
        note="the carrier reports the recipient opted out",
        now=now,
        actor="carrier",
    )
    suppressions.cancel_pending(scope, e164, marketing_only=False, code="opted_out", now=now)


def blocked_senders(tenant: Tenant) -> dict[str, str]:
    raw = (tenant.settings or {}).get("blocked_senders") or {}
    return {str(k): str(v) for k, v in raw.items()}


def block_sender(scope: TenantScope, number: str, code: str, now: datetime) -> None:
    """30032/30034: the carrier refuses this sending number until it is verified/registered."""
    tenant = scope.tenant()
    current = blocked_senders(tenant)
    if number in current:
        return
    settings: dict[str, Any] = dict(tenant.settings or {})
    settings["blocked_senders"] = {**current, number: code}
    tenant.settings = settings
    scope.audit(now, "carrier", "sender.blocked", number[-4:], {"code": code})


def _first_failure_at(scope: TenantScope, msg: Message, now: datetime) -> datetime:
    times = [ev.at for ev in scope.message_events(msg.id) if ev.error_code]
    return min(times, default=now)


def after_failure(
    scope: TenantScope,
    msg: Message,
    code: str | None,
    now: datetime,
    *,
    final: Status = Status.FAILED,
    policy: Policy = DEFAULT_POLICY,
    detail: str | None = None,
) -> Status:
    """Record a failed attempt; requeue it when its error class allows, else make it final.

    Returns the message's new status (``queued`` for a retry). A retry needs: a
    retryable class (never 21610/30007/30032/30034, T-22), attempts left, the retry
    time within the validity period counted from the first failure, and — for a
    reminder — before the appointment.
    """
    error = carrier_errors.classify(code)
    key = carrier_errors.normalise(code) or error.code
    msg.error_code = key[:16]
    msg.updated_at = now
    if code is not None:
        apply_action(scope, msg, error, key, now)
    policy = policy.for_tenant(scope.tenant())
    retry_at: datetime | None = None
    if msg.attempts < policy.max_attempts:
        retry_at = carrier_errors.retry_delay(
            error, max(msg.attempts, 1), now, jitter_draw(msg.id, msg.attempts)
        )
    gave_up: str | None = None
    if retry_at is None:
        if error.retry is not carrier_errors.RetryClass.NEVER:
            gave_up = "attempts_exhausted"
    elif retry_at - _first_failure_at(scope, msg, now) > policy.validity:
        retry_at, gave_up = None, "validity_expired"
    elif msg.appointment_starts_at is not None and retry_at >= msg.appointment_starts_at:
        retry_at, gave_up = None, "appointment_passed"
    if retry_at is not None:
        msg.status = Status.QUEUED.value
        msg.send_at = retry_at
        _event(
            scope, msg, msg.status, now, stage="retry", error=detail, retry_at=retry_at.isoformat()
        )
        return Status.QUEUED
    msg.status = final.value
    if error.action is Action.FLAG_UNREACHABLE:
        scope.audit(now, "carrier", "number.unreachable", msg.to_phone[-4:], {"code": key})
    _event(scope, msg, msg.status, now, stage="handoff", error=detail, gave_up=gave_up)
    return final


# --- throughput shaping -----------------------------------------------------------------


@dataclass
class _Shaper:
    """Per-batch view of the hand-off times the caps count (R-R-04).

    Loaded from the database on first use inside the claiming transaction, then
    kept current as this batch hands off, so the batch never exceeds a cap that
    another worker's committed hand-offs already used up.
    """

    session: Any
    numbers: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    campaigns: dict[str, list[datetime]] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)

    def next_allowed(self, msg: Claimed, limits: throttle.Limits, now: datetime) -> datetime:
        times = [now]
        if limits.per_number and msg.from_phone:
            recent = self._number(msg, limits.per_number, now)
            times.append(limits.per_number.next_allowed(recent, now))
        if limits.per_campaign:
            recent = self._campaign(msg.tenant_id, limits.per_campaign, now)
            times.append(limits.per_campaign.next_allowed(recent, now))
        if limits.per_brand_day:
            times.append(limits.per_brand_day.next_allowed(self._day(msg.tenant_id, now), now))
        return max(times)

    def reserve(
        self, msg: Claimed, limits: throttle.Limits, at: datetime, *, handed_off: bool
    ) -> None:
        """Count a hand-off, or promise slot ``at`` to a rescheduled message."""
        if limits.per_number and msg.from_phone:
            bisect.insort(self.numbers[(msg.tenant_id, msg.from_phone)], at)
        if limits.per_campaign:
            bisect.insort(self.campaigns[msg.tenant_id], at)
        if limits.per_brand_day and handed_off:
            self.days[msg.tenant_id] = self.days.get(msg.tenant_id, 0) + 1

    def _number(self, msg: Claimed, window: throttle.Window, now: datetime) -> list[datetime]:
        assert msg.from_phone is not None
        key = (msg.tenant_id, msg.from_phone)
        if key not in self.numbers:
            throughput.lock_sender(self.session, msg.tenant_id, msg.from_phone)
            self.numbers[key] = throughput.handoffs_from_number(
                self.session, msg.tenant_id, msg.from_phone, now - window.span, window.limit
            )
        return self.numbers[key]

    def _campaign(self, tenant_id: str, window: throttle.Window, now: datetime) -> list[datetime]:
        if tenant_id not in self.campaigns:
            throughput.lock_tenant(self.session, tenant_id)
            self.campaigns[tenant_id] = throughput.handoffs_for_tenant(
                self.session, tenant_id, now - window.span, window.limit
            )
        return self.campaigns[tenant_id]

    def _day(self, tenant_id: str, now: datetime) -> int:
        if tenant_id not in self.days:
            throughput.lock_tenant(self.session, tenant_id)
            self.days[tenant_id] = throughput.count_handoffs_for_tenant(
                self.session, tenant_id, throttle.pacific_day_start(now)
            )
        return self.days[tenant_id]


# --- the hand-off -----------------------------------------------------------------------


@dataclass
class _TenantView:
    """What every hand-off of one tenant reads from its row, read once per run of
    plain hand-offs (any other outcome may change the row: a sender blocked)."""

    scope: TenantScope
    tenant: Tenant
    policy: Policy
    blocked: dict[str, str]
    limits: throttle.Limits

    @classmethod
    def read(cls, uow: UnitOfWork, tenant_id: str, policy: Policy) -> _TenantView:
        scope = uow.tenant(tenant_id)
        tenant = scope.tenant()
        return cls(
            scope,
            tenant,
            policy.for_tenant(tenant),
            blocked_senders(tenant),
            throttle.Limits.from_settings(tenant.settings),
        )


def _unclaimed(msg: Claimed) -> int:
    """A deferral is not an attempt: the claim's increment is taken back."""
    return max(msg.attempts - 1, 0)


def _stop_code(msg: Claimed, view: _TenantView, now: datetime) -> str | None:
    """The late cutoff, the validity period and a blocked sender; None when none applies."""
    if msg.appointment_starts_at is not None and now >= msg.appointment_starts_at:
        return "appointment_passed"
    if now - msg.send_at > view.policy.validity:
        return "validity_expired"
    if msg.from_phone and msg.from_phone in view.blocked:
        return "sender_blocked"
    return None


def _stop_before_carrier(
    scope: TenantScope, msg: Message, code: str, view: _TenantView, now: datetime
) -> Status:
    """Cancel or fail a message :func:`_stop_code` keeps from the carrier."""
    if code == "appointment_passed":
        msg.status = Status.CANCELED.value
        reason = _reason(
            "appointment_passed",
            "R-E-01",
            "Not sent: the appointment it is about has already begun.",
            "Nothing to do; a reminder after the appointment is worse than none.",
        )
    elif code == "validity_expired":
        msg.status = Status.FAILED.value
        reason = _reason(
            "validity_expired",
            "R-E-02",
            f"Not sent: it waited more than {view.policy.validity} past its send time.",
            "Send it again if it still matters.",
        )
    else:
        assert msg.from_phone is not None
        msg.status = Status.FAILED.value
        msg.error_code = view.blocked[msg.from_phone]
        reason = _reason(
            "sender_blocked",
            "R-E-02",
            "Not sent: the carrier blocks this sending number (toll-free not verified or "
            "10DLC campaign not registered).",
            "Complete the number's verification or registration, then send again.",
        )
    msg.reasons = [*(msg.reasons or []), reason]
    _event(scope, msg, msg.status, now, stage="handoff", reason=code)
    return Status(msg.status)


@dataclass(frozen=True, slots=True)
class Handoff:
    """A claimed message ready for its carrier: what the dispatcher sends, outside any
    transaction, once :func:`frontdesk.storage.claims.release` has released it."""

    tenant_id: str
    token: str
    sms: OutboundSms

    @property
    def id(self) -> str:
        return self.sms.message_id


@dataclass
class ClaimBatch:
    """One claim transaction's work: the outcomes decided in it, the hand-offs to make."""

    result: BatchResult
    token: str
    ready: list[Handoff] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a hand-off: the carrier's answer, or None when the claim was fenced
    (a revocation committed before its release; nothing was sent)."""

    handoff: Handoff
    sent: SendResult | None
    provider: str


def claim_batch(
    uow: UnitOfWork,
    provider_name: str,
    now: datetime,
    limit: int,
    token: str,
    policy: Policy = DEFAULT_POLICY,
    accounts: dict[str, str] | None = None,
    provider_for_account: Callable[[str | None], str] | None = None,
) -> ClaimBatch:
    """The outbox's claim (issue 12): claim up to ``limit`` due messages, re-run the gate
    with fresh facts and decide each one; those the gate still allows are marked claimed
    by ``token`` and returned to be sent after this transaction commits.

    The facts of all claimed messages are read at once (:func:`_load_facts`).
    A message whose outcome is not a hand-off may change what later messages to the
    same number see (a suppression, a new ``send_at``): those later messages are
    re-checked with :func:`facts.gather` after the flush, as before.

    The claimed rows are read as columns (:class:`Claimed`), not ORM objects, and
    their outcomes are written as bulk row updates (:class:`MessageUpdates`) and
    queued events. A hand-off changes nothing another message's facts read
    (``queued`` and ``sending`` are both live to them; the shaper counts this
    batch's hand-offs itself, and ``handed_off_at`` set here counts them for the
    next claim), so the hand-offs are written together, each with its claim's
    marking (:func:`claim_due_rows`), at the end or before the next other outcome.
    Every other outcome — blocked, deferred, throttled, stopped — is written at
    once, so the next re-check sees it.

    ``accounts`` maps a sending number to the tenant's carrier account it sends
    through; a number without one uses the platform's default account.
    ``provider_for_account`` names the provider a message sent through an account is
    recorded under (status callbacks are matched on it); ``provider_name`` otherwise.
    """
    batch = ClaimBatch(BatchResult(), token)
    result = batch.result
    writes = MessageUpdates()
    rows = _one_claim_per_recipient(uow, claim_due_rows(uow.session, now, limit, writes), writes)
    result.claimed = len(rows)
    shaper = _Shaper(uow.session)
    facts = _load_facts(uow, rows, now) if len(rows) > 1 else {}
    views: dict[str, _TenantView] = {}
    changed: set[tuple[str, str]] = set()
    for msg in rows:
        key = (msg.tenant_id, msg.to_phone)
        known = None if key in changed else facts.get(msg.tenant_id)
        view = views.get(msg.tenant_id)
        if view is None:
            view = views[msg.tenant_id] = _TenantView.read(uow, msg.tenant_id, policy)
        if _decide(uow, msg, now, view, shaper, result, writes, known):
            account = accounts.get(msg.from_phone or "") if accounts else None
            writes.set(
                msg.id,
                claim_token=token,
                claimed_at=now,
                released_at=None,
                handed_off_at=now,
                provider=provider_for_account(account) if provider_for_account else provider_name,
                updated_at=now,
            )
            batch.ready.append(
                Handoff(
                    msg.tenant_id,
                    token,
                    OutboundSms(
                        message_id=msg.id,
                        to=msg.to_phone,
                        sender=msg.from_phone,
                        body=msg.body,
                        media_urls=tuple(msg.media_urls or ()),
                        account=account,
                    ),
                )
            )
        else:
            writes.write(uow.session)
            uow.session.flush()
            changed.add(key)
            views.clear()
    writes.write(uow.session)
    return batch


def _one_claim_per_recipient(
    uow: UnitOfWork, rows: list[Claimed], writes: MessageUpdates
) -> list[Claimed]:
    """A recipient's messages are in at most one claim at a time.

    The dispatcher sends one claim's messages to a recipient in order, one at a time,
    and gives the rest back after an answer that changes the recipient's facts (a
    21610 records an opt-out, T-12): so a recipient's messages reach the carrier in
    order, and none decided before such an answer is sent after it. Messages to a
    recipient still in an earlier claim are left queued for a later round, their
    claim undone.
    """
    if not rows:
        return rows
    busy = claims.recipients_in_flight(uow.session)
    kept: list[Claimed] = []
    back: list[str] = []
    for row in rows:
        if (row.tenant_id, row.to_phone) in busy:
            back.append(row.id)
            continue
        kept.append(row)
    if back:
        if uow.dialect == "postgresql":
            claims.put_back(uow.session, back)
        else:
            for message_id in back:
                writes.discard(message_id)
    return kept


def _decide(
    uow: UnitOfWork,
    msg: Claimed,
    now: datetime,
    view: _TenantView,
    shaper: _Shaper,
    result: BatchResult,
    writes: MessageUpdates,
    batch: facts_service.BatchFacts | None = None,
) -> bool:
    """Decide one claimed message; True when it is to be handed off.

    Outcomes other than a hand-off are rare; those that read or change more than a
    few columns (a stop before the carrier) work on the full ORM row, loaded after
    every pending row update is written.
    """
    scope = view.scope
    stop = _stop_code(msg, view, now)
    if stop is not None:
        writes.write(uow.session)
        full = load_message(uow.session, msg.id)
        full.updated_at = now
        if _stop_before_carrier(scope, full, stop, view, now) is Status.CANCELED:
            result.canceled += 1
        else:
            result.failed += 1
        return False
    decision = recheck(uow, msg, now, batch)
    if not decision.allowed:
        writes.set(
            msg.id,
            status=Status.BLOCKED.value,
            reasons=[r.as_dict() for r in decision.reasons],
            updated_at=now,
        )
        _event(scope, msg, Status.BLOCKED.value, now, stage="handoff", reasons=list(decision.codes))
        scope.audit(
            now, "worker", "message.blocked_at_handoff", msg.id, {"reasons": list(decision.codes)}
        )
        result.blocked += 1
        return False
    if decision.send_at > now:
        writes.set(
            msg.id,
            attempts=_unclaimed(msg),
            status=Status.SCHEDULED.value,
            send_at=decision.send_at,
            reasons=[r.as_dict() for r in decision.reasons],
            updated_at=now,
        )
        _event(
            scope,
            msg,
            Status.SCHEDULED.value,
            now,
            stage="handoff",
            deferred_to=str(decision.send_at),
        )
        result.deferred += 1
        return False
    limits = view.limits
    if limits.any:
        slot = shaper.next_allowed(msg, limits, now)
        if slot > now:
            writes.set(
                msg.id,
                attempts=_unclaimed(msg),
                status=Status.QUEUED.value,
                send_at=slot,
                updated_at=now,
            )
            shaper.reserve(msg, limits, slot, handed_off=False)
            result.throttled += 1
            return False
        shaper.reserve(msg, limits, now, handed_off=True)
    result.handed_off += 1
    return True


def record_outcomes(
    uow: UnitOfWork, outcomes: Sequence[Outcome], now: datetime, policy: Policy = DEFAULT_POLICY
) -> BatchResult:
    """Write what the carrier answered for released hand-offs, in one short transaction.

    Only rows still held by the hand-off's claim are written (a claim settled by
    :func:`recover_claims` meanwhile is left as it was). An accepted send records
    its provider id and the ``sending`` event; a refused one is a failed attempt
    (:func:`after_failure`: retried with backoff when its class allows, never for a
    permanent error). A fenced claim needs nothing: the fence already wrote it back.
    """
    result = BatchResult()
    sent = [o for o in outcomes if o.sent is not None]
    held = claims.held_by_claim(uow.session, [(o.handoff.id, o.handoff.token) for o in sent])
    writes = MessageUpdates()
    failed: list[Outcome] = []
    for outcome in sent:
        assert outcome.sent is not None
        if outcome.handoff.id not in held:
            continue
        if not outcome.sent.accepted:
            failed.append(outcome)
            continue
        writes.set(
            outcome.handoff.id,
            provider=outcome.provider,
            provider_message_id=outcome.sent.provider_message_id,
            claim_token=None,
            error_code=None,
            updated_at=now,
        )
        uow.tenant(outcome.handoff.tenant_id).add_event(
            outcome.handoff.id,
            Status.SENDING.value,
            now,
            {"stage": "handoff"},
            provider=outcome.provider,
            provider_message_id=outcome.sent.provider_message_id,
        )
        result.handed_off += 1
    writes.write(uow.session)
    for outcome in failed:
        assert outcome.sent is not None
        scope = uow.tenant(outcome.handoff.tenant_id)
        full = load_message(uow.session, outcome.handoff.id)
        full.updated_at = now
        full.provider = outcome.provider
        full.claim_token = None
        full.handed_off_at = None
        status = after_failure(
            scope,
            full,
            outcome.sent.error_code,
            now,
            policy=policy,
            detail=outcome.sent.error_message,
        )
        uow.session.flush()
        if status is Status.QUEUED:
            result.retried += 1
        else:
            result.failed += 1
    result.canceled = len(outcomes) - len(sent)
    return result


LOST_IN_FLIGHT = "lost_in_flight"


def recover_claims(
    uow: UnitOfWork,
    stale: Sequence[claims.StaleClaim],
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> int:
    """Guarantee 2 across a crash between claim and outcome (a worker killed mid-send).

    A claim never released was never sent: it goes back to ``queued`` as it was, and
    the next hand-off's re-check decides it again. A released claim whose outcome was
    never written may or may not be at the carrier: it is queued again at once as an
    attempt of unknown outcome (bounded by the attempts and the validity period,
    re-checked by the gate first), so duplicates are bounded by what was in flight
    at the crash. Returns how many were settled.
    """
    settled = 0
    for claim in stale:
        if not claim.released:
            settled += claims.unclaim(uow.session, [claim.id], claim.token, now)
            continue
        full = load_message(uow.session, claim.id)
        if full.claim_token != claim.token or full.status != Status.SENDING.value:
            continue
        scope = uow.tenant(claim.tenant_id)
        full.claim_token = None
        full.handed_off_at = None
        full.updated_at = now
        detail = f"{LOST_IN_FLIGHT}: the worker stopped before the carrier's answer was stored"
        if full.attempts >= policy.for_tenant(scope.tenant()).max_attempts:
            after_failure(scope, full, None, now, policy=policy, detail=detail)
        else:
            # The carrier did not fail: the worker died. Queued again at once, the attempt
            # counted; the next hand-off re-checks it (and its validity period) first.
            full.status = Status.QUEUED.value
            full.send_at = now
            _event(scope, full, full.status, now, stage="recovered", error=detail)
        uow.session.flush()
        settled += 1
    return settled
