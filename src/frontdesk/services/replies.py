"""Compliance reply texts: opt-out and opt-in confirmations and the HELP answer.

R-K-03 (HELP: brand, care contact, how to stop, rates), R-K-04 and R-FCC-03 (one
opt-out confirmation, brand, no marketing), R-K-05 (opt-in confirmation: brand,
frequency, rates, HELP and STOP). receptionist.md §1.6: after a bare CANCEL the
confirmation says the appointment is still booked and how to change it.
"""

from __future__ import annotations

from frontdesk.storage.models import Tenant


def _contact(tenant: Tenant) -> str:
    parts = [p for p in (tenant.support_phone, tenant.support_email) if p]
    return " or ".join(parts) if parts else "the office"


def opt_out_confirmation(
    tenant: Tenant, *, bare_cancel: bool, marketing_only: bool, spanish: bool = False
) -> str:
    if spanish:
        text = (
            f"{tenant.name}: se ha dado de baja y no recibira mas mensajes. "
            "Responda START para volver a suscribirse."
        )
        if bare_cancel:
            text += f" Su cita sigue reservada; para cambiarla llame a {_contact(tenant)}."
        return text
    if marketing_only:
        return (
            f"{tenant.name}: you won't get promotional texts from us anymore. Appointment "
            "and service texts continue. Reply STOP to stop all texts."
        )
    text = (
        f"{tenant.name}: you're unsubscribed and won't get more texts from us. "
        "Reply START to resubscribe."
    )
    if bare_cancel:
        text += (
            f" Your appointment is still booked; to cancel or change it, contact "
            f"{_contact(tenant)}."
        )
    return text


def help_reply(tenant: Tenant, *, spanish: bool = False) -> str:
    if spanish:
        return (
            f"{tenant.name}: para ayuda contacte a {_contact(tenant)}. Pueden aplicarse "
            "tarifas de mensajes y datos. Responda STOP para no recibir mas mensajes."
        )
    return (
        f"{tenant.name}: for help, contact {_contact(tenant)}. Msg frequency varies. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def opt_in_confirmation(tenant: Tenant) -> str:
    return (
        f"{tenant.name}: you're subscribed to appointment and service texts. Msg frequency "
        "varies. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
    )
