"""10DLC registration use cases: brands, campaigns, their review, and sending numbers.

A campaign is validated on creation (``domain.campaigns``, R-R-02/R-R-03); one
with problems stays ``draft``, a clean one is ``submitted``. The platform operator
(or the registry, through the same verb) reviews it: ``approved`` or
``rejected``, and later ``suspended`` (an MNO suspension, R-R-01) or re-approved.
A sending number is linked to a campaign; the gate lets a US long code send only
once that campaign is ``approved`` (R-R-01) and only within its use case
(R-CT-05) — see :func:`sender_campaign` for the facts it reads.

Services never commit; every change is an audit entry (design.md, guarantee 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontdesk import errors
from frontdesk.domain import campaigns as domain
from frontdesk.domain import phone
from frontdesk.ids import new_id
from frontdesk.services import carrier_accounts, tenants
from frontdesk.services.carrier_accounts import UNSET, Unset
from frontdesk.storage import registry
from frontdesk.storage.models import Brand, Campaign, CarrierAccount, SendingNumber, Tenant
from frontdesk.storage.uow import TenantScope, UnitOfWork

# R-R-03 "Conflict": TCR's limit is 100 campaigns per brand (Twilio 30930), some
# providers default to 50; the lower bound is the one that never fails upstream.
MAX_CAMPAIGNS_PER_BRAND = 50

# Review decisions allowed from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"approved", "rejected"}),
    "approved": frozenset({"suspended"}),
    "suspended": frozenset({"approved", "rejected"}),
}


def _refuse(
    problems: tuple[domain.Problem, ...] | list[domain.Problem],
    status: int,
    title: str,
    detail: str,
) -> errors.AppError:
    return errors.AppError(
        status,
        title,
        detail,
        [errors.FieldError(p.field, p.code, p.message) for p in problems],
    )


def _fatal(problems: tuple[domain.Problem, ...]) -> None:
    fatal = [p for p in problems if p.fatal]
    if fatal:
        detail = "; ".join(f"{p.field}: {p.message}" for p in fatal[:5])
        raise _refuse(fatal, 422, "Invalid request", detail)


# --------------------------------------------------------------------------- brands


def create_brand(scope: TenantScope, data: domain.BrandInput, now: datetime, actor: str) -> Brand:
    """R-R-02: register the tenant's own brand. Malformed fields are refused (422);
    identity problems TCR would not verify leave the brand ``unverified``."""
    problems = domain.validate_brand(data)
    _fatal(problems)
    parsed = phone.parse(data.phone)
    row = Brand(
        id=new_id("brd"),
        tenant_id=scope.tenant_id,
        legal_name=data.legal_name.strip(),
        ein=domain.normalise_ein(data.ein),
        entity_type=data.entity_type,
        vertical=data.vertical,
        website=data.website.strip(),
        email=data.email.strip(),
        phone=parsed.e164,
        status="unverified" if problems else "registered",
        problems=[p.as_dict() for p in problems],
        created_at=now,
    )
    scope.add(row)
    scope.audit(
        now,
        actor,
        "brand.created",
        row.id,
        {
            "entity_type": row.entity_type,
            "vertical": row.vertical,
            "status": row.status,
            "problems": [p.code for p in problems],
        },
    )
    return row


def get_brand(scope: TenantScope, brand_id: str) -> Brand:
    row = registry.brand(scope, brand_id)
    if row is None:
        raise errors.not_found("brand")
    return row


def brand_facts(scope: TenantScope, brand: Brand) -> domain.BrandFacts:
    """The names a consumer recognises: the legal name and the tenant's (DBA) name."""
    names = tuple(dict.fromkeys(n for n in (scope.tenant().name, brand.legal_name) if n.strip()))
    return domain.BrandFacts(
        names=names,
        entity_type=brand.entity_type,
        vertical=brand.vertical,
        verified=brand.status == "registered",
    )


# --------------------------------------------------------------------------- campaigns


