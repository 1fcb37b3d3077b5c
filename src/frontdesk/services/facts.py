"""Gather the gate's facts from storage: the one place that reads them for a decision.

Two ways in, with the same answers (``tests/services/test_batch_facts.py`` proves it):

* :func:`gather` — one decision, a few queries per message; the reference.
* :func:`gather_many` / :class:`BatchFacts` — many decisions, a handful of
  ``IN (...)`` queries for all recipients; the batch route and the hand-off loop
  use it (issue 4: thousands of messages per second on two cores).

Both ways take the message's sender: at accept the one named or chosen
(:func:`default_sender`), at hand-off the one stored then, so the sender rules
(R-R-01, R-R-02, R-R-05, R-CT-05) judge the same number both times (issue 12).

Tenant-level facts (tenant row, sending numbers, policy acceptance, enforcement, the
sender's campaign, the sender chosen per category) are memoised for the rest of the
transaction (:mod:`frontdesk.storage.txmemo`). That is safe because numbers, policy
and campaigns change in other requests, i.e. other transactions, and a transaction
never sees another's writes mid-way on SQLite (it holds the write lock) and reads
them only at its own risk on PostgreSQL exactly as before (the old code read them
once per message within the same transaction too). A write of any of those rows
within the transaction drops the memo, and the tenant row's own fields are compared
on every use.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from frontdesk.domain import gate, healthcare, quiet_hours
from frontdesk.domain.campaigns import SenderCampaign, choose_sender
from frontdesk.domain.consent import ConsentState
from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.services import policy, registration
from frontdesk.services import settings as settings_service
from frontdesk.services.consents import current_state, folded
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage import txmemo
from frontdesk.storage.models import Contact, Suppression, Tenant
from frontdesk.storage.uow import TenantScope

WINDOW = timedelta(hours=24)
EXEMPT_WINDOW = healthcare.WEEK  # R-C-07: exempt sends this close count toward the limits
# R-Q-04: the caps never count these, so their rows are not read (bounded queries).
UNCOUNTED = tuple(sorted(c.value for c in gate.UNCAPPED))
CONFIRMATION = Category.OPT_OUT_CONFIRMATION.value


# --------------------------------------------------------------------------- tenant level


@dataclass
class _TenantMemo:
    snapshot: tuple[Any, ...]
    facts: gate.TenantFacts | None = None
    numbers: tuple[str, ...] | None = None
    campaigns: dict[str, SenderCampaign | None] = field(default_factory=dict)
    every_campaign: bool = False  # ``campaigns`` holds every sending number's
    chosen: dict[Category, str | None] = field(default_factory=dict)


def _snapshot(tenant: Tenant) -> tuple[Any, ...]:
    return (tenant.name, tenant.status, tenant.timezone, tenant.settings)


def _memo(scope: TenantScope, tenant: Tenant) -> _TenantMemo:
    memos = txmemo.memo(scope.session, "tenant_facts")
    found: _TenantMemo | None = memos.get(scope.tenant_id)
    if found is None or found.snapshot != _snapshot(tenant):
        found = _TenantMemo(snapshot=copy.deepcopy(_snapshot(tenant)))
        memos[scope.tenant_id] = found
    return found


def sending_numbers(scope: TenantScope, tenant: Tenant) -> tuple[str, ...]:
    """The tenant's sending numbers in creation order, read once per transaction."""
    memo = _memo(scope, tenant)
    if memo.numbers is None:
        memo.numbers = tuple(n.number for n in scope.sending_numbers())
    return memo.numbers


def tenant_facts(scope: TenantScope, tenant: Tenant) -> gate.TenantFacts:
    memo = _memo(scope, tenant)
    if memo.facts is not None:
        return memo.facts
    settings: dict[str, Any] = tenant.settings or {}
    enforced = registration.enforcement(tenant)
    memo.facts = gate.TenantFacts(
        name=tenant.name,
        suspended=tenant.status == "suspended",
        timezone=tenant.timezone,
        numbers=frozenset(sending_numbers(scope, tenant)),
        allowed_link_domains=frozenset(settings.get("allowed_link_domains", ())),
        frequency_cap=int(settings.get("frequency_cap", 3)),
        missed_call_in_quiet_hours=bool(settings.get("missed_call_in_quiet_hours", False)),
        reply_exemption_minutes=int(settings.get("reply_exemption_minutes", 15)),
        informational_window=_informational_window(settings),
        hipaa_exempt_mode=bool(settings.get("hipaa_exempt_mode", False)),
        registration_required=enforced.require_registration,
        policy_accepted=not enforced.require_policy or policy.is_accepted(scope),
    )
    return memo.facts


