"""SMS segment counting: GSM-7 vs UCS-2 and the number of parts a body costs (R-S-01, T-17).

Carriers bill and deliver an SMS in segments of 140 octets. A body is GSM-7 when every
character is in the 3GPP TS 23.038 default alphabet (basic table, or the extension table
whose characters cost two septets because they travel behind the 0x1B escape); one
character outside those tables switches the *whole* message to UCS-2 (T-17: a single
curly apostrophe, em dash, ``ç`` or emoji). Limits: GSM-7 160 septets alone, 153 per part
when concatenated; UCS-2 70 UTF-16 code units alone, 67 per part (the 6-octet user data
header that Twilio reserves in every part of a concatenated message).

The reference is Twilio's calculator, npm ``sms-segments-calculator@1.3.0``; this module
reproduces its algorithm exactly (``tests/domain/test_segments_oracle.py`` runs it):

* The body is split into grapheme clusters with the rules of the ``grapheme-splitter``
  package it uses (UAX #29 for Unicode 10.0, including that package's quirks); a
  ``"\\r\\n"`` cluster is split back into ``"\\r"`` and ``"\\n"``.
* The encoding is GSM-7 iff every cluster is one GSM character (basic or extension).
* Each cluster is placed whole: 7 bits per septet (14 for an extension character) in
  GSM-7, 16 bits per UTF-16 code unit in UCS-2 (GSM characters too). A cluster that does
  not fit opens a new segment; when the second segment opens, the first one receives its
  6-octet header and the clusters that no longer fit move on. So an escape pair, a
  surrogate pair and a whole grapheme (emoji with skin tone, ZWJ family, flag) are never
  split across segments: 152 × ``a`` + ``€`` + 152 × ``a`` is 3 segments, not 2.
* Known conflict with the wish "never split a grapheme": the oracle's graphemes are
  Unicode 10 clusters, so sequences that later Unicode versions glue together (e.g. the
  ZWJ sequence 👩‍🦰, red hair being an Unicode 11 emoji) are two clusters to the oracle and
  may be cut between them. Agreement with the oracle wins. A single cluster longer than a
  whole segment (e.g. a letter with 80 combining marks) takes an over-full segment of its
  own, exactly as the oracle does.
* Empty body convention: ``count("")`` is 1 segment, GSM-7, 0 characters, 0 units, as
  the oracle reports it (the single, empty, segment it starts with).
* Smart encoding (Twilio's option, off by default) first replaces code points from the
  oracle's table (curly quotes, dashes, NBSP and other spaces, ellipsis, fullwidth forms,
  invisible characters, tab) with GSM text, one code point at a time.

Strings that contain surrogate code points are first re-joined as UTF-16 would read
them (a high and a following low surrogate form one character), as JavaScript sees them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "Encoding",
    "SegmentCount",
    "count",
    "is_gsm7",
    "smart_encode",
]


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """What a body costs to send (R-S-01).

    ``characters`` is the number of user-visible characters as the oracle splits them:
    grapheme clusters (Unicode 10 rules, CR LF counted as two). For a GSM-7 body this is
    simply the number of code points. ``units`` is what fills the segments: septets for
    GSM-7 (an extension character counts 2) or UTF-16 code units for UCS-2 (an emoji
    outside the BMP counts 2). ``non_gsm_characters`` lists, in order and with repeats,
    the grapheme clusters that are not a single GSM character, i.e. those that forced
    UCS-2 (empty for GSM-7), like the oracle's ``getNonGsmCharacters()``.
    """

    encoding: Encoding
    segments: int
    characters: int
    units: int
    body: str
    non_gsm_characters: tuple[str, ...]


GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The 3GPP TS 23.038 basic table: 127 characters (the escape 0x1B is not text)."""

GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
"""The extension table reached through the escape: 2 septets each (form feed included)."""

_GSM7_ALL: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION

_PAYLOAD_BITS = 1120
_UDH_BITS = 48
_SEPTET_BITS = 7
_UCS2_UNIT_BITS = 16

_SURROGATE = re.compile("[\ud800-\udfff]")

# Grapheme_Cluster_Break values, numbered as grapheme-splitter numbers them.
_CR = 0
_LF = 1
_CONTROL = 2
_EXTEND = 3
_REGIONAL_INDICATOR = 4
_SPACING_MARK = 5
_L = 6
_V = 7
_T = 8
_LV = 9
_LVT = 10
_OTHER = 11
_PREPEND = 12
_E_BASE = 13
_E_MODIFIER = 14
_ZWJ = 15
_GLUE_AFTER_ZWJ = 16
_E_BASE_GAZ = 17

