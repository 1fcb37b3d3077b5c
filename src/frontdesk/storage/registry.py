"""Queries of the 10DLC registry tables (brands, campaigns, sending numbers) and of
policy acceptances.

Tenant-scoped by construction: every function but :func:`campaign_for_review`
takes a :class:`TenantScope` and filters on its ``tenant_id`` itself. The review
lookup is the platform operator's (admin) path, which has no tenant yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, bindparam, func, select

from frontdesk.storage.models import Brand, Campaign, PolicyAcceptance, SendingNumber
from frontdesk.storage.uow import TenantScope, UnitOfWork


def brand(scope: TenantScope, brand_id: str) -> Brand | None:
    return scope.session.execute(
        select(Brand).where(Brand.tenant_id == scope.tenant_id, Brand.id == brand_id)
    ).scalar_one_or_none()


def brands(scope: TenantScope, limit: int, offset: int) -> Sequence[Brand]:
    return (
        scope.session.execute(
            select(Brand)
            .where(Brand.tenant_id == scope.tenant_id)
            .order_by(Brand.created_at, Brand.id)
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )


def campaign(scope: TenantScope, campaign_id: str) -> Campaign | None:
    return scope.session.execute(
        select(Campaign).where(Campaign.tenant_id == scope.tenant_id, Campaign.id == campaign_id)
    ).scalar_one_or_none()


def campaigns(
    scope: TenantScope, limit: int, offset: int, brand_id: str | None = None
) -> Sequence[Campaign]:
    stmt = select(Campaign).where(Campaign.tenant_id == scope.tenant_id)
    if brand_id is not None:
        stmt = stmt.where(Campaign.brand_id == brand_id)
    stmt = stmt.order_by(Campaign.created_at, Campaign.id).limit(limit).offset(offset)
    return scope.session.execute(stmt).scalars().all()


def count_campaigns(scope: TenantScope, brand_id: str, exclude_id: str | None = None) -> int:
    stmt = (
        select(func.count())
        .select_from(Campaign)
        .where(Campaign.tenant_id == scope.tenant_id, Campaign.brand_id == brand_id)
    )
    if exclude_id is not None:
        stmt = stmt.where(Campaign.id != exclude_id)
    return int(scope.session.execute(stmt).scalar_one())


def campaign_numbers(scope: TenantScope, campaign_id: str) -> Sequence[SendingNumber]:
    return (
        scope.session.execute(
            select(SendingNumber)
            .where(
                SendingNumber.tenant_id == scope.tenant_id,
                SendingNumber.campaign_id == campaign_id,
            )
            .order_by(SendingNumber.created_at, SendingNumber.number)
        )
        .scalars()
        .all()
    )


def sending_number(scope: TenantScope, number: str) -> SendingNumber | None:
    return scope.session.execute(
        select(SendingNumber).where(
            SendingNumber.tenant_id == scope.tenant_id, SendingNumber.number == number
        )
    ).scalar_one_or_none()


# Read on every send decision: built once (statement construction costs more than the query).
_SENDER_WITH_CAMPAIGN = (
    select(SendingNumber, Campaign)
    .outerjoin(
        Campaign,
        and_(
            Campaign.id == SendingNumber.campaign_id,
            Campaign.tenant_id == SendingNumber.tenant_id,
        ),
    )
    .where(
        SendingNumber.tenant_id == bindparam("tenant"),
        SendingNumber.number == bindparam("number"),
    )
)
_SENDERS_WITH_CAMPAIGNS = (
    select(SendingNumber.number, Campaign)
    .outerjoin(
        Campaign,
        and_(
            Campaign.id == SendingNumber.campaign_id,
            Campaign.tenant_id == SendingNumber.tenant_id,
        ),
    )
    .where(SendingNumber.tenant_id == bindparam("tenant"))
)
_LATEST_ACCEPTANCE = (
    select(PolicyAcceptance)
    .where(PolicyAcceptance.tenant_id == bindparam("tenant"))
    .order_by(PolicyAcceptance.accepted_at.desc(), PolicyAcceptance.id)
    .limit(1)
)


def sender_with_campaign(
    scope: TenantScope, number: str
) -> tuple[SendingNumber, Campaign | None] | None:
    """The gate's sender facts in one query: the tenant's number and the campaign it is
    linked to (outer join, and only a campaign of the same tenant)."""
    row = scope.session.execute(
        _SENDER_WITH_CAMPAIGN, {"tenant": scope.tenant_id, "number": number}
    ).first()
    if row is None:
        return None
    return row[0], row[1]


def senders_with_campaigns(scope: TenantScope) -> Sequence[tuple[str, Campaign | None]]:
    """Every sending number of the tenant with the campaign it is linked to, in one query
    (choosing a sender reads them all); in no particular order."""
    return [
        (row[0], row[1])
        for row in scope.session.execute(_SENDERS_WITH_CAMPAIGNS, {"tenant": scope.tenant_id})
    ]


def latest_acceptance(scope: TenantScope, version: str | None = None) -> PolicyAcceptance | None:
    if version is None:
        return scope.session.execute(
            _LATEST_ACCEPTANCE, {"tenant": scope.tenant_id}
        ).scalar_one_or_none()
    stmt = select(PolicyAcceptance).where(
        PolicyAcceptance.tenant_id == scope.tenant_id, PolicyAcceptance.version == version
    )
    stmt = stmt.order_by(PolicyAcceptance.accepted_at.desc(), PolicyAcceptance.id).limit(1)
    return scope.session.execute(stmt).scalar_one_or_none()


def campaign_for_review(uow: UnitOfWork, campaign_id: str) -> Campaign | None:
    """Admin only: the operator reviews any tenant's campaign by id."""
    return uow.session.get(Campaign, campaign_id)