def _campaign_input(row: Campaign) -> domain.CampaignInput:
    return domain.CampaignInput(
        use_case=row.use_case,
        sub_use_cases=tuple(row.sub_use_cases or ()),
        description=row.description,
        message_flow=row.message_flow,
        sample_messages=tuple(row.sample_messages or ()),
        help_message=row.help_message,
        optout_message=row.optout_message,
        embedded_links=row.embedded_links,
        embedded_phone=row.embedded_phone,
        age_gated=row.age_gated,
        direct_lending=row.direct_lending,
    )


def _problems(
    scope: TenantScope, brand: Brand, data: domain.CampaignInput, exclude_id: str | None = None
) -> tuple[domain.Problem, ...]:
    found = list(domain.validate_campaign(data, brand_facts(scope, brand)))
    if any(p.fatal for p in found):
        return tuple(found)
    others = registry.count_campaigns(scope, brand.id, exclude_id)
    if brand.entity_type == domain.SOLE_PROPRIETOR and others >= 1:
        found.append(
            domain.Problem(
                "sole_proprietor_campaign_limit",
                "brand_id",
                "R-R-02",
                "R-R-02: a sole-proprietor brand may register one campaign, and it has one.",
            )
        )
    elif others >= MAX_CAMPAIGNS_PER_BRAND:
        found.append(
            domain.Problem(
                "campaign_limit",
                "brand_id",
                "R-R-03",
                f"R-R-03: a brand may register at most {MAX_CAMPAIGNS_PER_BRAND} campaigns.",
            )
        )
    return tuple(found)


def create_campaign(
    scope: TenantScope, brand_id: str, data: domain.CampaignInput, now: datetime, actor: str
) -> Campaign:
    """R-R-03: validate and record a campaign; ``submitted`` when clean, else ``draft``
    with its problems (an unknown use case is refused with 422)."""
    brand = registry.brand(scope, brand_id)
    if brand is None:
        raise errors.invalid(
            "brand_id", "unknown_brand", "No brand with that id; register one with POST /v1/brands."
        )
    problems = _problems(scope, brand, data)
    _fatal(problems)
    row = Campaign(
        id=new_id("cmp"),
        tenant_id=scope.tenant_id,
        brand_id=brand.id,
        use_case=data.use_case,
        sub_use_cases=list(dict.fromkeys(data.sub_use_cases)),
        description=data.description,
        message_flow=data.message_flow,
        sample_messages=list(data.sample_messages),
        help_message=data.help_message,
        optout_message=data.optout_message,
        embedded_links=data.embedded_links,
        embedded_phone=data.embedded_phone,
        age_gated=data.age_gated,
        direct_lending=data.direct_lending,
        status="draft" if problems else "submitted",
        problems=[p.as_dict() for p in problems],
        created_at=now,
        updated_at=now,
    )
    scope.add(row)
    scope.audit(
        now,
        actor,
        "campaign.created",
        row.id,
        {
            "brand_id": brand.id,
            "use_case": row.use_case,
            "sub_use_cases": row.sub_use_cases,
            "status": row.status,
            "problems": [p.code for p in problems],
        },
    )
    return row


def get_campaign(scope: TenantScope, campaign_id: str) -> Campaign:
    row = registry.campaign(scope, campaign_id)
    if row is None:
        raise errors.not_found("campaign")
    return row


def submit_campaign(scope: TenantScope, campaign_id: str, now: datetime, actor: str) -> Campaign:
    """Submit a ``draft`` (or resubmit a ``rejected``) campaign once it has no problems
    (checked again: the brand may have changed); refused with 409 otherwise."""
    row = get_campaign(scope, campaign_id)
    if row.status not in ("draft", "rejected"):
        raise errors.conflict(
            f"The campaign is {row.status}; only a draft or rejected campaign can be submitted."
        )
    brand = get_brand(scope, row.brand_id)
    problems = _problems(scope, brand, _campaign_input(row), exclude_id=row.id)
    if problems:
        raise _refuse(
            problems,
            409,
            "Campaign has problems",
            f"The campaign has {len(problems)} problem(s) and stays a draft; "
            "register a corrected campaign.",
        )
    previous = row.status
    row.status = "submitted"
    row.problems = []
    row.updated_at = now
    scope.audit(now, actor, "campaign.submitted", row.id, {"from": previous})
    return row