# Every code point whose Grapheme_Cluster_Break is not Other, in grapheme-splitter 1.0.4's
# table (Unicode 10.0.0 GraphemeBreakProperty.txt): tokens ``<gap><property><length>``, gap
# (code points since the previous range) and length in hex, property as a letter
# (A = 0 = CR ... R = 17 = E_Base_GAZ). The oracle test compares it code point by code point.
_GCB_RANGES = (
    "0Ca 0B1 0C2 0A1 0C12 5fC21 dC1 252D70 113D7 107D2d 1D1 1D2 1D2 1D1 38M6 aDb 1C1 2eD15 10D1 "
    "65D7 0M1 1D6 2D2 1D4 21M1 1D1 1eD1b 5bDb 3aD9 22D4 1D9 1D3 1D5 2bD3 78De 0M1 0D20 0F1 36D1 "
    "0F1 0D1 1F3 0D8 0F4 0D1 0F2 1D7 aD2 1dD1 0F2 38D1 1D1 0F2 0D4 2F2 2F2 0D1 9D1 aD2 1dD2 0F1 "
    "38D1 1F3 0D2 4D2 2D3 3D1 1eD2 3D1 bD2 0F1 38D1 1F3 0D5 1D2 0F1 1F2 0D1 14D2 16D6 1D1 0F2 "
    "38D1 1D2 0F1 0D4 2F2 2F2 0D1 8D2 aD2 1eD1 3bD1 0F1 0D1 0F2 3F3 1F3 0D1 9D1 28D1 0F3 3aD3 0F4 "
    "1D3 1D4 7D2 bD2 1dD1 0F2 38D1 1F1 0D1 0F2 0D1 0F2 1D1 0F2 1F2 0D2 7D2 bD2 1cD2 0F2 37D2 1D1 "
    "0F2 0D4 1F3 1F3 0D1 0M1 8D1 aD2 1eF2 46D1 4D1 0F2 0D3 1D1 1F7 0D1 12F2 3dD1 1F1 0D7 cD8 62D1 "
    "1F1 0D6 1D2 bD6 4aD2 1bD1 1D1 1D1 4F2 31De 0F1 0D5 1D2 5Db 1D24 9D1 66D4 0F1 0D6 1D2 0F2 0D2 "
    "17F2 0D2 4D3 10D4 dD1 1F1 0D2 6D1 fD1 62G60 0H48 0I58 15dD3 3b2D3 1dD3 1dD2 1eD2 40D2 0F1 "
    "0D7 0F8 0D1 0F2 0Db 9D1 2dD3 0C1 76D2 22D1 76D3 0F4 0D2 0F3 4F2 0D1 0F6 0D3 dbD2 0F2 0D1 "
    "39F1 0D1 0F1 0D7 1D1 1D1 2D8 0F6 0Da 2D1 30Df 41D4 0F1 2fD1 0F1 0D5 0F1 0D1 0F5 0D1 0F2 26D9 "
    "cD2 0F1 1eF1 0D4 0F2 0D2 0F1 0D3 38D1 0F1 0D2 0F3 0D1 0F1 0D3 0F2 30F8 0D8 0F2 0D2 98D3 1Dd "
    "0F1 0D7 4D1 4F2 0D1 2F1 0D2 c6D3a 1D5 20bC1 0D1 0P1 0C2 18C7 31C10 60D21 52cN1 22Q1 1Q1 52Q2 "
    "62N1 eQ1 1N4 56Q1 58aD3 8dD1 60D20 22aD6 69D2 75d4D4 1Da 20D2 50D2 110D1 3D1 4D1 17F2 0D2 "
    "0F1 58F2 32F10 0D2 1aD12 34D8 19Db 0F2 cG1d 3D3 0F1 2fD1 0F2 0D4 0F2 0D1 0F4 24D1 43D6 0F2 "
    "0D2 0F2 0D2 cD1 8D1 0F1 2eD1 33D1 1D3 2D2 5D2 1D1 29F1 0D2 0F2 5F1 0D1 ecF2 0D1 0F2 0D1 0F2 "
    "1F1 0D1 12J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b 0J1 0K1b "
    "cH17 4I31 4C800 1b1eD1 2e1D10 10D10 cfC1 9eD2 50Cc 201D1 e2D1 95D5 686D3 1D2 5D4 28D3 4D1 "
    "a5D2 519F1 0D1 0F1 35Df 38D3 0F1 2dF3 0D4 0F2 0D2 2M1 42D3 24D5 0F1 0D8 3eD1 cD2 0F1 30F3 "
    "0D9 0F2 1M2 6D3 5fF3 0D3 0F2 0D1 0F1 0D2 6D1 a0D1 0F3 0D8 15D2 0F2 38D1 1D1 0F1 0D1 0F4 2F2 "
    "2F3 9D1 aF2 2D7 3D5 c0F3 0D8 0F2 0D3 0F1 0D1 69D1 0F2 0D6 0F1 0D1 0F2 0D1 0F1 0D2 0F1 0D2 "
    "ebD1 0F2 0D4 2F4 0D2 0F1 0D2 1bD2 52F3 0D8 0F2 0D1 0F1 0D2 6aD1 0F1 0D1 0F2 0D6 0F1 0D1 65D3 "
    "0F2 0D4 0F1 0D5 2d5D6 0F2 0D2 28D6 0F1 0M1 0D4 8D1 9D6 0F2 0D3 2aM4 0Dd 0F1 0D2 195F1 0D7 "
    "1D6 0F1 0D1 52D16 1F1 0D7 0F1 0D2 0F1 0D2 7aD6 3D1 1D2 1D7 0M1 0D1 4da8D5 3bD7 41aF2e 10D4 "
    "4d0aD2 1C4 14c1D1 0F1 0D3 3F1 0D5 0C8 0D8 2D7 1eD4 94D3 7bbD37 4D32 8D1 eD1 16D5 1Df 550D7 "
    "1D11 2D7 1D2 1D5 8a5D7 6dD7 89bE1a 108Q1 35Q1 34Q1 11N1 dQ1 10Q1 3Q1 19N3 2N1 2N3 1eQ1 1Q1 "
    "dO5 42N2 2Nb 15R4 4N1 1N9 3N1 4N3 1N3 3Q1 1eN1 10Q2 6aQ1 4Q1 47N2 4N1 15N1 4N2 51Q1 5cN3 3N5 "
    "30Q1 11Q1 10N1 10N3 9N1 bN1 24bN5 1N2 6N1 9Na 3N2 92Nd c0622C20 0D60 0C80 0Df0 0Ce10 "
)


