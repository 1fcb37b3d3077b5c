"""Gather the gate's facts from storage: the one place that reads them for a decision."""

from __future__ import annotations

from datetime import datetime

from frontdesk.domain import gate
from frontdesk.domain.consent import ConsentState
from frontdesk.services.consents import current_state
from frontdesk.storage.models import Tenant
from frontdesk.storage.uow import TenantScope


def tenant_facts(tenant: Tenant) -> gate.TenantFacts:
    return gate.TenantFacts(
        name=tenant.name, suspended=tenant.status == "suspended", timezone=tenant.timezone
    )


def gather(
    scope: TenantScope,
    tenant: Tenant,
    e164: str | None,
    now: datetime,
    exclude_message_id: str | None = None,
) -> gate.Facts:
    if e164 is None:
        return gate.Facts(tenant=tenant_facts(tenant))
    suppressions = scope.active_suppressions(e164)
    opted_out = bool(suppressions)
    supp_scope = "all"
    if suppressions and all(s.scope == "marketing" for s in suppressions):
        supp_scope = "marketing"
    consent: ConsentState = current_state(scope, e164)
    confirmations = 0
    if consent.revoked_at is not None:
        confirmations = scope.confirmations_since(e164, consent.revoked_at, exclude_message_id)
    contact = gate.ContactFacts(
        opted_out=opted_out,
        opted_out_scope=supp_scope,
        under_review=bool(scope.pending_reviews(e164)),
        consent=consent,
        confirmations_for_revocation=confirmations,
    )
    return gate.Facts(tenant=tenant_facts(tenant), contact=contact)
