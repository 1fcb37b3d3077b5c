"""Slot extraction for the receptionist: when, where and who (receptionist.md §2.2).

A small, deterministic extractor for what people put in a text to a front desk:
relative days ("tomorrow", "mañana", "pasado mañana"), weekdays in English and
Spanish ("next tue", "el jueves"), numeric and month-name dates ("3/5",
"March 5", "5 de marzo"), clock times ("3pm", "4:30", "a las 3", "noon") and
parts of the day ("morning", "por la tarde"), US ZIP codes and self-introduced
names ("this is Ana Ruiz", "me llamo Ana"). Dates are resolved against ``now``
in the tenant's time zone, which the caller passes in (no clock here).

The extractor never guesses a time out of thin air: an hour without am/pm is read
as office hours (1-7 → pm), and a message with no time-like words yields nothing,
so a reschedule without a time asks the person instead of inventing one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "TimeExpr",
    "extract_name",
    "extract_time",
    "extract_zip",
    "fold",
]

_WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "lunes": 0, "lun": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "martes": 1,
    "wednesday": 2, "wed": 2, "weds": 2, "miercoles": 2, "mie": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "jueves": 3, "jue": 3,
    "friday": 4, "fri": 4, "viernes": 4, "vie": 4,
    "saturday": 5, "sat": 5, "sabado": 5, "sab": 5,
    "sunday": 6, "sun": 6, "domingo": 6, "dom": 6,
}  # fmt: skip
_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "enero": 1,
    "february": 2, "feb": 2, "febrero": 2,
    "march": 3, "mar": 3, "marzo": 3,
    "april": 4, "apr": 4, "abril": 4,
    "may": 5, "mayo": 5,
    "june": 6, "jun": 6, "junio": 6,
    "july": 7, "jul": 7, "julio": 7,
    "august": 8, "aug": 8, "agosto": 8,
    "september": 9, "sep": 9, "sept": 9, "septiembre": 9,
    "october": 10, "oct": 10, "octubre": 10,
    "november": 11, "nov": 11, "noviembre": 11,
    "december": 12, "dec": 12, "diciembre": 12,
}  # fmt: skip
_DOW_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MON_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_DOW_ES = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
_MON_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
_PART_ES = {"morning": "por la mañana", "afternoon": "por la tarde", "evening": "por la noche"}

_TRANSLATE = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)


def fold(text: str) -> str:
    """Matching form: NFKC, smart quotes to ASCII, casefolded, accents stripped, spaces
    collapsed. Emoji and punctuation are kept (they carry meaning: "👍", "?")."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    if not text.isascii():
        text = "".join(
            ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)
        )
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class TimeExpr:
    """A resolved "when": any of day, clock time and part of day may be missing."""

    day: date | None
    clock: time | None
    part: str | None  # morning | afternoon | evening

    def label(self, language: str = "en") -> str:
        """Short human form used in replies and slots: "Thu Mar 5 4:30 pm", "Thu morning";
        in Spanish "jue 5 mar 4:30 pm", "jue por la mañana"."""
        es = language == "es"
        parts: list[str] = []
        if self.day is not None:
            if es:
                parts.append(
                    f"{_DOW_ES[self.day.weekday()]} {self.day.day} {_MON_ES[self.day.month - 1]}"
                )
            else:
                parts.append(
                    f"{_DOW_SHORT[self.day.weekday()]} {_MON_SHORT[self.day.month - 1]} "
                    f"{self.day.day}"
                )
        if self.clock is not None:
            parts.append(format_clock(self.clock))
        elif self.part is not None:
            parts.append(_PART_ES[self.part] if es else self.part)
        return " ".join(parts)

    def slots(self) -> dict[str, str]:
        out = {"proposed_time": self.label()}
        if self.day is not None:
            out["proposed_date"] = self.day.isoformat()
        if self.clock is not None:
            out["proposed_clock"] = self.clock.strftime("%H:%M")
        if self.part is not None:
            out["proposed_part"] = self.part
        return out


def format_clock(t: time) -> str:
    """ "4:30 pm", "9:00 am" (the style of receptionist.md §2.4)."""
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}"


_WD_NAMES = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_RE = re.compile(
    rf"\b(?P<next>next\s+|proximo\s+|this\s+|este\s+)?(?P<wd>{_WD_NAMES})\b\.?"
)
# Short forms that are also ordinary words ("sun", "mar" = sea, "sat" = past of sit)
# count only with a cue: "next sat", "on wed", "sat at 10", "el mar".
_AMBIGUOUS_WD = frozenset({"mar", "sun", "sat", "dom", "vie", "jue", "mie", "sab", "lun", "wed"})
_CUE_AFTER_RE = re.compile(r"\s*(?:\d|at\b|@|a\s+las\b|morning|afternoon|evening)")
_DAY_AFTER_RE = re.compile(r"\bpasado\s+manana\b|\bday\s+after\s+tomorrow\b")
_TOMORROW_RE = re.compile(r"\b(?:tomorrow|tmrw|tmr|tomorow|tomm?orr?ow)\b")
# "mañana" is "tomorrow" unless it is "la mañana" / "de la mañana" (the morning).
_MANANA_RE = re.compile(r"(?<!la )(?<!las )\bmanana\b")
_TODAY_RE = re.compile(r"\b(?:today|tonight|hoy|esta\s+noche|esta\s+tarde)\b")
_NUMERIC_DATE_RE = re.compile(r"\b(?P<m>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])(?:/\d{2,4})?\b")
_MONTH_DATE_RE = re.compile(
    rf"\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\b"
    rf"|\b(?P<d2>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\s+(?:of\s+|de\s+)?(?P<mon2>{_MONTH_NAMES})\b"
)
_CLOCK_RE = re.compile(
    r"\b(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))?\s*(?P<ap>a\.?\s?m\.?|p\.?\s?m\.?|am|pm)(?![a-z])"
    r"|\b(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)\b"
    r"|\b(?:at|@|a\s+las|a\s+la|around|por\s+las|like)\s+(?P<hb>1[0-2]|0?[1-9])(?::(?P<mb>[0-5]\d))?\b"
    r"(?!\s*(?:min|minutes|minutos|hours|horas|mins|/))"
)
_NOON_RE = re.compile(r"\b(?:noon|midday|mediodia)\b")
_PART_RE = re.compile(
    r"\b(?P<morning>morning|mornings|am\b(?!\s*\d)|(?:por|en|de)\s+la\s+manana|temprano)"
    r"|\b(?P<afternoon>afternoon|afternoons|(?:por|en|de)\s+la\s+tarde)"
    r"|\b(?P<evening>evening|evenings|after\s+work|(?:por|en|de)\s+la\s+noche)\b"
)