def _build_gcb_table() -> bytearray:
    table = bytearray([_OTHER]) * 0x110000
    start = 0
    for gap, prop, length in re.findall(r"([0-9a-f]+)([A-R])([0-9a-f]+)", _GCB_RANGES):
        start += int(gap, 16)
        end = start + int(length, 16)
        table[start:end] = bytes([ord(prop) - ord("A")]) * (end - start)
        start = end
    return table


_GCB = _build_gcb_table()

# Twilio smart encoding, as sms-segments-calculator 1.3.0's SmartEncodingMap has it.
_SMART_ENCODING: dict[str, str] = {
    "\u00ab": '"',  # LEFT-POINTING DOUBLE ANGLE QUOTATION MARK
    "\u00bb": '"',  # RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK
    "\u201c": '"',  # LEFT DOUBLE QUOTATION MARK
    "\u201d": '"',  # RIGHT DOUBLE QUOTATION MARK
    "\u02ba": '"',  # MODIFIER LETTER DOUBLE PRIME
    "\u02ee": '"',  # MODIFIER LETTER DOUBLE APOSTROPHE
    "\u201f": '"',  # DOUBLE HIGH-REVERSED-9 QUOTATION MARK
    "\u201e": '"',  # DOUBLE LOW-9 QUOTATION MARK
    "\u275d": '"',  # HEAVY DOUBLE TURNED COMMA QUOTATION MARK ORNAMENT
    "\u275e": '"',  # HEAVY DOUBLE COMMA QUOTATION MARK ORNAMENT
    "\u301d": '"',  # REVERSED DOUBLE PRIME QUOTATION MARK
    "\u301e": '"',  # DOUBLE PRIME QUOTATION MARK
    "\uff02": '"',  # FULLWIDTH QUOTATION MARK
    "\u2018": "'",  # LEFT SINGLE QUOTATION MARK
    "\u2019": "'",  # RIGHT SINGLE QUOTATION MARK
    "\u02bb": "'",  # MODIFIER LETTER TURNED COMMA
    "\u02c8": "'",  # MODIFIER LETTER VERTICAL LINE
    "\u02bc": "'",  # MODIFIER LETTER APOSTROPHE
    "\u02bd": "'",  # MODIFIER LETTER REVERSED COMMA
    "\u02b9": "'",  # MODIFIER LETTER PRIME
    "\u201b": "'",  # SINGLE HIGH-REVERSED-9 QUOTATION MARK
    "\uff07": "'",  # FULLWIDTH APOSTROPHE
    "\u00b4": "'",  # ACUTE ACCENT
    "\u02ca": "'",  # MODIFIER LETTER ACUTE ACCENT
    "\u0060": "'",  # GRAVE ACCENT
    "\u02cb": "'",  # MODIFIER LETTER GRAVE ACCENT
    "\u275b": "'",  # HEAVY SINGLE TURNED COMMA QUOTATION MARK ORNAMENT
    "\u275c": "'",  # HEAVY SINGLE COMMA QUOTATION MARK ORNAMENT
    "\u0313": "'",  # COMBINING COMMA ABOVE
    "\u0314": "'",  # COMBINING REVERSED COMMA ABOVE
    "\ufe10": "'",  # PRESENTATION FORM FOR VERTICAL COMMA
    "\ufe11": "'",  # PRESENTATION FORM FOR VERTICAL IDEOGRAPHIC COMMA
    "\u00f7": "/",  # DIVISION SIGN
    "\u00bc": "1/4",  # VULGAR FRACTION ONE QUARTER
    "\u00bd": "1/2",  # VULGAR FRACTION ONE HALF
    "\u00be": "3/4",  # VULGAR FRACTION THREE QUARTERS
    "\u29f8": "/",  # BIG SOLIDUS
    "\u0337": "/",  # COMBINING SHORT SOLIDUS OVERLAY
    "\u0338": "/",  # COMBINING LONG SOLIDUS OVERLAY
    "\u2044": "/",  # FRACTION SLASH
    "\u2215": "/",  # DIVISION SLASH
    "\uff0f": "/",  # FULLWIDTH SOLIDUS
    "\u29f9": "\\",  # BIG REVERSE SOLIDUS
    "\u29f5": "\\",  # REVERSE SOLIDUS OPERATOR
    "\u20e5": "\\",  # COMBINING REVERSE SOLIDUS OVERLAY
    "\ufe68": "\\",  # SMALL REVERSE SOLIDUS
    "\uff3c": "\\",  # FULLWIDTH REVERSE SOLIDUS
    "\u0332": "_",  # COMBINING LOW LINE
    "\uff3f": "_",  # FULLWIDTH LOW LINE
    "\u20d2": "|",  # COMBINING LONG VERTICAL LINE OVERLAY
    "\u20d3": "|",  # COMBINING SHORT VERTICAL LINE OVERLAY
    "\u2223": "|",  # DIVIDES
    "\uff5c": "|",  # FULLWIDTH VERTICAL LINE
    "\u23b8": "|",  # LEFT VERTICAL BOX LINE
    "\u23b9": "|",  # RIGHT VERTICAL BOX LINE
    "\u23d0": "|",  # VERTICAL LINE EXTENSION
    "\u239c": "|",  # LEFT PARENTHESIS EXTENSION
    "\u239f": "|",  # RIGHT PARENTHESIS EXTENSION
    "\u23bc": "-",  # HORIZONTAL SCAN LINE-7
    "\u23bd": "-",  # HORIZONTAL SCAN LINE-9
    "\u2015": "-",  # HORIZONTAL BAR
    "\ufe63": "-",  # SMALL HYPHEN-MINUS
    "\uff0d": "-",  # FULLWIDTH HYPHEN-MINUS
    "\u2010": "-",  # HYPHEN
    "\u2043": "-",  # HYPHEN BULLET
    "\ufe6b": "@",  # SMALL COMMERCIAL AT
    "\uff20": "@",  # FULLWIDTH COMMERCIAL AT
    "\ufe69": "$",  # SMALL DOLLAR SIGN
    "\uff04": "$",  # FULLWIDTH DOLLAR SIGN
    "\u01c3": "!",  # LATIN LETTER RETROFLEX CLICK
    "\ufe15": "!",  # PRESENTATION FORM FOR VERTICAL EXCLAMATION MARK
    "\ufe57": "!",  # SMALL EXCLAMATION MARK
    "\uff01": "!",  # FULLWIDTH EXCLAMATION MARK
    "\ufe5f": "#",  # SMALL NUMBER SIGN
    "\uff03": "#",  # FULLWIDTH NUMBER SIGN
    "\ufe6a": "%",  # SMALL PERCENT SIGN
    "\uff05": "%",  # FULLWIDTH PERCENT SIGN
    "\ufe60": "&",  # SMALL AMPERSAND
    "\uff06": "&",  # FULLWIDTH AMPERSAND
    "\u201a": ",",  # SINGLE LOW-9 QUOTATION MARK
    "\u0326": ",",  # COMBINING COMMA BELOW
    "\ufe50": ",",  # SMALL COMMA
    "\ufe51": ",",  # SMALL IDEOGRAPHIC COMMA
    "\uff0c": ",",  # FULLWIDTH COMMA
    "\uff64": ",",  # HALFWIDTH IDEOGRAPHIC COMMA
    "\u2768": "(",  # MEDIUM LEFT PARENTHESIS ORNAMENT
    "\u276a": "(",  # MEDIUM FLATTENED LEFT PARENTHESIS ORNAMENT
    "\ufe59": "(",  # SMALL LEFT PARENTHESIS
    "\uff08": "(",  # FULLWIDTH LEFT PARENTHESIS
    "\u27ee": "(",  # MATHEMATICAL LEFT FLATTENED PARENTHESIS
    "\u2985": "(",  # LEFT WHITE PARENTHESIS
    "\u2769": ")",  # MEDIUM RIGHT PARENTHESIS ORNAMENT
    "\u276b": ")",  # MEDIUM FLATTENED RIGHT PARENTHESIS ORNAMENT
    "\ufe5a": ")",  # SMALL RIGHT PARENTHESIS
    "\uff09": ")",  # FULLWIDTH RIGHT PARENTHESIS
    "\u27ef": ")",  # MATHEMATICAL RIGHT FLATTENED PARENTHESIS
    "\u2986": ")",  # RIGHT WHITE PARENTHESIS
    "\u204e": "*",  # LOW ASTERISK
    "\u2217": "*",  # ASTERISK OPERATOR
    "\u229b": "*",  # CIRCLED ASTERISK OPERATOR
    "\u2722": "*",  # FOUR TEARDROP-SPOKED ASTERISK
    "\u2723": "*",  # FOUR BALLOON-SPOKED ASTERISK
    "\u2724": "*",  # HEAVY FOUR BALLOON-SPOKED ASTERISK
    "\u2725": "*",  # FOUR CLUB-SPOKED ASTERISK
    "\u2731": "*",  # HEAVY ASTERISK
    "\u2732": "*",  # OPEN CENTRE ASTERISK
    "\u2733": "*",  # EIGHT SPOKED ASTERISK
    "\u273a": "*",  # SIXTEEN POINTED ASTERISK
    "\u273b": "*",  # TEARDROP-SPOKED ASTERISK
    "\u273c": "*",  # OPEN CENTRE TEARDROP-SPOKED ASTERISK
    "\u273d": "*",  # HEAVY TEARDROP-SPOKED ASTERISK
    "\u2743": "*",  # HEAVY TEARDROP-SPOKED PINWHEEL ASTERISK
    "\u2749": "*",  # BALLOON-SPOKED ASTERISK
    "\u274a": "*",  # EIGHT TEARDROP-SPOKED PROPELLER ASTERISK
    "\u274b": "*",  # HEAVY EIGHT TEARDROP-SPOKED PROPELLER ASTERISK
    "\u29c6": "*",  # SQUARED ASTERISK
    "\ufe61": "*",  # SMALL ASTERISK
    "\uff0a": "*",  # FULLWIDTH ASTERISK
    "\u02d6": "+",  # MODIFIER LETTER PLUS SIGN
    "\ufe62": "+",  # SMALL PLUS SIGN
    "\uff0b": "+",  # FULLWIDTH PLUS SIGN
    "\u3002": ".",  # IDEOGRAPHIC FULL STOP
    "\ufe52": ".",  # SMALL FULL STOP
    "\uff0e": ".",  # FULLWIDTH FULL STOP
    "\uff61": ".",  # HALFWIDTH IDEOGRAPHIC FULL STOP
    "\uff10": "0",  # FULLWIDTH DIGIT ZERO
    "\uff11": "1",  # FULLWIDTH DIGIT ONE
    "\uff12": "2",  # FULLWIDTH DIGIT TWO
    "\uff13": "3",  # FULLWIDTH DIGIT THREE
    "\uff14": "4",  # FULLWIDTH DIGIT FOUR
    "\uff15": "5",  # FULLWIDTH DIGIT FIVE
    "\uff16": "6",  # FULLWIDTH DIGIT SIX
    "\uff17": "7",  # FULLWIDTH DIGIT SEVEN
    "\uff18": "8",  # FULLWIDTH DIGIT EIGHT
    "\uff19": "9",  # FULLWIDTH DIGIT NINE
    "\u02d0": ":",  # MODIFIER LETTER TRIANGULAR COLON
    "\u02f8": ":",  # MODIFIER LETTER RAISED COLON
    "\u2982": ":",  # Z NOTATION TYPE COLON
    "\ua789": ":",  # MODIFIER LETTER COLON
    "\ufe13": ":",  # PRESENTATION FORM FOR VERTICAL COLON
    "\uff1a": ":",  # FULLWIDTH COLON
    "\u204f": ";",  # REVERSED SEMICOLON
    "\ufe14": ";",  # PRESENTATION FORM FOR VERTICAL SEMICOLON
    "\ufe54": ";",  # SMALL SEMICOLON
    "\uff1b": ";",  # FULLWIDTH SEMICOLON
    "\ufe64": "<",  # SMALL LESS-THAN SIGN
    "\uff1c": "<",  # FULLWIDTH LESS-THAN SIGN
    "\u0347": "=",  # COMBINING EQUALS SIGN BELOW
    "\ua78a": "=",  # MODIFIER LETTER SHORT EQUALS SIGN
    "\ufe66": "=",  # SMALL EQUALS SIGN
    "\uff1d": "=",  # FULLWIDTH EQUALS SIGN
    "\ufe65": ">",  # SMALL GREATER-THAN SIGN
    "\uff1e": ">",  # FULLWIDTH GREATER-THAN SIGN
    "\ufe16": "?",  # PRESENTATION FORM FOR VERTICAL QUESTION MARK
    "\ufe56": "?",  # SMALL QUESTION MARK
    "\uff1f": "?",  # FULLWIDTH QUESTION MARK
    "\uff21": "A",  # FULLWIDTH LATIN CAPITAL LETTER A
    "\u1d00": "A",  # LATIN LETTER SMALL CAPITAL A
    "\uff22": "B",  # FULLWIDTH LATIN CAPITAL LETTER B
    "\u0299": "B",  # LATIN LETTER SMALL CAPITAL B
    "\uff23": "C",  # FULLWIDTH LATIN CAPITAL LETTER C
    "\u1d04": "C",  # LATIN LETTER SMALL CAPITAL C
    "\uff24": "D",  # FULLWIDTH LATIN CAPITAL LETTER D
    "\u1d05": "D",  # LATIN LETTER SMALL CAPITAL D
    "\uff25": "E",  # FULLWIDTH LATIN CAPITAL LETTER E
    "\u1d07": "E",  # LATIN LETTER SMALL CAPITAL E
    "\uff26": "F",  # FULLWIDTH LATIN CAPITAL LETTER F
    "\ua730": "F",  # LATIN LETTER SMALL CAPITAL F
    "\uff27": "G",  # FULLWIDTH LATIN CAPITAL LETTER G
    "\u0262": "G",  # LATIN LETTER SMALL CAPITAL G
    "\uff28": "H",  # FULLWIDTH LATIN CAPITAL LETTER H
    "\u029c": "H",  # LATIN LETTER SMALL CAPITAL H
    "\uff29": "I",  # FULLWIDTH LATIN CAPITAL LETTER I
    "\u026a": "I",  # LATIN LETTER SMALL CAPITAL I
    "\uff2a": "J",  # FULLWIDTH LATIN CAPITAL LETTER J
    "\u1d0a": "J",  # LATIN LETTER SMALL CAPITAL J
    "\uff2b": "K",  # FULLWIDTH LATIN CAPITAL LETTER K
    "\u1d0b": "K",  # LATIN LETTER SMALL CAPITAL K
    "\uff2c": "L",  # FULLWIDTH LATIN CAPITAL LETTER L
    "\u029f": "L",  # LATIN LETTER SMALL CAPITAL L
    "\uff2d": "M",  # FULLWIDTH LATIN CAPITAL LETTER M
    "\u1d0d": "M",  # LATIN LETTER SMALL CAPITAL M
    "\uff2e": "N",  # FULLWIDTH LATIN CAPITAL LETTER N
    "\u0274": "N",  # LATIN LETTER SMALL CAPITAL N
    "\uff2f": "O",  # FULLWIDTH LATIN CAPITAL LETTER O
    "\u1d0f": "O",  # LATIN LETTER SMALL CAPITAL O
    "\uff30": "P",  # FULLWIDTH LATIN CAPITAL LETTER P
    "\u1d18": "P",  # LATIN LETTER SMALL CAPITAL P
    "\uff31": "Q",  # FULLWIDTH LATIN CAPITAL LETTER Q
    "\uff32": "R",  # FULLWIDTH LATIN CAPITAL LETTER R
    "\u0280": "R",  # LATIN LETTER SMALL CAPITAL R
    "\uff33": "S",  # FULLWIDTH LATIN CAPITAL LETTER S
    "\ua731": "S",  # LATIN LETTER SMALL CAPITAL S
    "\uff34": "T",  # FULLWIDTH LATIN CAPITAL LETTER T
    "\u1d1b": "T",  # LATIN LETTER SMALL CAPITAL T
    "\uff35": "U",  # FULLWIDTH LATIN CAPITAL LETTER U
    "\u1d1c": "U",  # LATIN LETTER SMALL CAPITAL U
    "\uff36": "V",  # FULLWIDTH LATIN CAPITAL LETTER V
    "\u1d20": "V",  # LATIN LETTER SMALL CAPITAL V
    "\uff37": "W",  # FULLWIDTH LATIN CAPITAL LETTER W
    "\u1d21": "W",  # LATIN LETTER SMALL CAPITAL W
    "\uff38": "X",  # FULLWIDTH LATIN CAPITAL LETTER X
    "\uff39": "Y",  # FULLWIDTH LATIN CAPITAL LETTER Y
    "\u028f": "Y",  # LATIN LETTER SMALL CAPITAL Y
    "\uff3a": "Z",  # FULLWIDTH LATIN CAPITAL LETTER Z
    "\u1d22": "Z",  # LATIN LETTER SMALL CAPITAL Z
    "\u02c6": "^",  # MODIFIER LETTER CIRCUMFLEX ACCENT
    "\u0302": "^",  # COMBINING CIRCUMFLEX ACCENT
    "\uff3e": "^",  # FULLWIDTH CIRCUMFLEX ACCENT
    "\u1dcd": "^",  # COMBINING DOUBLE CIRCUMFLEX ABOVE
    "\u2774": "{",  # MEDIUM LEFT CURLY BRACKET ORNAMENT
    "\ufe5b": "{",  # SMALL LEFT CURLY BRACKET
    "\uff5b": "{",  # FULLWIDTH LEFT CURLY BRACKET
    "\u2775": "}",  # MEDIUM RIGHT CURLY BRACKET ORNAMENT
    "\ufe5c": "}",  # SMALL RIGHT CURLY BRACKET
    "\uff5d": "}",  # FULLWIDTH RIGHT CURLY BRACKET
    "\uff3b": "[",  # FULLWIDTH LEFT SQUARE BRACKET
    "\uff3d": "]",  # FULLWIDTH RIGHT SQUARE BRACKET
    "\u02dc": "~",  # SMALL TILDE
    "\u02f7": "~",  # MODIFIER LETTER LOW TILDE
    "\u0303": "~",  # COMBINING TILDE
    "\u0330": "~",  # COMBINING TILDE BELOW
    "\u0334": "~",  # COMBINING TILDE OVERLAY
    "\u223c": "~",  # TILDE OPERATOR
    "\uff5e": "~",  # FULLWIDTH TILDE
    "\u00a0": "  ",  # NO-BREAK SPACE
    "\u2000": "  ",  # EN QUAD
    "\u2002": "  ",  # EN SPACE
    "\u2003": "  ",  # EM SPACE
    "\u2004": "  ",  # THREE-PER-EM SPACE
    "\u2005": "  ",  # FOUR-PER-EM SPACE
    "\u2006": "  ",  # SIX-PER-EM SPACE
    "\u2007": "  ",  # FIGURE SPACE
    "\u2008": "  ",  # PUNCTUATION SPACE
    "\u2009": "  ",  # THIN SPACE
    "\u200a": "  ",  # HAIR SPACE
    "\u202f": "  ",  # NARROW NO-BREAK SPACE
    "\u205f": "  ",  # MEDIUM MATHEMATICAL SPACE
    "\u3000": "  ",  # IDEOGRAPHIC SPACE
    "\u008d": "  ",  # <control>
    "\u009f": "  ",  # <control>
    "\u0080": "  ",  # <control>
    "\u0090": "  ",  # <control>
    "\u009b": "  ",  # <control>
    "\u0010": "",  # <control>
    "\u0009": "       ",  # <control>
    "\u0000": "",  # <control>
    "\u0003": "",  # <control>
    "\u0004": "",  # <control>
    "\u0017": "",  # <control>
    "\u0019": "",  # <control>
    "\u0011": "",  # <control>
    "\u0012": "",  # <control>
    "\u0013": "",  # <control>
    "\u0014": "",  # <control>
    "\u2060": "",  # WORD JOINER
    "\u2017": "_",  # DOUBLE LOW LINE
    "\u2014": "-",  # EM DASH
    "\u2013": "-",  # EN DASH
    "\u2039": "<",  # SINGLE LEFT-POINTING ANGLE QUOTATION MARK
    "\u203a": ">",  # SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
    "\u203c": "!!",  # DOUBLE EXCLAMATION MARK
    "\u2028": " ",  # LINE SEPARATOR
    "\u2029": " ",  # PARAGRAPH SEPARATOR
    "\u2026": "...",  # HORIZONTAL ELLIPSIS
    "\u2001": " ",  # EM QUAD
    "\u200b": "",  # ZERO WIDTH SPACE
    "\u200c": "",  # ZERO WIDTH NON-JOINER
    "\u3001": ",",  # IDEOGRAPHIC COMMA
    "\ufeff": "",  # ZERO WIDTH NO-BREAK SPACE
    "\u2022": "-",  # BULLET
}
_SMART_TABLE = str.maketrans(_SMART_ENCODING)