def review_campaign(
    uow: UnitOfWork,
    campaign_id: str,
    decision: str,
    note: str | None,
    now: datetime,
    actor: str = "admin",
) -> Campaign:
    """The operator's (or registry's) verdict: ``approved`` / ``rejected`` for a submitted
    campaign, ``suspended`` for an approved one (R-R-01: an MNO suspension stops its
    numbers at once), ``approved`` again to lift a suspension."""
    row = registry.campaign_for_review(uow, campaign_id)
    if row is None:
        raise errors.not_found("campaign")
    allowed = TRANSITIONS.get(row.status, frozenset())
    if decision not in allowed:
        raise errors.conflict(
            f"A {row.status} campaign cannot be {decision}"
            + (f"; allowed: {', '.join(sorted(allowed))}." if allowed else ".")
        )
    previous = row.status
    row.status = decision
    row.review_note = note
    row.updated_at = now
    uow.tenant(row.tenant_id).audit(
        now,
        actor,
        "campaign.reviewed",
        row.id,
        {"from": previous, "decision": decision, "note": note},
    )
    return row


# --------------------------------------------------------------------------- numbers


def link_number(
    uow: UnitOfWork,
    tenant_id: str,
    number: str,
    provider: str | None,
    campaign_id: str | None,
    now: datetime,
    actor: str,
    *,
    carrier_account: str | Unset | None = UNSET,
    default_provider: str | None = None,
) -> tuple[SendingNumber, bool]:
    """Register a sending number, or link one the tenant already has, to a campaign
    and/or to the carrier account it sends through.

    Returns ``(row, created)``. R-R-02: numbers are not shared across brands (a number
    of another tenant is refused with 409) and a sole-proprietor campaign has one
    number. Another tenant's campaign id answers like an unknown one (no oracle).

    ``carrier_account`` (issue 12): left out, the link is unchanged (a new number sends
    through the platform default); an id links the number to that account of this
    tenant (checked by ``carrier_accounts.check_link``); None moves it back to the
    platform default, whose provider is ``default_provider``. ``provider`` None takes
    the account's. Everything is checked before anything is written.
    """
    parsed = phone.try_parse(number)
    if parsed is None:
        raise errors.invalid("number", "invalid_number", "number is not a valid phone number")
    scope = uow.tenant(tenant_id)
    campaign: Campaign | None = None
    if campaign_id is not None:
        campaign = registry.campaign(scope, campaign_id)
        if campaign is None:
            raise errors.invalid(
                "campaign_id",
                "unknown_campaign",
                "No campaign with that id; register one with POST /v1/campaigns.",
            )
        if campaign.use_case == domain.SOLE_PROPRIETOR:
            others = [
                n for n in registry.campaign_numbers(scope, campaign.id) if n.number != parsed.e164
            ]
            if others:
                raise errors.conflict(
                    "A sole-proprietor campaign has one sending number "
                    "(R-R-02); it already has one."
                )
    row = registry.sending_number(scope, parsed.e164)
    created = row is None
    account: CarrierAccount | None = None
    if not isinstance(carrier_account, Unset):
        account, provider = carrier_accounts.check_link(
            scope,
            carrier_account,
            provider if row is None else row.provider,
            default_provider or (provider if row is None else row.provider) or "",
        )
    if row is None:
        row = tenants.add_sending_number(
            uow, tenant_id, parsed.e164, provider or default_provider or "", now, actor
        )
    elif campaign is None and isinstance(carrier_account, Unset):
        raise errors.conflict("That number is already registered as a sending number.")
    if not isinstance(carrier_account, Unset):
        carrier_accounts.link_number(scope, row, account, now, actor)
    if campaign is not None and row.campaign_id != campaign.id:
        previous = row.campaign_id
        row.campaign_id = campaign.id
        scope.audit(
            now,
            actor,
            "number.linked",
            row.number[-4:],
            {"number_id": row.id, "campaign_id": campaign.id, "previous": previous},
        )
    return row, created


