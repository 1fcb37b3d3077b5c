"""Bulk consent import from CSV (``POST /v1/consents/import``; R-C-05, R-B-01, R-B-02).

R-C-05: a bulk import is allowed only with a per-row consent method and proof;
rows whose ``source`` is a purchased, rented, shared or scraped list are refused,
and so are rows that carry no capture evidence at all (merely holding a number is
not consent). Each row goes through ``services.consents.record_grant`` — the same
evidence rules as ``POST /v1/consents`` — inside its own SAVEPOINT, so a refused
row leaves nothing behind and never refuses the others.

R-B-02: an import never removes a suppression. A row for a number that opted out
is refused (``opted_out``): only the recipient's own START or a fresh opt-in they
make lifts an opt-out (R-FCC-07), and an import is the business's record, not
the recipient's act.

Signs of a bought or scraped list (mission §4) are flagged in ``warnings``, not
refused: many rows sharing one capture timestamp, runs of sequential numbers,
``import`` rows with no per-row evidence, many invalid numbers, rows naming a
list source. They tell the business (and a reviewing operator) to look closer.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from frontdesk import errors
from frontdesk.domain import phone
from frontdesk.domain.consent import FORBIDDEN_SOURCES, Method, Scope, validate_grant
from frontdesk.services import consents
from frontdesk.storage import privacy as store
from frontdesk.storage.uow import TenantScope

MAX_BYTES = 5 * 1024 * 1024
# About 3 ms of CPU per row on the 2-core reference machine (record_grant with its
# audit entry): 10,000 rows is about 30 s of work, committed in chunks.
MAX_ROWS = 10_000
CHUNK_ROWS = 500
REQUIRED = ("phone", "scope", "method", "captured_at")
# Evidence that records the capture itself (R-C-03, R-D-04): a form submission,
# a signature, the opt-in text's id, a recording or a document. ``source`` and
# free notes say where the row came from, not that the person agreed.
PROOF_KEYS = frozenset(
    {
        "form",
        "page_url",
        "signature",
        "ip",
        "user_agent",
        "message_id",
        "inbound_id",
        "keyword",
        "disclosure",
        "recording",
        "recording_url",
        "document",
        "document_url",
        "call_id",
    }
)

# Thresholds of the list-quality heuristics (platform policy, not law).
SAME_TIME_MIN_ROWS = 10
SAME_TIME_SHARE = 0.2
SEQUENTIAL_RUN = 10
SEQUENTIAL_SHARE = 0.3
INVALID_SHARE = 0.1
HEURISTIC_MIN_ROWS = 5


@dataclass
class Row:
    line: int
    values: dict[str, str]
    e164: str | None = None
    captured_at: datetime | None = None
    method: str = ""
    has_proof: bool = False


@dataclass
class ImportResult:
    rows: int = 0
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "warnings": self.warnings,
        }


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _bad_csv(field_name: str, code: str, message: str, status: int = 422) -> errors.AppError:
    return errors.AppError(
        status, "Invalid CSV", message, [errors.FieldError(field_name, code, message)]
    )


def parse(data: bytes, max_rows: int | None = None) -> list[Row]:
    """Rows of the CSV with their line numbers; a file that cannot be read as a whole is a 422."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    if len(data) > MAX_BYTES:
        raise _bad_csv(
            "file", "file_too_large", f"the file exceeds {MAX_BYTES // (1024 * 1024)} MB", 413
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_csv(
            "file", "invalid_encoding", f"the file is not UTF-8 (byte {exc.start}); save as UTF-8"
        ) from exc
    if not text.strip():
        raise _bad_csv("file", "empty_file", f"the file is empty; give a header row {REQUIRED}")
    first = text.splitlines()[0]
    delimiter = ","
    if "," not in first:
        delimiter = next((d for d in (";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [_column(h) for h in next(reader)]
        dupes = sorted(h for h, n in Counter(header).items() if n > 1 and h)
        if dupes:
            raise _bad_csv(
                dupes[0], "duplicate_column", f"the column {dupes[0]!r} appears more than once"
            )
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            message = (
                f"the CSV has no {', '.join(repr(c) for c in missing)} column; the header "
                f"must name {', '.join(REQUIRED)} and the evidence columns"
            )
            raise errors.AppError(
                422,
                "Invalid CSV",
                message,
                [errors.FieldError(c, "missing_column", message) for c in missing],
            )
        rows: list[Row] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= max_rows:
                raise _bad_csv(
                    "file",
                    "too_many_rows",
                    f"the file has more than {max_rows} rows; split it into smaller files",
                    413,
                )
            line = reader.line_num
            values = {"__extra__": "1"} if len(record) > len(header) else {}
            for name, cell in zip(header, record, strict=False):
                if name and cell.strip():
                    values[name] = cell.strip()
            rows.append(Row(line, values))
    except csv.Error as exc:
        raise _bad_csv(
            "file", "malformed_csv", f"line {reader.line_num}: {exc}; check the quoting"
        ) from exc
    if not rows:
        raise _bad_csv("file", "empty_file", "the file has a header but no rows")
    return rows


def _evidence(values: Mapping[str, str]) -> dict[str, object]:
    return {k: v for k, v in values.items() if k not in REQUIRED and not k.startswith("__")}


def _reject(result: ImportResult, row: Row, problems: list[tuple[str, str, str]]) -> None:
    field_name, code, message = problems[0]
    entry: dict[str, Any] = {
        "line": row.line,
        "code": code,
        "field": field_name,
        "message": message,
    }
    if row.e164:
        entry["phone"] = row.e164
    if len(problems) > 1:
        entry["problems"] = [{"field": f, "code": c, "message": m} for f, c, m in problems]
    result.rejected.append(entry)


def _check(scope: TenantScope, row: Row, now: datetime) -> list[tuple[str, str, str]]:
    v = row.values
    if "__extra__" in v:
        return [("file", "malformed_row", "the row has more cells than the header has columns")]
    problems: list[tuple[str, str, str]] = []
    parsed = phone.try_parse(v.get("phone", ""))
    if parsed is None:
        problems.append(("phone", "invalid_number", "not a valid phone number"))
    else:
        row.e164 = parsed.e164
    scope_text = v.get("scope", "").lower()
    if scope_text not in {s.value for s in Scope}:
        problems.append(("scope", "invalid_scope", "scope must be informational or marketing"))
    row.method = v.get("method", "").lower()
    if row.method not in {m.value for m in Method}:
        allowed = ", ".join(m.value for m in Method)
        problems.append(("method", "invalid_method", f"method must be one of {allowed}"))
    raw_time = v.get("captured_at", "")
    try:
        row.captured_at = datetime.fromisoformat(raw_time)
    except ValueError:
        problems.append(
            (
                "captured_at",
                "invalid_time",
                "captured_at must be RFC 3339, e.g. 2026-01-02T15:04:05Z",
            )
        )
    evidence = _evidence(v)
    row.has_proof = any(k in PROOF_KEYS for k in evidence)
    if problems:
        return problems
    assert row.captured_at is not None and row.e164 is not None
    problems += [
        (p.field, p.code, p.message)
        for p in validate_grant(
            Scope(scope_text), Method(row.method), evidence, row.captured_at, now
        )
    ]
    if not row.has_proof:
        problems.append(
            (
                "evidence",
                "missing_evidence",
                "the row carries no consent evidence (R-C-05): add the form, signature, "
                "ip and user_agent, message_id, recording or document of the capture",
            )
        )
    if any(
        s.reason in consents.RECIPIENT_SUPPRESSIONS for s in scope.active_suppressions(row.e164)
    ):
        problems.append(
            (
                "phone",
                "opted_out",
                "the number opted out; an import cannot lift an opt-out (R-B-02, R-FCC-07) — "
                "only the recipient's START or a new opt-in by them can",
            )
        )
    return problems


def import_rows(
    scope: TenantScope, rows: Iterable[Row], result: ImportResult, *, now: datetime, actor: str
) -> None:
    """Validate and record each row in its own SAVEPOINT; a refusal is noted, never raised."""
    for row in rows:
        problems = _check(scope, row, now)
        if problems:
            _reject(result, row, problems)
            continue
        assert row.e164 is not None and row.captured_at is not None
        try:
            with store.savepoint(scope.session):
                consents.record_grant(
                    scope,
                    row.e164,
                    consent_scope=Scope(row.values["scope"].lower()),
                    method=Method(row.method),
                    captured_at=row.captured_at,
                    evidence=_evidence(row.values),
                    now=now,
                    source="import",
                    actor=actor,
                )
        except errors.AppError as exc:
            found = [(e.field, e.code, e.message) for e in exc.errors]
            _reject(result, row, found or [("row", "refused", exc.detail)])
            continue
        result.accepted += 1


def finish(
    scope: TenantScope, rows: list[Row], result: ImportResult, *, now: datetime, actor: str
) -> ImportResult:
    """Flag the list's warning signs and audit the import's outcome."""
    result.warnings = list_warnings(rows)
    scope.audit(
        now,
        actor,
        "consents.imported",
        None,
        {
            "rows": result.rows,
            "accepted": result.accepted,
            "rejected": len(result.rejected),
            "warnings": [w["code"] for w in result.warnings],
        },
    )
    return result


def import_consents(
    scope: TenantScope, data: bytes, *, now: datetime, actor: str, max_rows: int | None = None
) -> ImportResult:
    """The whole file in the caller's transaction (the HTTP edge commits in chunks instead)."""
    rows = parse(data, max_rows)
    result = ImportResult(rows=len(rows))
    import_rows(scope, rows, result, now=now, actor=actor)
    return finish(scope, rows, result, now=now, actor=actor)


def _longest_run(numbers: list[int]) -> tuple[int, int]:
    """(longest run of consecutive numbers, how many numbers sit in some run of ≥ 2)."""
    longest, in_runs, run = 0, 0, 1
    for prev, cur in pairwise(numbers):
        if cur == prev + 1:
            run += 1
        else:
            if run >= 2:
                in_runs += run
            longest = max(longest, run)
            run = 1
    if numbers:
        if run >= 2:
            in_runs += run
        longest = max(longest, run)
    return longest, in_runs


def list_warnings(rows: list[Row]) -> list[dict[str, Any]]:
    """Signs of a bought, rented or scraped list (mission §4, R-C-05); flags, not refusals."""
    n = len(rows)
    out: list[dict[str, Any]] = []
    if n < HEURISTIC_MIN_ROWS:
        return out
    times = Counter(r.captured_at for r in rows if r.captured_at is not None)
    if times:
        at, same = times.most_common(1)[0]
        if same >= SAME_TIME_MIN_ROWS and same >= SAME_TIME_SHARE * n:
            out.append(
                {
                    "code": "identical_capture_times",
                    "count": same,
                    "message": f"{same} rows share the capture time {at.isoformat()}: people "
                    "do not sign up in the same second; a list loaded at once looks like this",
                }
            )
    numbers = sorted({int(r.e164[1:]) for r in rows if r.e164})
    longest, in_runs = _longest_run(numbers)
    if longest >= SEQUENTIAL_RUN or (
        numbers and in_runs >= SEQUENTIAL_RUN and in_runs >= SEQUENTIAL_SHARE * len(numbers)
    ):
        out.append(
            {
                "code": "sequential_numbers",
                "count": in_runs,
                "message": f"{in_runs} numbers are consecutive (longest run {longest}): "
                "generated or scraped number blocks look like this",
            }
        )
    bare = sum(1 for r in rows if r.method == Method.IMPORT.value and not r.has_proof)
    if bare and bare >= 0.5 * n:
        out.append(
            {
                "code": "import_without_evidence",
                "count": bare,
                "message": f"{bare} rows use method 'import' with no per-row evidence: an "
                "import must carry the original capture record of each consent",
            }
        )
    invalid = sum(
        1 for r in rows if r.e164 is None and "phone" in r.values and "__extra__" not in r.values
    ) + sum(1 for r in rows if "phone" not in r.values)
    if invalid and invalid >= INVALID_SHARE * n:
        out.append(
            {
                "code": "many_invalid_numbers",
                "count": invalid,
                "message": f"{invalid} of {n} numbers are invalid: a list kept from real "
                "sign-ups rarely holds so many",
            }
        )
    sources = sum(
        1 for r in rows if r.values.get("source", "").strip().lower() in FORBIDDEN_SOURCES
    )
    if sources:
        out.append(
            {
                "code": "list_source",
                "count": sources,
                "message": f"{sources} rows name a purchased, rented, shared or scraped source "
                "(R-C-05); they were refused, and the rest of the file deserves a look",
            }
        )
    return out