def smart_encode(body: str) -> str:
    """Replace look-alike characters by GSM text, as Twilio's Smart Encoding does (R-S-01).

    Curly quotes become straight ones, en/em dashes and bullets ``-``, the ellipsis
    ``...``, NBSP and the other wide spaces two spaces (the oracle's choice), a tab seven
    spaces, zero-width and control characters nothing. Other characters are kept.
    """
    return _rejoin_surrogates(body).translate(_SMART_TABLE)


def is_gsm7(body: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table (R-S-01, T-17)."""
    return _GSM7_ALL.issuperset(body)


@lru_cache(maxsize=8192)
def count(body: str, *, smart_encoding: bool = False) -> SegmentCount:
    """Count encoding, segments, characters and units of an SMS body (R-S-01, T-17).

    Agrees with Twilio's ``sms-segments-calculator@1.3.0`` on encoding and segment count
    (see the module docstring for its rules). ``count("")`` is 1 GSM-7 segment with 0
    characters: the oracle's convention for an empty body.
    """
    text = smart_encode(body) if smart_encoding else _rejoin_surrogates(body)
    if is_gsm7(text):
        escapes = sum(text.count(ch) for ch in GSM7_EXTENSION)
        if escapes:
            sizes = [_SEPTET_BITS if ch in GSM7_BASIC else 2 * _SEPTET_BITS for ch in text]
            parts = _segments(sizes)
        else:
            parts = _uniform_segments(len(text), _SEPTET_BITS)
        return SegmentCount(
            encoding=Encoding.GSM7,
            segments=parts,
            characters=len(text),
            units=len(text) + escapes,
            body=text,
            non_gsm_characters=(),
        )
    clusters = _graphemes(text)
    units = _utf16_units(text)
    if units == len(clusters):
        parts = _uniform_segments(units, _UCS2_UNIT_BITS)
    else:
        parts = _segments(
            [
                _UCS2_UNIT_BITS * (2 if c > "\uffff" else 1)
                if len(c) == 1
                else _UCS2_UNIT_BITS * _utf16_units(c)
                for c in clusters
            ]
        )
    return SegmentCount(
        encoding=Encoding.UCS2,
        segments=parts,
        characters=len(clusters),
        units=units,
        body=text,
        non_gsm_characters=tuple(
            cluster for cluster in clusters if len(cluster) != 1 or cluster not in _GSM7_ALL
        ),
    )


def _rejoin_surrogates(body: str) -> str:
    if _SURROGATE.search(body) is None:
        return body
    return body.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _uniform_segments(units: int, bits_per_unit: int) -> int:
    """``_segments`` for clusters of one unit each: 160/153 septets or 70/67 code units."""
    if units * bits_per_unit <= _PAYLOAD_BITS:
        return 1
    per_part = (_PAYLOAD_BITS - _UDH_BITS) // bits_per_unit
    return -(-units // per_part)


def _segments(sizes: list[int]) -> int:
    """Place each cluster whole, the way the oracle's ``_buildSegments`` does.

    A cluster that does not fit in the free bits of the current segment opens a new one
    (which starts with the 48-bit header) and goes there even if it overflows it. When the
    second segment opens, the first receives its header too and its last clusters move on
    until it fits again. Each segment's end is found by bisecting the prefix sums.
    """
    prefix = [0, *accumulate(sizes)]
    total = len(sizes)
    if prefix[total] <= _PAYLOAD_BITS:
        return 1
    first_end = bisect_right(prefix, _PAYLOAD_BITS) - 1
    kept = bisect_right(prefix, _PAYLOAD_BITS - _UDH_BITS, 0, first_end + 1) - 1
    used = _UDH_BITS + prefix[first_end] - prefix[kept] + sizes[first_end]
    segments = 2
    index = first_end + 1
    while index < total:
        limit = _PAYLOAD_BITS - used + prefix[index]
        stop = max(index, bisect_right(prefix, limit, index) - 1)
        if stop >= total:
            break
        segments += 1
        used = _UDH_BITS + sizes[stop]
        index = stop + 1
    return segments


def _graphemes(text: str) -> list[str]:
    """Split into grapheme clusters as grapheme-splitter 1.0.4 does, then CR LF into two."""
    props = [_GCB[ord(ch)] for ch in text]
    length = len(text)
    if props.count(_OTHER) == length:
        return list(text)
    clusters: list[str] = []
    index = 0
    while index < length:
        end = length
        start = props[index]
        mid: list[int] = []
        for i in range(index + 1, length):
            nxt = props[i]
            if nxt == _OTHER and (mid[-1] if mid else start) != _PREPEND:
                end = i
                break
            if _should_break(start, mid, nxt):
                end = i
                break
            mid.append(nxt)
        cluster = text[index:end]
        if cluster == "\r\n":
            clusters += ("\r", "\n")
        else:
            clusters.append(cluster)
        index = end
    return clusters


def _should_break(start: int, mid: list[int], nxt: int) -> bool:
    """grapheme-splitter 1.0.4's ``shouldBreak``, rule for rule (UAX #29, Unicode 10)."""
    seq = [start, *mid, nxt]
    previous = seq[-2]
    if nxt == _OTHER and previous != _PREPEND:
        return True

    last_modifier = _last_index(seq, _E_MODIFIER)
    if (
        last_modifier > 1
        and all(c == _EXTEND for c in seq[1:last_modifier])
        and start not in (_EXTEND, _E_BASE, _E_BASE_GAZ)
    ):
        return True
    last_ri = _last_index(seq, _REGIONAL_INDICATOR)
    if (
        last_ri > 0
        and all(c == _REGIONAL_INDICATOR for c in seq[1:last_ri])
        and previous not in (_PREPEND, _REGIONAL_INDICATOR)
    ):
        return True

    if previous == _CR and nxt == _LF:
        return False
    if previous in (_CONTROL, _CR, _LF) or nxt in (_CONTROL, _CR, _LF):
        return True
    if previous == _L and nxt in (_L, _V, _LV, _LVT):
        return False
    if previous in (_LV, _V) and nxt in (_V, _T):
        return False
    if previous in (_LVT, _T) and nxt == _T:
        return False
    if nxt in (_EXTEND, _ZWJ, _SPACING_MARK) or previous == _PREPEND:
        return False

    last_extend = _last_index(seq, _EXTEND)
    base = last_extend - 1 if last_extend != -1 else len(seq) - 2
    if (
        base >= 0
        and seq[base] in (_E_BASE, _E_BASE_GAZ)
        and all(c == _EXTEND for c in seq[base + 1 : -1])
        and nxt == _E_MODIFIER
    ):
        return False
    if previous == _ZWJ and nxt in (_GLUE_AFTER_ZWJ, _E_BASE_GAZ):
        return False

    if _REGIONAL_INDICATOR in mid:
        return True
    return not (previous == _REGIONAL_INDICATOR and nxt == _REGIONAL_INDICATOR)


def _last_index(seq: list[int], value: int) -> int:
    """JavaScript's ``Array.prototype.lastIndexOf``: -1 when absent."""
    for i in range(len(seq) - 1, -1, -1):
        if seq[i] == value:
            return i
    return -1


def graphemes(text: str) -> list[str]:
    """Grapheme clusters as the reference calculator splits them (used by the SMPP splitter)."""
    return _graphemes(text)