def sender_campaign(scope: TenantScope, number: str | None) -> domain.SenderCampaign | None:
    """The gate's facts about the sender (R-R-01, R-R-05, R-CT-05): its number type and
    its campaign's status, use case and content flags. None when there is no sender;
    a number the tenant does not own has no campaign (``sender_not_owned`` explains it).
    """
    if number is None:
        return None
    found = registry.sender_with_campaign(scope, number)
    return _sender_facts(number, found[1] if found is not None else None)


def sender_campaigns(scope: TenantScope) -> dict[str, domain.SenderCampaign]:
    """:func:`sender_campaign` for every sending number of the tenant, in one query: the
    candidates :func:`domain.campaigns.choose_sender` picks from (R-R-01, R-CT-05)."""
    return {
        number: _sender_facts(number, campaign)
        for number, campaign in registry.senders_with_campaigns(scope)
    }


def _sender_facts(number: str, campaign: Campaign | None) -> domain.SenderCampaign:
    kind = domain.sender_number_type(number)
    if campaign is None:
        return domain.SenderCampaign(
            number=number, number_type=kind, campaign_status=None, use_case=None
        )
    return domain.SenderCampaign(
        number=number,
        number_type=kind,
        campaign_status=campaign.status,
        use_case=campaign.use_case,
        sub_use_cases=tuple(campaign.sub_use_cases or ()),
        embedded_links=campaign.embedded_links,
        embedded_phone=campaign.embedded_phone,
        age_gated=campaign.age_gated,
    )


# --------------------------------------------------------------------------- enforcement

# Operator-owned keys in ``tenants.settings``: PATCH /v1/tenant/settings refuses
# unknown keys, so a tenant cannot switch its own enforcement off.
REQUIRE_REGISTRATION = "require_registration"
REQUIRE_POLICY = "require_policy"


@dataclass(frozen=True)
class Enforcement:
    require_registration: bool
    require_policy: bool


def enforcement(tenant: Tenant) -> Enforcement:
    """Whether the gate enforces R-R-01/R-R-05 (approved campaign per sender) and
    R-B-03 (policy accepted) for this tenant. Off by default: the embedded simulator
    has no carrier registry; the operator turns them on for carrier deployments."""
    stored: dict[str, Any] = tenant.settings or {}
    return Enforcement(
        require_registration=bool(stored.get(REQUIRE_REGISTRATION, False)),
        require_policy=bool(stored.get(REQUIRE_POLICY, False)),
    )


def default_enforcement(*, require_policy: bool, require_registration: bool) -> dict[str, Any]:
    """The enforcement settings a new tenant starts with (deployment defaults)."""
    return {REQUIRE_POLICY: require_policy, REQUIRE_REGISTRATION: require_registration}


def set_enforcement(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    require_registration: bool | None,
    require_policy: bool | None,
    now: datetime,
    actor: str = "admin",
) -> Enforcement:
    """Admin: switch registration and policy enforcement for one tenant (audited)."""
    tenant = uow.tenant_row(tenant_id)
    if tenant is None:
        raise errors.not_found("tenant")
    stored = dict(tenant.settings or {})
    changes: dict[str, bool] = {}
    if require_registration is not None:
        changes[REQUIRE_REGISTRATION] = require_registration
    if require_policy is not None:
        changes[REQUIRE_POLICY] = require_policy
    stored.update(changes)
    tenant.settings = stored
    uow.tenant(tenant_id).audit(now, actor, "tenant.enforcement_changed", tenant_id, changes)
    return enforcement(tenant)
