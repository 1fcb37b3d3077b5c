"""R-S-01 / T-17: our segment counter agrees with Twilio's calculator, the reference.

The oracle is the npm package ``sms-segments-calculator@1.3.0`` run by
``segments_oracle.js``. The package is installed once per session into a temporary
folder (and kept under ``/tmp`` keyed by version so the next run starts fast). Every
case is sent to one ``node`` process as JSON, without and with smart encoding, and
encoding, segment count, characters, units, counted body and the non-GSM characters
must be identical.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontdesk.domain import segments
from frontdesk.domain.segments import GSM7_BASIC, GSM7_EXTENSION, count

ORACLE_PACKAGE = "sms-segments-calculator"
ORACLE_VERSION = "1.3.0"
ORACLE_SCRIPT = Path(__file__).with_name("segments_oracle.js")
CACHE_DIR = Path("/tmp") / f"frontdesk-oracle-{ORACLE_PACKAGE}-{ORACLE_VERSION}"
RANDOM_CASES = 3000
SEED = 23_038


def _words(text: str) -> list[str]:
    return text.split()


_BASIC = sorted(GSM7_BASIC)
_PRINTABLE_BASIC = [ch for ch in _BASIC if ch not in "\r\n"]
_EXTENSION = sorted(GSM7_EXTENSION)
_ACCENTED = list("çáíóúâêîôûãõïëÁÍÓÚÂÊÔÃÕÏËÈÌÒÙşğłńœŒžšćđ")
_SMART = list("’‘“”«»–—…•\u00a0\u2009\u202f\u200b\u2060\ufeff\t´`÷¼½\uff01\uff21\u2022")
_EMOJI = _words(
    "😀 🎉 👍 ❤️ ✅ 🙏 🔥 😂 𝔸 👍🏽 👋🏿 🧑🏻 💪🏼 "
    "👨\u200d👩\u200d👧\u200d👦 👩\u200d❤️\u200d💋\u200d👨 🏳️\u200d🌈 🧑\u200d💻 👩\u200d🦰 "
    "👨🏾\u200d🍳 🇺🇸 🇫🇷 🇩🇪 \U0001f1fa 1️⃣ #️⃣ \u200d"
)
_OTHER_SCRIPTS = _words(
    "中 文 한 \u1100 \u1161 \u11a8 क्षि का \u0600 ب ж ω e\u0301 a\u0308\u0323 \u0301 \u0903"
)
_LINE_BREAKS = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]
_NON_GSM = _ACCENTED + _SMART + _EMOJI + _OTHER_SCRIPTS

# Targets in UTF-16 code units around the 1/2/3/4-segment boundaries of both encodings.
_GSM_TARGETS = [1, 5, 20, 152, 153, 154, 159, 160, 161, 162, 305, 306, 307, 458, 459, 460]
_UCS2_TARGETS = [1, 5, 30, 66, 67, 68, 69, 70, 71, 72, 133, 134, 135, 136, 200, 201, 202, 268]


def _fixed_cases() -> list[str]:
    return [
        "",
        "a" * 160,
        "a" * 161,
        "€",
        "a" * 152 + "€" + "a" * 152,
        "a" * 153 + "€" + "a" * 151,
        "a" * 159 + "€",
        "a" * 158 + "€",
        "ç",
        "Ç",
        "It’s ready",
        "Open now — come in",
        "😀",
        "x" * 70,
        "x" * 69 + "’",
        "x" * 70 + "’",
        "x" * 66 + "😀" + "x" * 67,
        "x" * 67 + "😀" + "x" * 67,
        "x" * 65 + "👨\u200d👩\u200d👧\u200d👦" + "x" * 70,
        "\r\n" * 90,
        "\f" * 80,
        "\f" * 81,
        "a" + "\u0301" * 80,
        "a" + "\u0301" * 69 + "b" * 70,
        "x" + "a" + "\u0301" * 69 + "b",
        "\u0301" * 3 + "a",
        "🇺🇸🇫🇷🇩" * 20,
        "\u0600" * 5 + "a",
        "👍🏽" * 40,
        "\t tab…\u00a0nbsp “quoted”",
        "\u200b" * 200,
        "".join(_BASIC) + "".join(_EXTENSION),
    ]


def _random_body(rng: random.Random) -> str:
    profile = rng.choice(["gsm", "gsm_intruder", "ucs2", "smart", "emoji", "lines"])
    if profile in ("gsm", "gsm_intruder", "smart", "lines"):
        target = rng.choice(_GSM_TARGETS) + rng.randint(-2, 2)
    else:
        target = rng.choice(_UCS2_TARGETS) + rng.randint(-2, 2)
    target = max(target, 1)
    pools: list[tuple[list[str], float]] = {
        "gsm": [(_PRINTABLE_BASIC, 0.9), (_EXTENSION, 0.07), (_LINE_BREAKS, 0.03)],
        "gsm_intruder": [(_PRINTABLE_BASIC, 0.95), (_EXTENSION, 0.05)],
        "ucs2": [
            (_PRINTABLE_BASIC, 0.5),
            (_NON_GSM, 0.4),
            (_EXTENSION, 0.05),
            (_LINE_BREAKS, 0.05),
        ],
        "smart": [(_PRINTABLE_BASIC, 0.75), (_SMART, 0.2), (_EXTENSION, 0.05)],
        "emoji": [(_EMOJI, 0.5), (_PRINTABLE_BASIC, 0.4), (_OTHER_SCRIPTS, 0.1)],
        "lines": [(_PRINTABLE_BASIC, 0.7), (_LINE_BREAKS, 0.2), (["\u00a0", "\f"], 0.1)],
    }[profile]
    lists = [pool for pool, _ in pools]
    weights = [weight for _, weight in pools]
    parts: list[str] = []
    units = 0
    while units < target:
        token = rng.choice(rng.choices(lists, weights)[0])
        parts.append(token)
        units += len(token.encode("utf-16-le")) // 2
    if profile == "gsm_intruder":
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(_NON_GSM))
    return "".join(parts)


def _all_bodies() -> list[str]:
    rng = random.Random(SEED)
    return _fixed_cases() + [_random_body(rng) for _ in range(RANDOM_CASES)]


def _oracle_installed(folder: Path) -> bool:
    manifest = folder / "node_modules" / ORACLE_PACKAGE / "package.json"
    try:
        return bool(json.loads(manifest.read_text())["version"] == ORACLE_VERSION)
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="session")
def oracle_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run Twilio's sms-segments-calculator oracle")
    if _oracle_installed(CACHE_DIR):
        yield CACHE_DIR
        return
    folder = tmp_path_factory.mktemp("sms-oracle")
    (folder / "package.json").write_text('{"name": "sms-oracle", "private": true}\n')
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", f"{ORACLE_PACKAGE}@{ORACLE_VERSION}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if install.returncode != 0 or not _oracle_installed(folder):
        pytest.fail(f"npm install {ORACLE_PACKAGE}@{ORACLE_VERSION} failed:\n{install.stderr}")
    staging = CACHE_DIR.with_name(f"{CACHE_DIR.name}.{os.getpid()}")
    try:
        shutil.copytree(folder, staging)
        staging.rename(CACHE_DIR)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    yield folder


@pytest.fixture(scope="session")
def oracle(oracle_dir: Path) -> dict[str, Any]:
    bodies = _all_bodies()
    cases = [{"body": body, "smart": smart} for smart in (False, True) for body in bodies]
    run = subprocess.run(
        ["node", str(ORACLE_SCRIPT), str(oracle_dir)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = json.loads(run.stdout)
    answer["cases"] = cases
    return answer


def _ours(case: dict[str, Any]) -> dict[str, Any]:
    result = count(case["body"], smart_encoding=case["smart"])
    return {
        "encoding": str(result.encoding),
        "segments": result.segments,
        "characters": result.characters,
        "units": result.units,
        "body": result.body,
        "nonGsm": list(result.non_gsm_characters),
    }


def _theirs(expected: dict[str, Any]) -> dict[str, Any]:
    return {
        key: expected[key]
        for key in ("encoding", "segments", "characters", "units", "body", "nonGsm")
    }


def test_oracle_is_the_pinned_version(oracle: dict[str, Any]) -> None:
    assert oracle["version"] == ORACLE_VERSION
    assert len(oracle["results"]) == len(oracle["cases"]) >= 2 * 3000


def test_r_s_01_matches_twilio_calculator_on_every_case(oracle: dict[str, Any]) -> None:
    """R-S-01/T-17: encoding, segments, characters, units, body and non-GSM list all agree."""
    mismatches = []
    for case, expected in zip(oracle["cases"], oracle["results"], strict=True):
        ours, theirs = _ours(case), _theirs(expected)
        if ours != theirs:
            mismatches.append((case, ours, theirs))
    detail = "\n".join(
        f"{case!r}\n  ours:   {ours}\n  oracle: {theirs}" for case, ours, theirs in mismatches[:5]
    )
    assert not mismatches, f"{len(mismatches)} disagreements with the oracle, first ones:\n{detail}"


def test_r_s_01_oracle_counts_septets_in_gsm_and_clusters_in_ucs2(oracle: dict[str, Any]) -> None:
    """The oracle's ``numberOfCharacters`` is our ``units`` for GSM-7, ``characters`` for UCS-2."""
    for case, expected in zip(oracle["cases"], oracle["results"], strict=True):
        result = count(case["body"], smart_encoding=case["smart"])
        mine = result.units if expected["encoding"] == "GSM-7" else result.characters
        assert mine == expected["numberOfCharacters"], case


def test_r_s_01_random_cases_span_the_segment_boundaries(oracle: dict[str, Any]) -> None:
    seen = {(r["encoding"], r["segments"]) for r in oracle["results"]}
    for encoding in ("GSM-7", "UCS-2"):
        for parts in (1, 2, 3):
            assert (encoding, parts) in seen


def test_grapheme_break_table_matches_the_oracle_code_point_for_code_point(
    oracle: dict[str, Any],
) -> None:
    """The embedded Unicode 10 Grapheme_Cluster_Break table equals grapheme-splitter's."""
    ours = []
    table = segments._GCB
    first = 0
    for code in range(1, len(table) + 1):
        if code == len(table) or table[code] != table[first]:
            if table[first] != segments._OTHER:
                ours.append([first, code - 1, table[first]])
            first = code
    assert ours == oracle["gcbRanges"]