def _informational_window(settings: dict[str, Any]) -> tuple[int, int] | None:
    """The stored R-Q-02 window, validated when it was saved; one that no longer parses
    is ignored, leaving the federal and state rules (which it could only narrow)."""
    text = settings.get("informational_window")
    if not text:
        return None
    try:
        return settings_service.window_minutes(str(text))
    except ValueError:
        return None


def sender_campaign(
    scope: TenantScope, tenant: Tenant, sender: str | None
) -> SenderCampaign | None:
    """R-R-01/R-R-05/R-CT-05 facts about the sender, read once per sender per transaction."""
    if sender is None:
        return None
    memo = _memo(scope, tenant)
    if sender not in memo.campaigns:
        memo.campaigns[sender] = registration.sender_campaign(scope, sender)
    return memo.campaigns[sender]


def default_sender(scope: TenantScope, tenant: Tenant, category: Category) -> str | None:
    """The sending number for a ``category`` message whose caller names none (R-R-01,
    R-R-05, R-CT-05): :func:`domain.campaigns.choose_sender` over the tenant's numbers
    in registration order, so with registration enforced it is one whose campaign is
    approved and carries the category whenever the tenant has one. Read once per
    category per transaction; None when the tenant has no sending number."""
    tfacts = tenant_facts(scope, tenant)
    numbers = sending_numbers(scope, tenant)
    memo = _memo(scope, tenant)
    if category in memo.chosen:
        return memo.chosen[category]
    if not memo.every_campaign:
        found = registration.sender_campaigns(scope)
        memo = _memo(scope, tenant)  # the query's autoflush may have dropped the memo
        memo.campaigns.update(found)
        memo.every_campaign = True
    candidates = [c for c in (memo.campaigns.get(n) for n in numbers) if c is not None]
    chosen = choose_sender(candidates, category, registration_required=tfacts.registration_required)
    memo.chosen[category] = chosen.number if chosen is not None else None
    return memo.chosen[category]


def _sender_owned(tfacts: gate.TenantFacts, sender: str | None) -> bool:
    """R-R-02: the message goes out from one of the tenant's own numbers (or from none,
    which the registration rules judge); the same answer at accept and at hand-off."""
    return sender is None or sender in tfacts.numbers


# --------------------------------------------------------------------------- one message


_CATEGORIES = {c.value: c for c in Category}


def _recent(
    rows: Sequence[tuple[datetime, str, str | None]], fewest: int
) -> tuple[gate.RecentSend, ...]:
    """ContactFacts.recent: the window's capped sends, oldest first, or none at all
    when there are fewer than ``fewest`` (:func:`gate.fewest_that_cap`)."""
    if len(rows) < fewest:
        return ()
    return tuple(
        gate.RecentSend(at=send_at, category=_CATEGORIES[cat], subject=subject or cat)
        for send_at, cat, subject in sorted(rows, key=lambda r: (r[0], r[1], r[2] or ""))
    )


def _fewest_that_cap(tfacts: gate.TenantFacts, e164: str, row: Any) -> int:
    return gate.fewest_that_cap(
        tfacts,
        quiet_hours.Recipient(
            e164=e164,
            state=row.state if row else None,
            postal_code=row.postal_code if row else None,
            timezone=row.timezone if row else None,
        ),
    )


# R-E-03: the carrier said the number cannot take texts (30005 unknown, 30006 landline).
LINE_SUPPRESSIONS: dict[str, str] = {"carrier_invalid": "invalid", "carrier_landline": "landline"}


def _opt_outs(suppressions: Sequence[Suppression]) -> list[Suppression]:
    return [s for s in suppressions if s.reason not in LINE_SUPPRESSIONS]


def _line_status(suppressions: Sequence[Suppression]) -> str | None:
    return next(
        (LINE_SUPPRESSIONS[s.reason] for s in suppressions if s.reason in LINE_SUPPRESSIONS), None
    )


def _suppression_scope(suppressions: Sequence[Suppression]) -> str:
    if suppressions and all(s.scope == "marketing" for s in suppressions):
        return "marketing"
    return "all"


