"""Appointments: book, move, cancel, confirm; the confirmation and reminders they send.

Every text is a normal message through :func:`services.messages.submit`, so the gate
decides it at accept time and again at hand-off (design.md, guarantee 1). Each
carries ``appointment_starts_at`` so the gate's late cutoff drops a reminder that
would arrive after the visit began (R-Q-02 policy; a reminder after the appointment
is worse than none), and ``appointment_id`` so moving or canceling the appointment
cancels the texts still waiting. Reminder offsets count calendar days in the
contact's own time zone ("P1D" is the same wall-clock time the day before, across
a DST change), then hours and minutes; quiet hours are the gate's business (R-Q-01..03).

Templates ask for ``C`` and ``R``, never for an opt-out word (receptionist.md §1.6),
and name the business and how to stop texts (R-CT-01, R-K-08). They leave out the
service name: for a healthcare tenant the procedure would be PHI (§2.3 item 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from frontdesk import errors
from frontdesk.domain import quiet_hours
from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.services import messages as messages_service
from frontdesk.services import settings as settings_service
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage import flows
from frontdesk.storage.models import Appointment, Message, Tenant
from frontdesk.storage.uow import TenantScope

SUBJECT = "appointment"


@dataclass
class Booking:
    appointment: Appointment
    messages: list[Message] = field(default_factory=list)
    canceled: list[Message] = field(default_factory=list)
    skipped_offsets: list[str] = field(default_factory=list)


def contact_zone(scope: TenantScope, tenant: Tenant, e164: str) -> ZoneInfo:
    """The contact's zone: a known zone or state first, else the number's (design.md)."""
    row = scope.contact(e164)
    loc = quiet_hours.locate(
        quiet_hours.Recipient(
            e164=e164,
            state=row.state if row else None,
            postal_code=row.postal_code if row else None,
            timezone=row.timezone if row else None,
        ),
        tenant.timezone,
    )
    for name in loc.zones:
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            continue
    return ZoneInfo(tenant.timezone)


def reminder_time(starts_at: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
    """``starts_at`` minus ``offset``: whole days on the local calendar, the rest in time."""
    days = timedelta(days=offset.days)
    rest = offset - days
    local = starts_at.astimezone(zone)
    wall = (local.replace(tzinfo=None) - days).replace(tzinfo=zone)
    return wall.astimezone(UTC) - rest


def describe(starts_at: datetime, zone: ZoneInfo) -> str:
    local = starts_at.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%a %b} {local.day} at {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def _business(tenant: Tenant) -> str:
    return settings_service.load(tenant).knowledge.business_name or tenant.name


def confirmation_text(tenant: Tenant, when: str, *, moved: bool = False) -> str:
    verb = "has been moved to" if moved else "is booked for"
    return (
        f"{_business(tenant)}: your visit {verb} {when}. Reply C to confirm or R to "
        "reschedule. Reply STOP to opt out."
    )


def reminder_text(tenant: Tenant, when: str) -> str:
    return (
        f"{_business(tenant)}: reminder of your visit {when}. Reply C to confirm or R to "
        "reschedule. Reply STOP to opt out."
    )


def _offsets(tenant: Tenant, reminders: Sequence[str] | None) -> list[tuple[str, timedelta]]:
    chosen = list(reminders) if reminders is not None else settings_service.load(tenant).reminders
    out = []
    for i, text in enumerate(chosen):
        try:
            out.append((text, settings_service.parse_offset(text)))
        except ValueError as exc:
            raise errors.invalid(f"reminders[{i}]", "invalid_duration", str(exc)) from exc
    return out


def _submit(
    scope: TenantScope,
    appt: Appointment,
    category: Category,
    body: str,
    now: datetime,
    actor: str,
    send_at: datetime | None = None,
) -> Message:
    submitted = messages_service.submit(
        scope,
        messages_service.SendCommand(
            to=appt.phone,
            body=body,
            category=category,
            send_at=send_at,
            subject=SUBJECT,
            appointment_starts_at=appt.starts_at,
        ),
        now,
        actor=actor,
    )
    submitted.message.appointment_id = appt.id
    return submitted.message


def _send_all(
    scope: TenantScope,
    tenant: Tenant,
    appt: Appointment,
    offsets: list[tuple[str, timedelta]],
    now: datetime,
    actor: str,
    *,
    confirmation: str | None,
) -> Booking:
    """Send the confirmation (``"booked"``, ``"moved"`` or none) and schedule reminders."""
    zone = contact_zone(scope, tenant, appt.phone)
    when = describe(appt.starts_at, zone)
    booking = Booking(appt)
    if confirmation is not None:
        booking.messages.append(
            _submit(
                scope,
                appt,
                Category.APPOINTMENT_CONFIRMATION,
                confirmation_text(tenant, when, moved=confirmation == "moved"),
                now,
                actor,
            )
        )
    for text, offset in offsets:
        at = reminder_time(appt.starts_at, offset, zone)
        if at <= now:
            booking.skipped_offsets.append(text)
            continue
        booking.messages.append(
            _submit(
                scope,
                appt,
                Category.APPOINTMENT_REMINDER,
                reminder_text(tenant, when),
                now,
                actor,
                send_at=at,
            )
        )
    return booking


def _cancel_pending(
    scope: TenantScope, appt: Appointment, code: str, now: datetime, actor: str
) -> list[Message]:
    """Cancel the appointment's texts still waiting; the contact row lock orders this
    against a hand-off that is claiming one of them (PostgreSQL)."""
    scope.lock_contact(appt.phone)
    canceled = []
    for msg in flows.appointment_messages(scope, appt.id, pending_only=True):
        messages_service.cancel(scope, msg.id, now, actor)
        msg.reasons = [
            *msg.reasons,
            {
                "code": code,
                "rule": "R-Q-02",
                "message": "Canceled: the appointment was "
                + ("canceled." if code == "appointment_canceled" else "moved."),
                "fix": "Nothing to do.",
                "severity": "block",
            },
        ]
        canceled.append(msg)
    return canceled


def get(scope: TenantScope, appointment_id: str) -> Appointment:
    appt = flows.appointment(scope, appointment_id)
    if appt is None:
        raise errors.not_found("appointment")
    return appt


def book(
    scope: TenantScope,
    *,
    phone: str,
    starts_at: datetime,
    service: str | None,
    reminders: Sequence[str] | None,
    now: datetime,
    actor: str,
    external_id: str | None = None,
) -> Booking:
    """Create the appointment, send the confirmation now and schedule the reminders."""
    if starts_at <= now:
        raise errors.invalid("starts_at", "in_the_past", "starts_at must be in the future")
    tenant = scope.tenant()
    offsets = _offsets(tenant, reminders)
    ensure_contact(scope, phone, now)
    appt = Appointment(
        id=new_id("apt"),
        tenant_id=scope.tenant_id,
        phone=phone,
        starts_at=starts_at.astimezone(UTC),
        service=service,
        status="booked",
        reminders=[text for text, _ in offsets],
        external_id=external_id,
        created_at=now,
        updated_at=now,
    )
    scope.add(appt)
    scope.flush()
    booking = _send_all(scope, tenant, appt, offsets, now, actor, confirmation="booked")
    scope.audit(
        now,
        actor,
        "appointment.booked",
        appt.id,
        {"to": phone[-4:], "messages": [m.id for m in booking.messages]},
    )
    return booking


def change(
    scope: TenantScope,
    appt: Appointment,
    *,
    starts_at: datetime | None,
    service: str | None,
    reminders: Sequence[str] | None,
    fields_set: set[str],
    now: datetime,
    actor: str,
) -> Booking:
    """Move an appointment or change its reminders: waiting texts are canceled and
    rescheduled from the new time, so none refers to the old one."""
    if appt.status == "canceled":
        raise errors.conflict("The appointment was canceled; book a new one.")
    tenant = scope.tenant()
    if "service" in fields_set:
        appt.service = service
    moved = starts_at is not None and starts_at.astimezone(UTC) != appt.starts_at
    new_reminders = "reminders" in fields_set and reminders is not None
    booking = Booking(appt)
    if moved or new_reminders:
        if starts_at is not None and moved and starts_at <= now:
            raise errors.invalid("starts_at", "in_the_past", "starts_at must be in the future")
        offsets = _offsets(tenant, reminders if new_reminders else appt.reminders)
        booking.canceled = _cancel_pending(scope, appt, "appointment_moved", now, actor)
        if moved and starts_at is not None:
            appt.starts_at = starts_at.astimezone(UTC)
            appt.status = "booked"
            appt.confirmed_at = None
            appt.proposed_time = None
        appt.reminders = [text for text, _ in offsets]
        sent = _send_all(
            scope, tenant, appt, offsets, now, actor, confirmation="moved" if moved else None
        )
        booking.messages = sent.messages
        booking.skipped_offsets = sent.skipped_offsets
    appt.updated_at = now
    scope.audit(
        now,
        actor,
        "appointment.changed",
        appt.id,
        {"moved": moved, "canceled": [m.id for m in booking.canceled]},
    )
    return booking


def cancel(scope: TenantScope, appt: Appointment, now: datetime, actor: str) -> Booking:
    """Cancel the appointment and every text about it that has not left yet."""
    booking = Booking(appt)
    if appt.status == "canceled":
        return booking
    booking.canceled = _cancel_pending(scope, appt, "appointment_canceled", now, actor)
    appt.status = "canceled"
    appt.canceled_at = now
    appt.updated_at = now
    scope.audit(
        now, actor, "appointment.canceled", appt.id, {"canceled": [m.id for m in booking.canceled]}
    )
    return booking


def confirm(scope: TenantScope, appt: Appointment, now: datetime, actor: str) -> Appointment:
    if appt.status in ("booked", "reschedule_requested", "confirmed"):
        appt.status = "confirmed"
        appt.confirmed_at = appt.confirmed_at or now
        appt.updated_at = now
        scope.audit(now, actor, "appointment.confirmed", appt.id, {})
    return appt


def request_reschedule(
    scope: TenantScope, appt: Appointment, proposed: str | None, now: datetime, actor: str
) -> Appointment:
    """The person asked to move it: staff pick a time (with the one proposed, if any)."""
    appt.status = "reschedule_requested"
    appt.proposed_time = proposed[:200] if proposed else None
    appt.updated_at = now
    scope.audit(
        now, actor, "appointment.reschedule_requested", appt.id, {"proposed": bool(proposed)}
    )
    return appt
