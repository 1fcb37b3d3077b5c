"""The consent ledger's rules: what a valid grant needs, and current state by folding events.

Consent events are append-only (mission §1): a revocation is a new event, never an
edit. :func:`fold` turns the ordered events of one (tenant, number) into the
current :class:`ConsentState` that the gate reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from frontdesk.domain.messages import COMPLIANCE_REPLIES, Category


class Scope(StrEnum):
    INFORMATIONAL = "informational"
    MARKETING = "marketing"


class Method(StrEnum):
    WEB_FORM = "web_form"
    SMS_KEYWORD = "sms_keyword"
    VERBAL = "verbal"
    PAPER = "paper"
    INBOUND_CALL = "inbound_call"
    INBOUND_SMS = "inbound_sms"
    IMPORT = "import"


class EventKind(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


# R-C-03: forms of electronic signature accepted for PEWC. Verbal consent and a
# call are not writing; an import must carry the original evidence.
WRITTEN_METHODS: frozenset[Method] = frozenset(
    {Method.WEB_FORM, Method.PAPER, Method.SMS_KEYWORD, Method.INBOUND_SMS, Method.IMPORT}
)

# R-FCC-07: methods that prove an affirmative act *by the recipient*, and so may
# lift an earlier opt-out when captured after it. Verbal notes and imports,
# which the business writes itself, never lift a STOP.
RECIPIENT_ACT_METHODS: frozenset[Method] = frozenset(
    {Method.WEB_FORM, Method.PAPER, Method.SMS_KEYWORD, Method.INBOUND_SMS}
)

# R-C-05: consent cannot be bought, rented, shared or scraped.
FORBIDDEN_SOURCES: frozenset[str] = frozenset(
    {"purchased", "bought", "list_rental", "rented", "rental", "scraped", "shared", "third_party"}
)

INFORMATIONAL_CATEGORIES: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.MISSED_CALL_FOLLOWUP,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
        Category.CONVERSATION,
    }
)


def scope_for(category: Category) -> Scope | None:
    """The consent scope a category needs; ``None`` for compliance replies (R-FCC-03, R-K-03)."""
    if category in COMPLIANCE_REPLIES:
        return None
    if category is Category.MARKETING:
        return Scope.MARKETING
    return Scope.INFORMATIONAL


@dataclass(frozen=True, slots=True)
class EvidenceProblem:
    field: str
    code: str
    message: str


def _text(evidence: Mapping[str, object], key: str) -> str:
    value = evidence.get(key)
    return value.strip() if isinstance(value, str) else ""


def validate_grant(
    scope: Scope,
    method: Method,
    evidence: Mapping[str, object],
    captured_at: datetime,
    now: datetime,
) -> tuple[EvidenceProblem, ...]:
    """Check a consent grant before it enters the ledger.

    R-C-02: marketing needs prior express *written* consent: the disclosure text the
    person agreed to plus a signature or form-submission record (``ip`` and
    ``user_agent``, or ``signature``; for a keyword or SMS reply, the inbound
    ``message_id``). R-C-03: a pre-checked box is not a signature. R-C-05: consent
    from purchased, rented, shared or scraped lists is void. A capture time in the
    future is refused (a ledger that can be back- or forward-dated proves nothing).
    """
    problems: list[EvidenceProblem] = []
    if captured_at.tzinfo is None:
        problems.append(
            EvidenceProblem("captured_at", "naive_time", "captured_at needs a UTC offset")
        )
    elif captured_at > now + timedelta(minutes=5):
        problems.append(
            EvidenceProblem(
                "captured_at", "future_time", "captured_at is in the future; give when it happened"
            )
        )
    source = _text(evidence, "source").lower()
    if source in FORBIDDEN_SOURCES:
        problems.append(
            EvidenceProblem(
                "evidence.source",
                "invalid_source",
                f"consent from a {source} list is not consent (R-C-05); collect it directly",
            )
        )
    checkbox = evidence.get("checkbox_default")
    if checkbox is True or (isinstance(checkbox, str) and checkbox.lower() in {"checked", "true"}):
        problems.append(
            EvidenceProblem(
                "evidence.checkbox_default",
                "prechecked_box",
                "a pre-checked box is not a signature (R-C-03); the box must start unchecked",
            )
        )
    if scope is Scope.MARKETING:
        if method not in WRITTEN_METHODS:
            problems.append(
                EvidenceProblem(
                    "method",
                    "marketing_requires_written_consent",
                    f"{method.value} consent is not written; marketing needs prior express "
                    "written consent (R-C-02): use web_form, paper, sms_keyword or inbound_sms",
                )
            )
        if not _text(evidence, "disclosure"):
            problems.append(
                EvidenceProblem(
                    "evidence.disclosure",
                    "missing_disclosure",
                    "marketing consent must carry the disclosure text the person agreed to "
                    "(R-C-02)",
                )
            )
        signed = bool(_text(evidence, "signature")) or (
            bool(_text(evidence, "ip")) and bool(_text(evidence, "user_agent"))
        )
        if method in {Method.SMS_KEYWORD, Method.INBOUND_SMS}:
            signed = signed or bool(_text(evidence, "message_id"))
        if not signed:
            problems.append(
                EvidenceProblem(
                    "evidence.signature",
                    "missing_signature",
                    "marketing consent needs a signature, or ip and user_agent of the form "
                    "submission, or the inbound message_id for a keyword reply (R-C-03)",
                )
            )
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    kind: EventKind
    scope: Scope | None  # None on a revocation means every scope (R-FCC-06 platform policy)
    method: Method | None
    at: datetime
    written: bool = False
    limited_to: frozenset[Category] | None = None
    recipient_act: bool = False
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScopeState:
    granted: bool = False
    written: bool = False
    since: datetime | None = None
    method: Method | None = None
    limited_to: frozenset[Category] | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentState:
    informational: ScopeState = field(default_factory=ScopeState)
    marketing: ScopeState = field(default_factory=ScopeState)
    revoked_at: datetime | None = None
    revoked_scope: Scope | None = None

    def covers(self, category: Category) -> bool:
        """True when the ledger holds consent for this category (R-C-01, R-C-02)."""
        needed = scope_for(category)
        if needed is None:
            return True
        if needed is Scope.MARKETING:
            return self.marketing.granted and self.marketing.written
        for state in (self.informational, self.marketing):
            if state.granted and (state.limited_to is None or category in state.limited_to):
                return True
        return False

    def covers_without_writing(self, category: Category) -> bool:
        """Consent exists for marketing but not in writing (to explain the refusal)."""
        return category is Category.MARKETING and (
            self.informational.granted or (self.marketing.granted and not self.marketing.written)
        )


def fold(events: Iterable[ConsentEvent]) -> ConsentState:
    """Current consent, from the append-only events in time order.

    R-FCC-06 platform policy: a revocation without a scope revokes everything. A
    marketing-only revocation ("stop the promos, reminders are fine") keeps the
    informational stream: if that was carried only by the marketing grant, the
    person's own words now grant it. PEWC for marketing also covers informational
    messages to the same number from the same seller (it is the stronger consent).
    """
    info = ScopeState()
    mkt = ScopeState()
    revoked_at: datetime | None = None
    revoked_scope: Scope | None = None
    for ev in sorted(events, key=lambda e: e.at):
        if ev.kind is EventKind.GRANTED:
            state = ScopeState(
                granted=True,
                written=ev.written,
                since=ev.at,
                method=ev.method,
                limited_to=ev.limited_to,
                event_id=ev.event_id,
            )
            if ev.scope is Scope.MARKETING:
                mkt = state
            else:
                # A limited grant (a missed call) never narrows a broader one.
                if not (info.granted and info.limited_to is None and ev.limited_to is not None):
                    info = state
        else:
            revoked_at = ev.at
            revoked_scope = ev.scope
            if ev.scope is Scope.MARKETING:
                if mkt.granted and not info.granted:
                    info = ScopeState(
                        granted=True,
                        written=False,
                        since=ev.at,
                        method=ev.method,
                        event_id=ev.event_id,
                    )
                mkt = ScopeState()
            else:
                info = ScopeState()
                mkt = ScopeState()
    return ConsentState(
        informational=info, marketing=mkt, revoked_at=revoked_at, revoked_scope=revoked_scope
    )
