"""US geography as pure data: states, their time zones, ZIP prefixes, NANP area codes.

Feeds R-Q-05 (determining the recipient's local time): a contact's state or
ZIP code gives every zone the state spans, and a NANP area code gives every
zone the area code spans, so quiet hours can use the intersection of all of
them (T-14). No I/O: the tables are literals, derived maps are built from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

STATE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
        "PR": "Puerto Rico",
        "VI": "U.S. Virgin Islands",
        "GU": "Guam",
        "MP": "Northern Mariana Islands",
        "AS": "American Samoa",
    }
)

_NY = "America/New_York"
_CHI = "America/Chicago"
_DEN = "America/Denver"
_LA = "America/Los_Angeles"

# Every IANA zone in use somewhere in the state (official zones plus areas that
# keep a different clock by law, e.g. the Navajo Nation in Arizona observes DST).
STATE_ZONES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "AL": (_CHI,),
        "AK": (
            "America/Anchorage",
            "America/Juneau",
            "America/Sitka",
            "America/Yakutat",
            "America/Nome",
            "America/Metlakatla",
            "America/Adak",
        ),
        "AZ": ("America/Phoenix", _DEN),
        "AR": (_CHI,),
        "CA": (_LA,),
        "CO": (_DEN,),
        "CT": (_NY,),
        "DE": (_NY,),
        "DC": (_NY,),
        "FL": (_NY, _CHI),
        "GA": (_NY,),
        "HI": ("Pacific/Honolulu",),
        "ID": ("America/Boise", _LA),
        "IL": (_CHI,),
        "IN": (
            "America/Indiana/Indianapolis",
            "America/Indiana/Knox",
            "America/Indiana/Marengo",
            "America/Indiana/Petersburg",
            "America/Indiana/Tell_City",
            "America/Indiana/Vevay",
            "America/Indiana/Vincennes",
            "America/Indiana/Winamac",
            _CHI,
        ),
        "IA": (_CHI,),
        "KS": (_CHI, _DEN),
        "KY": (_NY, "America/Kentucky/Louisville", "America/Kentucky/Monticello", _CHI),
        "LA": (_CHI,),
        "ME": (_NY,),
        "MD": (_NY,),
        "MA": (_NY,),
        "MI": ("America/Detroit", "America/Menominee"),
        "MN": (_CHI,),
        "MS": (_CHI,),
        "MO": (_CHI,),
        "MT": (_DEN,),
        "NE": (_CHI, _DEN),
        "NV": (_LA, _DEN),
        "NH": (_NY,),
        "NJ": (_NY,),
        "NM": (_DEN,),
        "NY": (_NY,),
        "NC": (_NY,),
        "ND": (
            _CHI,
            _DEN,
            "America/North_Dakota/Center",
            "America/North_Dakota/New_Salem",
            "America/North_Dakota/Beulah",
        ),
        "OH": (_NY,),
        "OK": (_CHI,),
        "OR": (_LA, "America/Boise"),
        "PA": (_NY,),
        "RI": (_NY,),
        "SC": (_NY,),
        "SD": (_CHI, _DEN),
        "TN": (_CHI, _NY),
        "TX": (_CHI, _DEN),
        "UT": (_DEN,),
        "VT": (_NY,),
        "VA": (_NY,),
        "WA": (_LA,),
        "WV": (_NY,),
        "WI": (_CHI,),
        "WY": (_DEN,),
        "PR": ("America/Puerto_Rico",),
        "VI": ("America/St_Thomas",),
        "GU": ("Pacific/Guam",),
        "MP": ("Pacific/Saipan",),
        "AS": ("Pacific/Pago_Pago",),
    }
)

# (first, last, state) over 3-digit ZIP prefixes; military (AA/AE/AP) left out.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"),
    (6, 7, "PR"),
    (8, 8, "VI"),
    (9, 9, "PR"),
    (10, 27, "MA"),
    (28, 29, "RI"),
    (30, 38, "NH"),
    (39, 49, "ME"),
    (50, 54, "VT"),
    (55, 55, "MA"),
    (56, 59, "VT"),
    (60, 69, "CT"),
    (70, 89, "NJ"),
    (100, 149, "NY"),
    (150, 196, "PA"),
    (197, 199, "DE"),
    (200, 200, "DC"),
    (201, 201, "VA"),
    (202, 205, "DC"),
    (206, 219, "MD"),
    (220, 246, "VA"),
    (247, 268, "WV"),
    (270, 289, "NC"),
    (290, 299, "SC"),
    (300, 319, "GA"),
    (320, 339, "FL"),
    (341, 349, "FL"),
    (350, 369, "AL"),
    (370, 385, "TN"),
    (386, 397, "MS"),
    (398, 399, "GA"),
    (400, 427, "KY"),
    (430, 459, "OH"),
    (460, 479, "IN"),
    (480, 499, "MI"),
    (500, 528, "IA"),
    (530, 549, "WI"),
    (550, 567, "MN"),
    (569, 569, "DC"),
    (570, 577, "SD"),
    (580, 588, "ND"),
    (590, 599, "MT"),
    (600, 629, "IL"),
    (630, 658, "MO"),
    (660, 679, "KS"),
    (680, 693, "NE"),
    (700, 714, "LA"),
    (716, 729, "AR"),
    (730, 732, "OK"),
    (733, 733, "TX"),
    (734, 749, "OK"),
    (750, 799, "TX"),
    (800, 816, "CO"),
    (820, 831, "WY"),
    (832, 838, "ID"),
    (840, 847, "UT"),
    (850, 865, "AZ"),
    (870, 884, "NM"),
    (885, 885, "TX"),
    (889, 898, "NV"),
    (900, 961, "CA"),
    (967, 968, "HI"),
    (969, 969, "GU"),
    (970, 979, "OR"),
    (980, 994, "WA"),
    (995, 999, "AK"),
)

ZIP3_STATE: Mapping[str, str] = MappingProxyType(
    {f"{p:03d}": state for lo, hi, state in _ZIP3_RANGES for p in range(lo, hi + 1)}
)

# Area codes that cross a time-zone line, with every zone they span (R-Q-05:
# "if an area code spans two time zones use the intersection across both").
# Unioned with what phonenumbers knows, which misses several of these.
SPLIT_AREA_CODE_ZONES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "208": ("America/Boise", _LA),
        "986": ("America/Boise", _LA),
        "541": (_LA, "America/Boise"),
        "458": (_LA, "America/Boise"),
        "850": (_NY, _CHI),
        "448": (_NY, _CHI),
        "219": (_CHI, "America/Indiana/Indianapolis"),
        "574": ("America/Indiana/Indianapolis", "America/Indiana/Knox"),
        "812": ("America/Indiana/Indianapolis", _CHI, "America/Indiana/Tell_City"),
        "930": ("America/Indiana/Indianapolis", _CHI, "America/Indiana/Tell_City"),
        "270": (_CHI, _NY),
        "364": (_CHI, _NY),
        "606": (_NY, _CHI),
        "423": (_NY, _CHI),
        "931": (_CHI, _NY),
        "701": (_CHI, _DEN),
        "605": (_CHI, _DEN),
        "308": (_CHI, _DEN),
        "785": (_CHI, _DEN),
        "620": (_CHI, _DEN),
        "906": ("America/Detroit", "America/Menominee"),
        "432": (_CHI, _DEN),
        "775": (_LA, _DEN),
        "928": ("America/Phoenix", _DEN),
        "907": ("America/Anchorage", "America/Adak"),
    }
)

# NANP area codes the offline geocoder leaves without a place name.
AREA_CODE_STATE_FALLBACK: Mapping[str, str] = MappingProxyType({"340": "VI", "684": "AS"})

_NAME_TO_CODE: Mapping[str, str] = MappingProxyType(
    {
        **{name.casefold(): code for code, name in STATE_NAMES.items()},
        "washington state": "WA",
        "washington d.c.": "DC",
        "washington, d.c.": "DC",
        "us virgin islands": "VI",
        "virgin islands": "VI",
    }
)


def state_for_zip(postal_code: str) -> str | None:
    """The state of a US ZIP (``"33101"``, ``"33101-1234"``), or None if not a US ZIP."""
    text = postal_code.strip()
    digits = text.split("-", 1)[0].strip()
    if len(digits) != 5 or not digits.isascii() or not digits.isdigit():
        return None
    return ZIP3_STATE.get(digits[:3])


def state_from_place(description: str) -> str | None:
    """Map a geocoder place (``"Florida"``, ``"Kaneohe, HI"``) to a USPS state code."""
    text = description.strip()
    if not text:
        return None
    code = _NAME_TO_CODE.get(text.casefold())
    if code is not None:
        return code
    if ", " in text:
        suffix = text.rsplit(", ", 1)[1].strip()
        if suffix.upper() in STATE_NAMES and len(suffix) == 2:
            return suffix.upper()
        return _NAME_TO_CODE.get(suffix.casefold())
    return None


def normalize_state(code: str | None) -> str | None:
    """A known two-letter code in upper case, or None."""
    if code is None:
        return None
    text = code.strip().upper()
    return text if text in STATE_NAMES else None
