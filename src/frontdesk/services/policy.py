"""The platform's SMS Messaging Policy and the business's acceptance of it.

The policy is the contract between the platform, the business and the people who
receive its texts (mission.md); accepting its current version is the business's
attestation that it holds consent and sends lawful content (R-B-03). A new
version means every business accepts again: acceptance of an older version does
not count (``accepted`` is false) and accepting a stale version is refused (409).
Every acceptance is an audit entry (design.md, guarantee 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from frontdesk import errors
from frontdesk.ids import new_id
from frontdesk.storage import registry
from frontdesk.storage.models import PolicyAcceptance
from frontdesk.storage.uow import TenantScope

POLICY_VERSION = "2026-11-01"

POLICY_TEXT = """\
SMS Messaging Policy (version 2026-11-01)

This policy governs every text message a business sends or receives through the
platform. By accepting it the business agrees to the following.

1. Consent first. The business texts a person only with that person's prior express
consent, given directly by the person, explicitly and with full information
(TCPA, FCC rules, carrier A2P 10DLC policy and state law). Marketing messages need
prior express written consent with the required disclosure. The business keeps
proof of every consent: who consented, to what, how, when and to which disclosure.

2. Message types. Permitted messages are appointment confirmations and reminders,
follow-ups to missed calls, service notifications, transactional or
informational messages, and replies in conversations the recipient started.
Marketing is permitted only with compliant written consent and a registered
marketing campaign; an informational message that carries an offer is marketing.

3. Opt-out. Every message supports STOP and HELP. After a person opts out by any
reasonable means, nothing more is sent to them, including messages already
queued or scheduled, except one confirmation without marketing, until they opt in
again. HELP is answered with the business's name, contact and how to stop.

4. Prohibited messaging. No spam, no purchased, rented or scraped lists, nothing
deceptive, fraudulent or illegal, no content that carriers disallow (including
sex, hate, cannabis and illegal drugs, and high-risk financial offers), no public
URL shorteners, and no age-restricted content outside an age-gated campaign.
Every message identifies the business and stays within its registered campaign.

5. Delivery. Messages are delivered through carriers and are subject to their
filtering, blocking and delays; the platform does not guarantee delivery or
timing. Throughput is limited per registered campaign.

6. Data and privacy. Message content and metadata are stored to deliver messages,
demonstrate compliance, keep the records intact and answer inquiries; they are
never sold. An erased contact who opted out stays opted out.

7. The business's responsibilities. The business is responsible for its proof of
consent, its opt-out and suppression lists and the lawfulness of its content;
the platform gives it the tools to keep them and explains any message it refuses.

8. Suspension. The platform suspends a business's messaging when A2P policy is
violated, carriers complain, its brand or campaign registration is wrong or
incomplete, or its opt-out, filtering or complaint rates show risk. A number sends
only under an approved campaign and within its registered use case.
"""


@dataclass(frozen=True)
class PolicyState:
    version: str
    text: str
    accepted: bool
    accepted_at: datetime | None
    accepted_by: str | None


def current(scope: TenantScope) -> PolicyState:
    """The current policy and whether this tenant has accepted this version of it."""
    row = registry.latest_acceptance(scope, POLICY_VERSION)
    return PolicyState(
        version=POLICY_VERSION,
        text=POLICY_TEXT,
        accepted=row is not None,
        accepted_at=row.accepted_at if row else None,
        accepted_by=row.accepted_by if row else None,
    )


def is_accepted(scope: TenantScope) -> bool:
    """For the gate's facts (``domain.campaigns.policy_reasons``)."""
    return registry.latest_acceptance(scope, POLICY_VERSION) is not None


def accept(
    scope: TenantScope, version: str, accepted_by: str, now: datetime, actor: str
) -> PolicyState:
    """Record the tenant's acceptance of ``version``; a repeat acceptance is a no-op.

    A version other than the current one is refused with 409: the business must
    read what it accepts.
    """
    if version != POLICY_VERSION:
        raise errors.AppError(
            409,
            "Conflict",
            f"Policy version {version!r} is not the current version ({POLICY_VERSION}); read "
            "GET /v1/policy and accept the current version.",
            [
                errors.FieldError(
                    "version", "stale_policy_version", f"the current version is {POLICY_VERSION}"
                )
            ],
        )
    if not accepted_by.strip():
        raise errors.invalid(
            "accepted_by", "required", "accepted_by names the person accepting for the business"
        )
    existing = registry.latest_acceptance(scope, POLICY_VERSION)
    if existing is None:
        scope.add(
            PolicyAcceptance(
                id=new_id("pol"),
                tenant_id=scope.tenant_id,
                version=version,
                accepted_by=accepted_by.strip(),
                accepted_at=now,
            )
        )
        scope.audit(now, actor, "policy.accepted", version, {"accepted_by": accepted_by.strip()})
    return current(scope)
