"""R-S-01 (GSM-7 vs UCS-2 and segment sizes) and T-17 (encoding surprises).

Golden cases from the rule catalogue plus properties that must hold for any body.
Agreement with Twilio's calculator itself is checked in ``test_segments_oracle.py``.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain import segments
from frontdesk.domain.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    SegmentCount,
    count,
    is_gsm7,
    smart_encode,
)

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


# --- the tables (3GPP TS 23.038) -------------------------------------------------------


def test_r_s_01_basic_table_has_127_characters_and_extension_table_10() -> None:
    assert len(GSM7_BASIC) == 127
    assert frozenset("\f^{}\\[~]|€") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_t_17_only_capital_c_cedilla_is_in_the_basic_table() -> None:
    assert "Ç" in GSM7_BASIC
    assert "ç" not in GSM7_BASIC
    assert "ç" not in GSM7_EXTENSION


@pytest.mark.parametrize("char", ["`", "\x1b", "\t", "\u00a0", "’", "—", "…", "á", "ç"])
def test_r_s_01_characters_outside_both_tables(char: str) -> None:
    assert not is_gsm7(char)


# --- GSM-7 sizes: 160 alone, 153 per part ---------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_r_s_01_gsm7_160_alone_then_153_per_segment(length: int, segments: int) -> None:
    result = count("a" * length)
    assert result.encoding is Encoding.GSM7
    assert result.segments == segments
    assert result.characters == result.units == length


def test_r_s_01_euro_sign_counts_two_septets() -> None:
    result = count("€")
    assert result == SegmentCount(Encoding.GSM7, 1, 1, 2, "€", ())
    assert count("a" * 158 + "€").segments == 1
    assert count("a" * 159 + "€").segments == 2


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_t_17_every_extension_character_costs_two_septets(char: str) -> None:
    assert count(char * 80).units == 160
    assert count(char * 80).segments == 1
    assert count(char * 81).segments == 2


def test_r_s_01_escape_pair_is_never_split_152_a_euro_152_a_is_3_segments() -> None:
    """design.md: 306 septets would fit 2 × 153, but € cannot straddle the boundary."""
    result = count("a" * 152 + "€" + "a" * 152)
    assert result.units == 306
    assert result.segments == 3


def test_r_s_01_escape_pair_that_fits_stays_in_two_segments() -> None:
    assert count("a" * 151 + "€" + "a" * 153).segments == 2


def test_r_s_01_crlf_is_two_characters_and_two_septets() -> None:
    result = count("a\r\nb")
    assert (result.encoding, result.characters, result.units) == (Encoding.GSM7, 4, 4)


# --- UCS-2 sizes: 70 alone, 67 per part ------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_r_s_01_ucs2_70_alone_then_67_per_segment(length: int, segments: int) -> None:
    result = count("中" * length)
    assert result.encoding is Encoding.UCS2
    assert result.segments == segments
    assert result.units == length


def test_r_s_01_emoji_is_two_utf16_units() -> None:
    assert count("x" * 68 + "😀").segments == 1
    assert count("x" * 69 + "😀").segments == 2
    assert count("x" * 69 + "😀").units == 71


def test_r_s_01_surrogate_pair_at_segment_boundary_moves_whole() -> None:
    """134 units would fit 2 × 67, but the emoji cannot start at unit 67 of part one."""
    result = count("x" * 66 + "😀" + "x" * 66)
    assert result.units == 134
    assert result.segments == 3
    assert count("x" * 65 + "😀" + "x" * 67).segments == 2


def test_r_s_01_zwj_family_is_one_character_and_never_split() -> None:
    result = count(FAMILY)
    assert (result.characters, result.units, result.non_gsm_characters) == (1, 11, (FAMILY,))
    # 13 families = 143 units: 6 per part (66 units), so 3 parts; never 2 × 67 + 9.
    assert count(FAMILY * 13).segments == 3
    assert count(FAMILY * 12).segments == 2


def test_r_s_01_skin_tone_emoji_is_one_character() -> None:
    assert count("👍🏽").characters == 1
    assert count("👍🏽").units == 4


def test_r_s_01_unicode_11_zwj_sequence_is_two_characters_like_the_oracle() -> None:
    """Documented conflict: the oracle's Unicode 10 rules do not glue 👩 ZWJ 🦰 (Unicode 11)."""
    assert count("👩\u200d🦰").non_gsm_characters == ("👩\u200d", "🦰")


# --- T-17: one character switches the whole message ------------------------------------


@pytest.mark.parametrize("intruder", ["’", "—", "ç", "😀", "\u00a0", "…"])
def test_t_17_one_non_gsm_character_switches_to_ucs2_and_doubles_segments(intruder: str) -> None:
    plain = "Your table is ready. Reply STOP to opt out. " * 2 + "See you soon!"
    assert count(plain) == SegmentCount(Encoding.GSM7, 1, len(plain), len(plain), plain, ())
    mixed = count(plain[:50] + intruder + plain[50:])
    assert mixed.encoding is Encoding.UCS2
    assert mixed.segments == 2
    assert mixed.non_gsm_characters == (intruder,)


def test_t_17_non_gsm_characters_are_listed_in_order_with_repeats() -> None:
    assert count("It’s 5–6 o’clock 😀").non_gsm_characters == ("’", "–", "’", "😀")


# --- smart encoding -------------------------------------------------------------------