def _contact_facts(
    suppressions: Sequence[Suppression],
    under_review: bool,
    consent: ConsentState,
    confirmations: int,
    row: Contact | None,
    *,
    first_message: bool,
    recent: tuple[gate.RecentSend, ...],
    last_notice: datetime | None,
    exempt_sends: tuple[datetime, ...] = (),
) -> gate.ContactFacts:
    """The one place that turns a recipient's rows into the gate's ContactFacts."""
    opt_outs = _opt_outs(suppressions)
    return gate.ContactFacts(
        opted_out=bool(opt_outs),
        opted_out_scope=_suppression_scope(opt_outs),
        not_sms_capable=_line_status(suppressions),
        under_review=under_review,
        consent=consent,
        confirmations_for_revocation=confirmations,
        state=row.state if row else None,
        postal_code=row.postal_code if row else None,
        timezone=row.timezone if row else None,
        last_inbound_at=row.last_inbound_at if row else None,
        first_message=first_message,
        recent=recent,
        last_opt_out_notice_at=last_notice,
        exempt_sends=exempt_sends,
    )


def gather(
    scope: TenantScope,
    tenant: Tenant,
    e164: str | None,
    now: datetime,
    exclude_message_id: str | None = None,
    at: datetime | None = None,
    sender: str | None = None,
) -> gate.Facts:
    """Facts for one decision; ``at`` is when the message would leave (for rolling caps).

    ``recent`` holds only the categories the caps count (R-Q-04), oldest first.
    """
    suppressions: Sequence[Suppression] = ()
    if e164 is not None:  # read before the memo: the query's autoflush may invalidate it
        suppressions = scope.active_suppressions(e164)
    tfacts = tenant_facts(scope, tenant)
    campaign = sender_campaign(scope, tenant, sender)
    owned = _sender_owned(tfacts, sender)
    if e164 is None:
        return gate.Facts(tenant=tfacts, sender_owned=owned, sender_campaign=campaign)
    at = at or now
    consent: ConsentState = current_state(scope, e164)
    confirmations = 0
    if consent.revoked_at is not None:
        confirmations = scope.confirmations_since(e164, consent.revoked_at, exclude_message_id)
    row = scope.contact(e164)
    recent = _recent(
        scope.sends_around(
            e164, at - WINDOW, at + WINDOW, exclude_message_id, skip_categories=UNCOUNTED
        ),
        _fewest_that_cap(tfacts, e164, row),
    )
    contact = _contact_facts(
        suppressions,
        bool(scope.pending_reviews(e164)),
        consent,
        confirmations,
        row,
        first_message=not scope.has_outbound_to(e164, exclude_message_id),
        recent=recent,
        last_notice=scope.last_opt_out_notice(e164),
        exempt_sends=tuple(
            scope.exempt_sends(e164, at - EXEMPT_WINDOW, at + EXEMPT_WINDOW, exclude_message_id)
        )
        if tfacts.hipaa_exempt_mode
        else (),
    )
    return gate.Facts(tenant=tfacts, contact=contact, sender_owned=owned, sender_campaign=campaign)


# --------------------------------------------------------------------------- many messages


@dataclass(frozen=True)
class FactsRequest:
    """One decision to gather facts for: recipient, when it would leave, itself (to
    leave out when it is already stored) and the sending number."""

    e164: str | None
    at: datetime
    exclude_id: str | None = None
    sender: str | None = None


@dataclass
class _Send:
    id: str | None
    send_at: datetime
    created_at: datetime
    category: str
    subject: str | None


@dataclass
class _Recipient:
    suppressions: list[Suppression] = field(default_factory=list)
    consent_rows: list[Any] = field(default_factory=list)
    consent: ConsentState | None = None
    contact: Any = None  # a contacts_for row, or the Contact this batch created
    under_review: bool = False
    live: int = 0
    live_ids: tuple[str, str] | None = None
    requests: int = 0  # decisions of this batch for the number: each may add a send
    windowed: int = 0  # stored capped sends inside the batch's window (counted, not read)
    history: bool = False  # ``capped`` holds the stored sends, not only this batch's
    fewest: tuple[object, object, int] | None = None  # (tenant facts, contact row, value)
    capped: list[_Send] = field(default_factory=list)
    confirmations: list[_Send] = field(default_factory=list)
    notice_at: datetime | None = None  # latest live send that said how to opt out
    exempt: list[tuple[str, datetime]] = field(default_factory=list)  # (id, send_at), R-C-07


