"""Gather the gate's facts from storage: the one place that reads them for a decision."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from frontdesk.domain import gate
from frontdesk.domain.consent import ConsentState
from frontdesk.domain.messages import Category
from frontdesk.services import policy, registration
from frontdesk.services.consents import current_state
from frontdesk.storage.models import Tenant
from frontdesk.storage.uow import TenantScope

WINDOW = timedelta(hours=24)


def tenant_facts(scope: TenantScope, tenant: Tenant) -> gate.TenantFacts:
    settings: dict[str, Any] = tenant.settings or {}
    enforced = registration.enforcement(tenant)
    return gate.TenantFacts(
        name=tenant.name,
        suspended=tenant.status == "suspended",
        timezone=tenant.timezone,
        numbers=frozenset(n.number for n in scope.sending_numbers()),
        allowed_link_domains=frozenset(settings.get("allowed_link_domains", ())),
        frequency_cap=int(settings.get("frequency_cap", 3)),
        missed_call_in_quiet_hours=bool(settings.get("missed_call_in_quiet_hours", False)),
        reply_exemption_minutes=int(settings.get("reply_exemption_minutes", 15)),
        registration_required=enforced.require_registration,
        policy_accepted=not enforced.require_policy or policy.is_accepted(scope),
    )


def gather(scope: TenantScope, tenant: Tenant, e164: str | None, now: datetime,
           exclude_message_id: str | None = None, at: datetime | None = None,
           sender: str | None = None) -> gate.Facts:
    """Facts for one decision; ``at`` is when the message would leave (for rolling caps)."""
    tfacts = tenant_facts(scope, tenant)
    sender_campaign = registration.sender_campaign(scope, sender)
    if e164 is None:
        return gate.Facts(tenant=tfacts, sender_campaign=sender_campaign)
    at = at or now
    suppressions = scope.active_suppressions(e164)
    opted_out = bool(suppressions)
    supp_scope = "all"
    if suppressions and all(s.scope == "marketing" for s in suppressions):
        supp_scope = "marketing"
    consent: ConsentState = current_state(scope, e164)
    confirmations = 0
    if consent.revoked_at is not None:
        confirmations = scope.confirmations_since(e164, consent.revoked_at, exclude_message_id)
    row = scope.contact(e164)
    recent = tuple(
        gate.RecentSend(at=send_at, category=Category(cat), subject=subject or cat)
        for send_at, cat, subject in scope.sends_around(e164, at - WINDOW, at + WINDOW,
                                                        exclude_message_id)
    )
    contact = gate.ContactFacts(
        opted_out=opted_out,
        opted_out_scope=supp_scope,
        under_review=bool(scope.pending_reviews(e164)),
        consent=consent,
        confirmations_for_revocation=confirmations,
        state=row.state if row else None,
        postal_code=row.postal_code if row else None,
        timezone=row.timezone if row else None,
        last_inbound_at=row.last_inbound_at if row else None,
        first_message=not scope.has_outbound_to(e164, exclude_message_id),
        recent=recent,
    )
    return gate.Facts(tenant=tfacts, contact=contact, sender_campaign=sender_campaign)