def test_r_s_01_smart_encoding_brings_curly_apostrophe_back_to_gsm() -> None:
    result = count("It’s ready", smart_encoding=True)
    assert result == SegmentCount(Encoding.GSM7, 1, 10, 10, "It's ready", ())
    assert count("It’s ready").encoding is Encoding.UCS2


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("“Hi”", '"Hi"'),
        ("‘a’", "'a'"),
        ("5–6", "5-6"),
        ("now—go", "now-go"),
        ("wait…", "wait..."),
        ("a\u00a0b", "a  b"),
        ("a\tb", "a       b"),
        ("zero\u200bwidth", "zerowidth"),
        ("• item", "- item"),
        ("½", "1/2"),
        ("ç😀", "ç😀"),
    ],
)
def test_r_s_01_smart_encoding_table(text: str, encoded: str) -> None:
    assert smart_encode(text) == encoded


def test_r_s_01_smart_encoding_cannot_rescue_emoji_or_c_cedilla() -> None:
    assert count("Merci ç", smart_encoding=True).encoding is Encoding.UCS2
    assert count("Thanks — 😀", smart_encoding=True).non_gsm_characters == ("😀",)


# --- conventions -------------------------------------------------------------------------


def test_r_s_01_empty_body_is_one_gsm_segment_like_the_oracle() -> None:
    assert count("") == SegmentCount(Encoding.GSM7, 1, 0, 0, "", ())


def test_r_s_01_lone_surrogates_are_read_as_utf16() -> None:
    assert count("\ud83d\ude00") == count("😀")


# --- properties ---------------------------------------------------------------------------

_TOKENS = [
    *sorted(GSM7_BASIC),
    *sorted(GSM7_EXTENSION),
    "\r\n",
    "ç",
    "é",
    "e\u0301",
    "’",
    "—",
    "…",
    "\u00a0",
    "😀",
    "👍🏽",
    FAMILY,
    "🇺🇸",
    "\U0001f1eb",
    "中",
    "한",
    "\u200d",
]
_GSM_ONLY = sorted(GSM7_BASIC | GSM7_EXTENSION)

bodies = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=260).map("".join),
    st.lists(st.sampled_from(_GSM_ONLY), max_size=400).map("".join),
    st.text(max_size=200),
)


@given(bodies, bodies, st.booleans())
def test_r_s_01_segments_never_decrease_when_text_is_appended(
    head: str, tail: str, smart: bool
) -> None:
    assert (
        count(head + tail, smart_encoding=smart).segments
        >= count(head, smart_encoding=smart).segments
    )


@given(bodies.filter(bool), st.booleans())
def test_r_s_01_non_empty_body_has_at_least_one_segment(body: str, smart: bool) -> None:
    assert count(body, smart_encoding=smart).segments >= 1


@given(bodies)
def test_t_17_gsm7_iff_every_character_is_in_the_tables(body: str) -> None:
    in_tables = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body)
    result = count(body)
    assert (result.encoding is Encoding.GSM7) == in_tables == is_gsm7(body)
    assert (result.non_gsm_characters == ()) == in_tables


@given(bodies)
def test_r_s_01_units_are_septets_or_utf16_code_units(body: str) -> None:
    result = count(body)
    if result.encoding is Encoding.GSM7:
        assert result.units == len(body) + sum(ch in GSM7_EXTENSION for ch in body)
    else:
        assert result.units == len(body.encode("utf-16-le")) // 2
    assert result.body == body


@given(bodies, st.booleans())
def test_r_s_01_segments_are_never_fewer_than_the_capacity_allows(body: str, smart: bool) -> None:
    result = count(body, smart_encoding=smart)
    single, part = (160, 153) if result.encoding is Encoding.GSM7 else (70, 67)
    if result.units <= single:
        assert result.segments == 1
    else:
        assert result.segments >= math.ceil(result.units / part)


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=700))
def test_r_s_01_basic_gsm_text_packs_exactly_160_or_153(body: str) -> None:
    expected = 1 if len(body) <= 160 else math.ceil(len(body) / 153)
    assert count(body).segments == expected


def _placed_one_by_one(sizes: list[int]) -> int:
    """The oracle's ``_buildSegments`` transcribed literally (bits; 1120 per part, 48 header)."""
    parts: list[list[int]] = [[]]
    for size in sizes:
        if 1120 - sum(parts[-1]) < size:
            parts.append([48])
            if len(parts) == 2:
                first = [48, *parts[0]]
                moved: list[int] = []
                while sum(first) > 1120:
                    moved.insert(0, first.pop())
                parts[0] = first
                parts[-1].extend(moved)
        parts[-1].append(size)
    return len(parts)


@given(st.lists(st.sampled_from([7, 14, 16, 32, 64, 176, 1104, 1120, 1136, 1600]), max_size=300))
def test_r_s_01_segment_placement_equals_the_oracles_loop(sizes: list[int]) -> None:
    assert segments._segments(sizes) == _placed_one_by_one(sizes)


@given(st.integers(min_value=0, max_value=2000), st.sampled_from([7, 16]))
def test_r_s_01_uniform_shortcut_equals_placing_each_unit(units: int, bits: int) -> None:
    """The 160/153 and 70/67 shortcut is the general placement with one-unit clusters."""
    assert segments._uniform_segments(units, bits) == segments._segments([bits] * units)


@given(st.text(alphabet="中文字한국어Жب", max_size=300))
def test_r_s_01_single_unit_ucs2_text_packs_exactly_70_or_67(body: str) -> None:
    expected = 1 if len(body) <= 70 else math.ceil(len(body) / 67)
    assert count(body).segments == expected


@given(bodies)
def test_r_s_01_smart_encoding_is_count_of_the_smart_encoded_body(body: str) -> None:
    assert count(body, smart_encoding=True) == count(smart_encode(body))