def _next_weekday(today: date, weekday: int) -> date:
    """The next such weekday after today ("next Tue" and "Tue" alike: the nearest one)."""
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _month_day(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _find_day(low: str, today: date) -> date | None:
    if _DAY_AFTER_RE.search(low):
        return today + timedelta(days=2)
    if _TOMORROW_RE.search(low) or _MANANA_RE.search(low):
        return today + timedelta(days=1)
    m = _MONTH_DATE_RE.search(low)
    if m:
        mon = m.group("mon") or m.group("mon2")
        d = m.group("d") or m.group("d2")
        # "may" is also a verb: only a month when followed by a day number.
        return _month_day(today, _MONTHS[mon], int(d))
    m = _NUMERIC_DATE_RE.search(low)
    if m:
        return _month_day(today, int(m.group("m")), int(m.group("d")))
    for m in _WEEKDAY_RE.finditer(low):
        wd = m.group("wd")
        if wd in _AMBIGUOUS_WD and not (
            m.group("next")
            or re.search(rf"\b(?:on|el)\s+{wd}\b", low)
            or _CUE_AFTER_RE.match(low, m.end())
        ):
            continue
        return _next_weekday(today, _WEEKDAYS[wd])
    if _TODAY_RE.search(low):
        return today
    return None


def _find_clock(low: str) -> time | None:
    if _NOON_RE.search(low):
        return time(12, 0)
    for m in _CLOCK_RE.finditer(low):
        if m.group("h"):
            hour = int(m.group("h")) % 12
            if m.group("ap").startswith("p"):
                hour += 12
            return time(hour, int(m.group("m") or 0))
        if m.group("h24"):
            return time(int(m.group("h24")), int(m.group("m24")))
        if m.group("hb"):
            hour = int(m.group("hb"))
            if 1 <= hour <= 7:
                hour += 12
            return time(hour % 24, int(m.group("mb") or 0))
    return None


def _find_part(low: str) -> str | None:
    m = _PART_RE.search(low)
    if m is None:
        return None
    for name in ("morning", "afternoon", "evening"):
        if m.group(name):
            return name
    return None


def extract_time(text: str, now: datetime, timezone: str) -> TimeExpr | None:
    """The day and/or time a person proposes, resolved in the tenant's zone; None when
    the text names no day, clock time or part of day."""
    low = fold(text)
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    today = now.astimezone(zone).date() if now.tzinfo else now.date()
    day = _find_day(low, today)
    clock = _find_clock(low)
    part = None if clock is not None else _find_part(low)
    if day is None and clock is None and part is None:
        return None
    return TimeExpr(day=day, clock=clock, part=part)


_ZIP_RE = re.compile(r"(?<![\d:/$.-])(\d{5})(?:-\d{4})?(?![\d:/%])")


def extract_zip(text: str) -> str | None:
    """A US ZIP code (five digits standing alone; not part of a phone number or price)."""
    digits = sum(ch.isdigit() for ch in text)
    for m in _ZIP_RE.finditer(text):
        if digits <= 9 or re.search(r"\b(?:zip|zipcode|codigo postal|cp)\b", fold(text)):
            return m.group(1)
    return None


_NAME_INTRO_RE = re.compile(
    r"(?:\bmy\s+name\s+is|\bmy\s+name'?s|\bthis\s+is|\bname:|\bme\s+llamo|\bmi\s+nombre\s+es|"
    r"\bsoy|\bit'?s|\bcall\s+me)\s+(?P<name>[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+){0,2})",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset(
    {
        "the", "a", "an", "not", "just", "so", "very", "running", "going", "late", "here",
        "there", "ok", "okay", "fine", "me", "it", "is", "tarde", "yo", "de", "la", "el",
        "un", "una", "muy", "ridiculous", "terrible", "urgent", "about", "for",
    }
)  # fmt: skip


def extract_name(text: str) -> str | None:
    """A self-introduced name ("this is Ana Ruiz", "me llamo Ana"); capitalised words only,
    so "this is ridiculous" yields nothing."""
    norm = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    for m in _NAME_INTRO_RE.finditer(norm):
        words = m.group("name").split()
        kept: list[str] = []
        for w in words:
            if not w[0].isupper() or w.casefold() in _NOT_NAMES:
                break
            kept.append(w)
        if kept:
            return " ".join(kept)
    return None
