"""R-C-07: healthcare texts a HIPAA covered entity may send without prior consent.

47 CFR 64.1200(a)(9)(iv) (FCC 20-186) exempts free-to-end-user healthcare texts
*only if all* its conditions hold; otherwise normal consent applies (R-C-01). The
platform applies the exemption only when the tenant has declared itself a covered
entity (``hipaa_exempt_mode``) *and* the sender asks for it on the message
(``healthcare_exempt``), never by itself, and an opt-out, a review or quiet hours
still stop the message like any other (R-FCC-02). The conditions, each checked:

* a healthcare purpose: appointment confirmations and reminders and service
  notifications (prescription notices, lab results, post-discharge follow-up);
  never marketing, solicitation, billing, debt collection or other financial
  content (:data:`FINANCIAL_TERMS`, and the content screen's promotional terms);
* concise: one GSM-7 segment, at most 160 characters;
* names the provider and gives contact information (a phone number or a link);
* offers the opt-out ("Reply STOP to opt out");
* at most one exempt message per day and three per week per patient, rolling
  (:func:`within_limits`).

"Sent only to the number the patient provided" is the tenant's to attest: the
platform texts the number the tenant gives it.

Pure: no I/O and no clock; ``at`` is when the message would leave.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from frontdesk.domain import segments
from frontdesk.domain.messages import Category

__all__ = [
    "EXEMPT_CATEGORIES",
    "FINANCIAL_TERMS",
    "MAX_CHARACTERS",
    "PER_DAY",
    "PER_WEEK",
    "unmet_conditions",
    "within_limits",
]

EXEMPT_CATEGORIES: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.SERVICE_NOTIFICATION,
    }
)
MAX_CHARACTERS = 160
PER_DAY = 1
PER_WEEK = 3
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

FINANCIAL_TERMS = re.compile(
    r"\b(?:bill(?:s|ed|ing)?|balance|payments?|pay|paid|invoices?|past[- ]due|overdue|"
    r"collections?|debt|owe[ds]?|co-?pays?|deductibles?|refunds?|charges?|fees?)\b|\$\s?\d",
    re.IGNORECASE,
)
"""R-C-07: no billing, debt collection or other financial content, in English and the
dollar sign; the content screen adds the promotional terms (R-CT-02)."""


def within_limits(exempt_sends: Sequence[datetime], at: datetime) -> str | None:
    """None when one more exempt message at ``at`` keeps the patient within one a day
    and three a week, counted over every rolling window that contains ``at``; else
    which limit it would break."""
    if any(abs(sent - at) < DAY for sent in exempt_sends):
        return f"more than {PER_DAY} exempt message in 24 hours"
    near = [s for s in exempt_sends if abs(s - at) < WEEK]
    # The fullest 7-day window holding ``at`` starts at ``at`` or at an earlier send.
    for start in [s for s in near if s <= at] + [at]:
        if sum(1 for s in near if start <= s < start + WEEK) + 1 > PER_WEEK:
            return f"more than {PER_WEEK} exempt messages in 7 days"
    return None


def unmet_conditions(
    body: str,
    category: Category,
    *,
    business_name: str,
    contact_info: bool,
    opt_out_language: bool,
    promotional_terms: Sequence[str],
    exempt_sends: Sequence[datetime],
    at: datetime,
) -> list[str]:
    """Every R-C-07 condition the message fails, in words; empty when it qualifies."""
    unmet: list[str] = []
    if category not in EXEMPT_CATEGORIES:
        unmet.append(f"{category.value} is not a healthcare message the exemption covers")
    count = segments.count(body)
    if count.encoding is not segments.Encoding.GSM7 or count.segments != 1:
        unmet.append(f"longer than {MAX_CHARACTERS} GSM-7 characters (one segment)")
    elif len(body) > MAX_CHARACTERS:
        unmet.append(f"longer than {MAX_CHARACTERS} characters")
    if business_name.strip().lower() not in body.lower():
        unmet.append(f"does not name the provider ({business_name})")
    if not contact_info:
        unmet.append("gives no contact information (a phone number or a link)")
    if not opt_out_language:
        unmet.append('does not offer the opt-out ("Reply STOP to opt out")')
    financial = FINANCIAL_TERMS.search(body)
    if financial or promotional_terms:
        found = financial.group(0) if financial else promotional_terms[0]
        unmet.append(f'has financial or promotional content ("{found}")')
    over = within_limits(exempt_sends, at)
    if over is not None:
        unmet.append(over)
    return unmet
