"""Receptionist intent rules, table-driven over data/intents/intents.tsv (receptionist.md §2.2).

The table holds labelled EN/ES texts with the dialogue context they arrive in
(``appt`` = a reminder is pending, ``appt_idle`` = the contact has an upcoming visit,
``offering_slots``, ``collecting_lead``, ``idle``). Requirements: overall accuracy
≥ 0.9, and every ``urgent``, ``cancel_appointment``, ``confirm_appointment`` and
``reschedule`` row right (§2.3 item 10: an emergency must never be missed; the
appointment actions change real bookings).

``split``: ``dev`` rows were written with the rules; ``heldout1`` and ``heldout2`` were
each written before the rules saw them (first-sight accuracy 0.690 and 0.717, mostly
misses to ``other``, which clarifies and then hands off), then the rules were widened.
New phrasings belong in a new split, measured before the rules change.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from frontdesk.receptionist.extract import extract_name, extract_time, extract_zip
from frontdesk.receptionist.intents import Intent, classify, detect_language

TABLE = Path(__file__).resolve().parents[2] / "data" / "intents" / "intents.tsv"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tue 11:00 in New York
TZ = "America/New_York"
STRICT = {"urgent", "cancel_appointment", "confirm_appointment", "reschedule"}
STATES = {
    "appt": ("awaiting_confirmation", True),
    "appt_idle": ("idle", True),
    "offering_slots": ("offering_slots", True),
    "collecting_lead": ("collecting_lead", False),
    "idle": ("idle", False),
}


def _rows() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


ROWS = _rows()


def _classify(row: dict[str, str]) -> Intent:
    state, has_appointment = STATES[row["context"]]
    return classify(
        row["text"], now=NOW, timezone=TZ, state=state, has_appointment=has_appointment
    ).intent


def test_table_is_a_few_hundred_labelled_rows_in_both_languages() -> None:
    assert len(ROWS) >= 300
    labels = {r["intent"] for r in ROWS}
    assert labels == {i.value for i in Intent}
    languages = Counter(r["language"] for r in ROWS)
    assert languages["en"] >= 200 and languages["es"] >= 80
    assert {r["context"] for r in ROWS} <= set(STATES)
    assert {r["split"] for r in ROWS} == {"dev", "heldout1", "heldout2"}


def test_accuracy_per_intent_over_the_table() -> None:
    """§2.2: overall ≥ 0.9; 1.0 on urgent, cancel, confirm and reschedule rows."""
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    misses: list[str] = []
    for row in ROWS:
        got = _classify(row)
        total[row["intent"]] += 1
        if got.value == row["intent"]:
            right[row["intent"]] += 1
        else:
            misses.append(f"{row['text']!r} ({row['context']}): want {row['intent']}, got {got}")
    report = "\n".join(
        f"{label:24} {right[label]:3}/{total[label]:3} = {right[label] / total[label]:.3f}"
        for label in sorted(total)
    )
    overall = sum(right.values()) / sum(total.values())
    print(f"\nintent accuracy (overall {overall:.3f}):\n{report}")
    assert overall >= 0.9, "\n".join(misses)
    for label in STRICT:
        assert right[label] == total[label], "\n".join(m for m in misses if f"want {label}" in m)


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["intent"] in STRICT], ids=lambda r: r["text"][:40]
)
def test_every_safety_and_booking_row_is_exact(row: dict[str, str]) -> None:
    assert _classify(row).value == row["intent"]


def test_language_detection_matches_the_table() -> None:
    wrong = [
        r["text"]
        for r in ROWS
        if len(r["text"]) > 3 and detect_language(r["text"], "en") != r["language"]
    ]
    assert len(wrong) <= len(ROWS) * 0.03, wrong


def test_short_answers_keep_the_conversation_language() -> None:
    assert detect_language("ok", "es") == "es"
    assert detect_language("C", "es") == "es"
    assert detect_language("👍", "en") == "en"


def test_yes_confirms_only_when_a_visit_is_pending() -> None:
    pending = classify("yes", now=NOW, timezone=TZ, state="awaiting_confirmation")
    assert pending.intent is Intent.CONFIRM_APPOINTMENT
    idle = classify("yes", now=NOW, timezone=TZ, state="idle", has_appointment=False)
    assert idle.intent is not Intent.CONFIRM_APPOINTMENT


def test_urgent_wins_over_every_other_intent() -> None:
    """§2.3 item 10: "cancel, my face is swollen" alerts staff first."""
    for text in (
        "cancel my appointment, my face is swollen",
        "who is this? I smell gas",
        "running late but my gums are bleeding a lot",
        "no quiero cancelar pero me duele mucho",
    ):
        assert classify(text, now=NOW, timezone=TZ, has_appointment=True).intent is Intent.URGENT


def test_negated_pain_is_not_urgent() -> None:
    for text in ("no pain, just want a cleaning", "will the cleaning hurt?"):
        assert classify(text, now=NOW, timezone=TZ).intent is not Intent.URGENT


def test_reschedule_wins_over_cancel() -> None:
    """A cancel-and-rebook request is routed to the non-destructive action."""
    m = classify("cancel and move it to friday 10am", now=NOW, timezone=TZ, has_appointment=True)
    assert m.intent is Intent.RESCHEDULE
    assert m.slots["proposed_date"] == "2026-03-13"
    assert m.slots["proposed_clock"] == "10:00"


# ---------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    ("text", "day", "clock", "part"),
    [
        ("tomorrow at 3pm", date(2026, 3, 11), time(15, 0), None),
        ("can we do thu 4:30pm", date(2026, 3, 12), time(16, 30), None),
        ("next tuesday morning", date(2026, 3, 17), None, "morning"),
        ("Friday at 2", date(2026, 3, 13), time(14, 0), None),
        ("today at noon", date(2026, 3, 10), time(12, 0), None),
        ("3/20 at 9:15 am", date(2026, 3, 20), time(9, 15), None),
        ("March 25 at 10am", date(2026, 3, 25), time(10, 0), None),
        ("mañana a las 3", date(2026, 3, 11), time(15, 0), None),
        ("pasado mañana por la tarde", date(2026, 3, 12), None, "afternoon"),
        ("el viernes por la mañana", date(2026, 3, 13), None, "morning"),
        ("5 de abril a las 11:00", date(2026, 4, 5), time(11, 0), None),
        ("afternoon works", None, None, "afternoon"),
        ("17:45", None, time(17, 45), None),
    ],
)
def test_extract_time(text: str, day: date | None, clock: time | None, part: str | None) -> None:
    expr = extract_time(text, NOW, TZ)
    assert expr is not None
    assert (expr.day, expr.clock, expr.part) == (day, clock, part)


@pytest.mark.parametrize(
    "text", ["I sat in traffic", "be there in 10 minutes", "thanks!", "call 415 555 0100"]
)
def test_no_time_is_invented(text: str) -> None:
    assert extract_time(text, NOW, TZ) is None


def test_today_is_the_tenant_zone_day() -> None:
    """02:00 UTC on Wed is still Tue evening in Los Angeles."""
    late = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    expr = extract_time("tomorrow", late, "America/Los_Angeles")
    assert expr is not None and expr.day == date(2026, 3, 11)


def test_time_labels_in_both_languages() -> None:
    expr = extract_time("thu 4:30pm", NOW, TZ)
    assert expr is not None
    assert expr.label() == "Thu Mar 12 4:30 pm"
    assert expr.label("es") == "jue 12 mar 4:30 pm"


def test_zip_and_names() -> None:
    assert extract_zip("my zip is 78701") == "78701"
    assert extract_zip("call me at 415 555 0100") is None
    assert extract_zip("it's $12000") is None
    assert extract_name("Hi, this is Ana Ruiz") == "Ana Ruiz"
    assert extract_name("Me llamo María López") == "María López"
    assert extract_name("this is ridiculous") is None
