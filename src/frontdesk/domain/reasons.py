"""Reason codes: the stable vocabulary in which the gate explains itself.

Codes are part of the public API (``api.md``): add new ones, never rename.
Every reason carries the rule id from ``rules.md`` that it enforces, a
sentence for a person, and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    INVALID_NUMBER = "invalid_number"
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    MARKETING_REQUIRES_WRITTEN_CONSENT = "marketing_requires_written_consent"
    TENANT_SUSPENDED = "tenant_suspended"
    CAMPAIGN_NOT_APPROVED = "campaign_not_approved"
    CATEGORY_NOT_IN_CAMPAIGN = "category_not_in_campaign"
    PROHIBITED_CONTENT = "prohibited_content"
    PUBLIC_URL_SHORTENER = "public_url_shortener"
    MISSING_BUSINESS_NAME = "missing_business_name"
    MISSING_OPT_OUT_LANGUAGE = "missing_opt_out_language"
    FREQUENCY_CAP = "frequency_cap"
    QUIET_HOURS = "quiet_hours"
    BODY_TOO_LONG = "body_too_long"
    MEDIA_NOT_ALLOWED = "media_not_allowed"
    SENDER_NOT_OWNED = "sender_not_owned"
    POLICY_NOT_ACCEPTED = "policy_not_accepted"
    UNDER_REVIEW = "under_review"
    # Added beyond the first contract (documented in the served OpenAPI).
    EMBEDDED_LINK_NOT_IN_CAMPAIGN = "embedded_link_not_in_campaign"
    EMBEDDED_PHONE_NOT_IN_CAMPAIGN = "embedded_phone_not_in_campaign"
    AGE_GATE_REQUIRED = "age_gate_required"
    CONFIRMATION_ALREADY_SENT = "confirmation_already_sent"
    CONFIRMATION_TOO_LATE = "confirmation_too_late"
    COMPLIANCE_REPLY_HAS_MARKETING = "compliance_reply_has_marketing"
    APPOINTMENT_STARTED = "appointment_started"
    NUMBER_NOT_SMS_CAPABLE = "number_not_sms_capable"
    EMPTY_BODY = "empty_body"
    APPOINTMENT_PASSED = "appointment_passed"
    VALIDITY_EXPIRED = "validity_expired"
    SENDER_BLOCKED = "sender_blocked"
    HEALTHCARE_EXEMPT = "healthcare_exempt"  # a warning: sent without consent under R-C-07


class Severity(StrEnum):
    """``block`` refuses the message; ``warn`` only informs."""

    BLOCK = "block"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Reason:
    """One explained finding: what, which rule, why, and how to fix it."""

    code: ReasonCode
    rule: str
    message: str
    fix: str
    severity: Severity = Severity.BLOCK

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code.value,
            "rule": self.rule,
            "message": self.message,
            "fix": self.fix,
            "severity": self.severity.value,
        }