class BatchFacts:
    """The gate's facts for many decisions of one tenant, read with a few queries.

    :meth:`note_sent` records a message accepted by an earlier decision of the
    same batch, so later decisions count it exactly as :func:`gather` would after
    that message was stored: toward the caps (R-Q-04, R-Q-03), the first-message
    rules (R-C-06 disclosures), the opt-out confirmation count (R-FCC-06) and the
    latest opt-out instructions (R-K-08 monthly re-notice).

    A number's stored send history is read only when it could matter: the capped
    sends inside the batch's window are counted first, and their rows are read
    only when that count plus this batch's own decisions for the number could reach
    :func:`gate.fewest_that_cap`; the confirmations only when the number's consent
    is revoked and it has any. Below that, :func:`gather` leaves ``recent`` empty
    too, so the two give equal facts.
    """

    def __init__(
        self, scope: TenantScope, tenant: Tenant, requests: Sequence[FactsRequest], now: datetime
    ) -> None:
        self.scope = scope
        self.tenant = tenant
        self.now = now
        # What the caller worked out per command before the reads: messages.prepare_batch
        # keeps (command, plan) here by the command's identity, so it is not redone.
        self.plans: dict[int, tuple[object, object]] = {}
        self._by_phone: dict[str, _Recipient] = {}
        self._start, self._end = now - WINDOW, now + WINDOW
        times: list[datetime] = []
        for r in requests:
            if r.e164 is not None:
                rec = self._by_phone.get(r.e164)
                if rec is None:
                    rec = self._by_phone[r.e164] = _Recipient()
                rec.requests += 1
                times.append(r.at)
        if times:
            self._start, self._end = min(times) - WINDOW, max(times) + WINDOW
            self._load()

    def _load(self) -> None:
        scope, by = self.scope, self._by_phone
        phones = by.keys()
        for s in scope.active_suppressions_for(phones):
            by[s.phone].suppressions.append(s)
        for c in scope.consent_events_for(phones):
            by[c.phone].consent_rows.append(c)
        for contact in scope.contacts_for(phones):
            by[contact.phone].contact = contact
        for phone in scope.phones_under_review(phones):
            by[phone].under_review = True
        counts = scope.live_counts_for(
            phones,
            skip_categories=UNCOUNTED,
            start=self._start,
            end=self._end,
            confirmation=CONFIRMATION,
        )
        tfacts = tenant_facts(scope, self.tenant)
        history: list[str] = []
        confirmed: list[str] = []
        for phone, rec in by.items():
            rec.consent = folded(rec.consent_rows)
            found = counts.get(phone)
            if found is None:
                rec.history = True  # nothing stored: the (empty) history is complete
                continue
            rec.live, rec.live_ids = found.live, (found.low, found.high)
            rec.windowed = found.windowed
            rec.notice_at = found.notice_at
            if found.windowed and found.windowed + rec.requests >= self._fewest(
                tfacts, phone, rec
            ):
                history.append(phone)
            else:
                rec.history = not found.windowed
            if found.confirmations and rec.consent.revoked_at is not None:
                confirmed.append(phone)
        if history:
            self._read_history(history)
        exempt = [p for p, n in counts.items() if n.exempt] if tfacts.hipaa_exempt_mode else []
        if exempt:
            lo = self._start + WINDOW - EXEMPT_WINDOW
            hi = self._end - WINDOW + EXEMPT_WINDOW
            for phone, mid, send_at in scope.exempt_sends_for(exempt, lo, hi):
                by[phone].exempt.append((mid, send_at))
        if confirmed:
            for phone, mid, send_at, created, cat, subject in scope.live_sends_for(
                confirmed, categories=(CONFIRMATION,)
            ):
                by[phone].confirmations.append(_Send(mid, send_at, created, cat, subject))

    @staticmethod
    def _fewest(tfacts: gate.TenantFacts, phone: str, rec: _Recipient) -> int:
        """:func:`gate.fewest_that_cap` for the number, once per batch unless the tenant
        facts or the contact row it was worked out from have been replaced."""
        known = rec.fewest
        if known is not None and known[0] is tfacts and known[1] is rec.contact:
            return known[2]
        value = _fewest_that_cap(tfacts, phone, rec.contact)
        rec.fewest = (tfacts, rec.contact, value)
        return value

    def _read_history(self, phones: Sequence[str]) -> None:
        """Read the stored capped sends of ``phones`` inside the batch's window, keeping
        what :meth:`note_sent` already added (a stored row of this batch is one of them)."""
        by = self._by_phone
        for phone in phones:
            by[phone].history = True
        for phone, mid, send_at, created, cat, subject in self.scope.live_sends_for(
            phones, skip_categories=UNCOUNTED, start=self._start, end=self._end
        ):
            rec = by[phone]
            if all(s.id != mid for s in rec.capped):
                rec.capped.append(_Send(mid, send_at, created, cat, subject))

    def facts(self, request: FactsRequest) -> gate.Facts:
        tfacts = tenant_facts(self.scope, self.tenant)
        campaign = sender_campaign(self.scope, self.tenant, request.sender)
        owned = _sender_owned(tfacts, request.sender)
        if request.e164 is None:
            return gate.Facts(tenant=tfacts, sender_owned=owned, sender_campaign=campaign)
        rec = self._by_phone[request.e164]
        consent = rec.consent or ConsentState()
        excl = request.exclude_id
        confirmations = 0
        if consent.revoked_at is not None:
            since = consent.revoked_at
            confirmations = sum(
                1 for s in rec.confirmations if s.created_at >= since and s.id != excl
            )
        at = request.at
        row = rec.contact
        fewest = self._fewest(tfacts, request.e164, rec)
        if not rec.history and rec.windowed + len(rec.capped) >= fewest:
            # more sends than this batch's decisions, or a setting changed meanwhile
            self._read_history([request.e164])
        recent = _recent(
            [
                (s.send_at, s.category, s.subject)
                for s in rec.capped
                if s.id != excl and at - WINDOW < s.send_at < at + WINDOW
            ],
            fewest,
        )
        contact = _contact_facts(
            rec.suppressions,
            rec.under_review,
            consent,
            confirmations,
            row,
            first_message=not self._has_outbound(rec, excl),
            recent=recent,
            last_notice=rec.notice_at,
            exempt_sends=tuple(
                sorted(
                    s
                    for mid, s in rec.exempt
                    if mid != excl and at - EXEMPT_WINDOW < s < at + EXEMPT_WINDOW
                )
            )
            if tfacts.hipaa_exempt_mode
            else (),
        )
        return gate.Facts(
            tenant=tfacts, contact=contact, sender_owned=owned, sender_campaign=campaign
        )

    @staticmethod
    def _has_outbound(rec: _Recipient, excl: str | None) -> bool:
        if rec.live >= 2:
            return True
        if rec.live == 1:
            return rec.live_ids is None or rec.live_ids[0] != excl
        return False

    def ensure_contact(self, e164: str, now: datetime) -> None:
        """:func:`services.contacts.ensure_contact` without a query or a flush per
        message: every recipient's contact row was read when the batch was loaded."""
        rec = self._by_phone.get(e164)
        if rec is None:
            ensure_contact(self.scope, e164, now)
            return
        if rec.contact is None:
            rec.contact = Contact(
                id=new_id("con"),
                tenant_id=self.scope.tenant_id,
                phone=e164,
                created_at=now,
                updated_at=now,
                version=0,
            )
            self.scope.add(rec.contact)

    def note_sent(
        self,
        e164: str,
        message_id: str,
        send_at: datetime,
        created_at: datetime,
        category: str,
        subject: str | None,
        *,
        notice: bool = False,
        exempt: bool = False,
    ) -> None:
        """A live (not blocked, not canceled) message to ``e164`` was just stored;
        ``notice``: its body says how to opt out; ``exempt``: it went under the
        healthcare exemption (R-C-07)."""
        rec = self._by_phone.get(e164)
        if rec is None:
            rec = self._by_phone[e164] = _Recipient(consent=ConsentState())
        sent = _Send(message_id, send_at, created_at, category, subject)
        if notice and (rec.notice_at is None or send_at > rec.notice_at):
            rec.notice_at = send_at
        if exempt:
            rec.exempt.append((message_id, send_at))
        rec.live += 1
        rec.live_ids = None  # two or more now, or one that is not anyone's "self"
        if category not in UNCOUNTED:
            rec.capped.append(sent)
        if category == CONFIRMATION:
            rec.confirmations.append(sent)


def gather_many(
    scope: TenantScope, tenant: Tenant, requests: Sequence[FactsRequest], now: datetime
) -> list[gate.Facts]:
    """Facts for many independent decisions, equal to calling :func:`gather` for each
    against the same stored state (no decision sees another's message)."""
    batch = BatchFacts(scope, tenant, requests, now)
    return [batch.facts(r) for r in requests]
