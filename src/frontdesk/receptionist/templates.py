"""Reply templates, English and Spanish, with tenant variables (receptionist.md §2.2, §2.3).

Every template starts with ``{business}:`` (R-CT-01: every automated message names
the business), carries no offers (R-C-02: replies are informational), and never
asks for an opt-out word as a menu answer (receptionist.md §1.6, R-K-08): menus use
``C``/``R``/digits and "Reply STOP to stop texts" only ever means stopping texts.
A template whose variables cannot all be filled is not rendered (:class:`MissingSlot`)
rather than sent with a hole, as the consent pattern in §2.1 recommends.

Templates are plain ``str.format`` strings over a closed set of variables; the
helpers below format opening hours and times the way §2.4 shows them
("8:00 am", "Mon-Fri 8 am-5 pm").
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

__all__ = [
    "DAY_KEYS",
    "TEMPLATES",
    "MissingSlot",
    "day_hours",
    "render",
    "template_fields",
    "week_hours",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}

STOP_FOOTER = {
    "en": "Reply STOP to stop texts.",
    "es": "Responda STOP para dejar de recibir mensajes.",
}
OPT_OUT_FOOTER = {
    "en": "Reply STOP to opt out.",
    "es": "Responda STOP para no recibir más mensajes.",
}
DEFAULT_EMERGENCY = {
    "en": "If this is an emergency, call 911.",
    "es": "Si es una emergencia, llame al 911.",
}

# template id -> language -> text
TEMPLATES: dict[str, dict[str, str]] = {
    "confirm.done": {
        "en": "{business}: thanks, you're confirmed for {when}. See you then!",
        "es": "{business}: gracias, su cita del {when} está confirmada. ¡Lo esperamos!",
    },
    "confirm.no_appointment": {
        "en": "{business}: thanks! We couldn't find an upcoming visit for this number. "
        "A team member will check and text you back.",
        "es": "{business}: ¡gracias! No encontramos una cita próxima para este número. "
        "Alguien del equipo lo revisará y le escribirá.",
    },
    "cancel.done": {
        "en": "{business}: your {when} visit is cancelled. To book again, just reply here. "
        "Reply STOP to stop texts.",
        "es": "{business}: su cita del {when} fue cancelada. Para hacer otra, responda aquí. "
        "Responda STOP para dejar de recibir mensajes.",
    },
    "cancel.no_appointment": {
        "en": "{business}: we couldn't find an upcoming visit to cancel. A team member will "
        "text you back. Reply STOP to stop texts.",
        "es": "{business}: no encontramos una cita próxima. Alguien del equipo le escribirá. "
        "Responda STOP para dejar de recibir mensajes.",
    },
    "reschedule.with_time": {
        "en": "{business}: got it, you'd like to move your {when} visit to {proposed}. "
        "The team will confirm shortly.",
        "es": "{business}: entendido, quiere cambiar su cita del {when} al {proposed}. "
        "El equipo le confirmará pronto.",
    },
    "reschedule.ask_time": {
        "en": "{business}: no problem. What day and time work better for you?",
        "es": "{business}: con gusto. ¿Qué día y hora le quedan mejor?",
    },
    "reschedule.no_appointment": {
        "en": "{business}: we couldn't find an upcoming visit for this number. A team member "
        "will text you back to find a time.",
        "es": "{business}: no encontramos una cita próxima para este número. Alguien del "
        "equipo le escribirá para buscar un horario.",
    },
    "late.ack": {
        "en": "{business}: thanks for letting us know. We'll tell the team.",
        "es": "{business}: gracias por avisarnos. Le avisaremos al equipo.",
    },
    "book.link": {
        "en": "{business}: happy to help you book. Pick a time at {booking_url} or reply with "
        "a day and time that work for you.",
        "es": "{business}: con gusto le ayudamos. Elija un horario en {booking_url} o "
        "responda con el día y la hora que prefiera.",
    },
    "book.ask_time": {
        "en": "{business}: happy to help you book. What day and time work for you?",
        "es": "{business}: con gusto le ayudamos. ¿Qué día y hora le quedan bien?",
    },
    "book.with_time": {
        "en": "{business}: thanks! We'll check {proposed} and a team member will confirm.",
        "es": "{business}: ¡gracias! Revisaremos {proposed} y alguien del equipo le confirmará.",
    },
    "hours.open": {
        "en": "{business}: {day_label} we're open {day_hours}. Hours: {week}.",
        "es": "{business}: {day_label} abrimos {day_hours}. Horario: {week}.",
    },
    "hours.closed": {
        "en": "{business}: we're closed {day_label}. Hours: {week}.",
        "es": "{business}: {day_label} está cerrado. Horario: {week}.",
    },
    "hours.week": {
        "en": "{business}: our hours are {week}.",
        "es": "{business}: nuestro horario es {week}.",
    },
    "location.address": {
        "en": "{business}: we're at {address}.",
        "es": "{business}: estamos en {address}.",
    },
    "price.known": {
        "en": "{business}: {service} is {price}. Reply with a day and time if you'd like to book.",
        "es": "{business}: {service} cuesta {price}. Si desea una cita, responda con el día y "
        "la hora.",
    },
    "price.several": {
        "en": "{business}: {prices}. Reply with a day and time if you'd like to book.",
        "es": "{business}: {prices}. Si desea una cita, responda con el día y la hora.",
    },
    "price.unknown": {
        "en": "{business}: a team member will follow up with pricing shortly.",
        "es": "{business}: alguien del equipo le enviará los precios pronto.",
    },
    "services.list": {
        "en": "{business}: we offer {services}. Would you like to book a visit?",
        "es": "{business}: ofrecemos {services}. ¿Le gustaría hacer una cita?",
    },
    "insurance.accepted": {
        "en": "{business}: yes, we accept {insurer}. A team member can help with coverage "
        "questions.",
        "es": "{business}: sí, aceptamos {insurer}. Alguien del equipo puede ayudarle con su "
        "cobertura.",
    },
    "insurance.list": {
        "en": "{business}: we accept {insurance}. A team member can help with coverage questions.",
        "es": "{business}: aceptamos {insurance}. Alguien del equipo puede ayudarle con su "
        "cobertura.",
    },
    "handoff.question": {
        "en": "{business}: good question. A team member will text you back shortly.",
        "es": "{business}: buena pregunta. Alguien del equipo le escribirá pronto.",
    },
    "human.handoff": {
        "en": "{business}: sure, a team member will text you back shortly.",
        "es": "{business}: claro, alguien del equipo le escribirá pronto.",
    },
    "urgent.alert": {
        "en": "{business}: {emergency} We've alerted the team.",
        "es": "{business}: {emergency} Ya avisamos al equipo.",
    },
    "complaint.handoff": {
        "en": "{business}: we're sorry to hear that. A team member will reach out shortly.",
        "es": "{business}: lamentamos mucho lo ocurrido. Alguien del equipo se comunicará pronto.",
    },
    "identity.assistant": {
        "en": "{business}: this is the automated assistant of {business}. Ask for a person "
        "anytime and a team member will text you back.",
        "es": "{business}: este es el asistente automático de {business}. Si prefiere hablar "
        "con una persona, díganos y alguien del equipo le escribirá.",
    },
    "thanks.appointment": {
        "en": "{business}: you're welcome! See you {when}.",
        "es": "{business}: ¡con gusto! Lo esperamos el {when}.",
    },
    "info.received": {
        "en": "{business}: thanks, got it. A team member will follow up shortly.",
        "es": "{business}: gracias, recibido. Alguien del equipo le escribirá pronto.",
    },
    "slot.choice": {
        "en": "{business}: thanks! We'll hold option {choice} for you and confirm shortly.",
        "es": "{business}: ¡gracias! Apartamos la opción {choice} y le confirmaremos pronto.",
    },
    "other.clarify": {
        "en": "{business}: sorry, I didn't catch that. You can ask about hours, location or "
        "your visit, or ask for a person.",
        "es": "{business}: perdón, no entendí. Puede preguntar por horario, dirección o su "
        "cita, o pedir hablar con una persona.",
    },
    "other.handoff": {
        "en": "{business}: let me get a team member to help. They'll text you back shortly.",
        "es": "{business}: le pediremos ayuda a alguien del equipo. Le escribirán pronto.",
    },
    "fallback.safe": {
        "en": "{business}: a team member will text you back shortly.",
        "es": "{business}: alguien del equipo le escribirá pronto.",
    },
}


class MissingSlot(KeyError):
    """A template variable has no value; the template must not be sent."""


_FORMATTER = string.Formatter()


def template_fields(template_id: str) -> frozenset[str]:
    """The variables a template needs (the same in every language)."""
    names: set[str] = set()
    for text in TEMPLATES[template_id].values():
        names.update(f for _, f, _, _ in _FORMATTER.parse(text) if f)
    return frozenset(names)


def render(template_id: str, language: str, variables: Mapping[str, str | None]) -> str:
    """The template in ``language`` (English when there is no such translation) with
    every variable filled; raises :class:`MissingSlot` when one is missing or empty."""
    texts = TEMPLATES[template_id]
    text = texts.get(language) or texts["en"]
    values: dict[str, str] = {}
    for name in template_fields(template_id):
        value = variables.get(name)
        if value is None or not str(value).strip():
            raise MissingSlot(name)
        values[name] = " ".join(str(value).split())
    return text.format(**values)


_HOURS_RE = re.compile(r"^\s*(\d{1,2}):?(\d{2})?\s*[-–]\s*(\d{1,2}):?(\d{2})?\s*$")


def _clock(hour: int, minute: int, compact: bool) -> str:
    h12 = hour % 12 or 12
    suffix = "am" if hour < 12 or hour == 24 else "pm"
    if compact and minute == 0:
        return f"{h12} {suffix}"
    return f"{h12}:{minute:02d} {suffix}"


def day_hours(spec: str | None, compact: bool = False) -> str | None:
    """ "08:00-17:00" → "8:00 am-5:00 pm" ("8 am-5 pm" compact); None when closed.
    A value in another form is shown as written."""
    if spec is None or not spec.strip():
        return None
    m = _HOURS_RE.match(spec)
    if not m:
        return spec.strip()
    h1, m1, h2, m2 = int(m[1]), int(m[2] or 0), int(m[3]), int(m[4] or 0)
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        return spec.strip()
    return f"{_clock(h1, m1, compact)}-{_clock(h2, m2, compact)}"


def week_hours(hours: Mapping[str, str | None], language: str) -> str | None:
    """Consecutive days with equal hours grouped: "Mon-Fri 8 am-5 pm, Sat 9 am-1 pm";
    closed days left out. None when no day has hours."""
    names = _DAY_NAMES.get(language, _DAY_NAMES["en"])
    groups: list[tuple[int, int, str]] = []
    for i, key in enumerate(DAY_KEYS):
        shown = day_hours(hours.get(key), compact=True)
        if shown is None:
            continue
        if groups and groups[-1][1] == i - 1 and groups[-1][2] == shown:
            groups[-1] = (groups[-1][0], i, shown)
        else:
            groups.append((i, i, shown))
    if not groups:
        return None
    parts = []
    for start, end, shown in groups:
        days = names[start] if start == end else f"{names[start]}-{names[end]}"
        parts.append(f"{days} {shown}")
    return ", ".join(parts)
