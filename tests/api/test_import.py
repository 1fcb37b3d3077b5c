"""Consent import from CSV: per-row evidence, no bought lists, one bad row never sinks the rest.

R-C-05 (consent from purchased, rented or scraped lists is void; a bulk import needs
per-row consent evidence), R-C-02/R-C-03 (marketing needs written consent, a
pre-checked box is no signature), R-B-02 (an import never removes a suppression),
mission §4 (signs of a bought or scraped list are flagged).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.services import imports
from tests.conftest import Env, Tenant

HEADER = (
    "phone,scope,method,captured_at,disclosure,ip,user_agent,signature,form,source,checkbox_default"
)
DISCLOSURE = (
    '"By signing up you agree to receive marketing texts from Bright Smile Dental, '
    'up to 4 msgs/month. Msg & data rates may apply. Reply STOP to opt out, HELP for help."'
)


@pytest.fixture
def cenv(env: Env) -> Env:
    return env


def upload(t: Tenant, text: str, content_type: str = "text/csv") -> Any:
    return t.env.client.post(
        "/v1/consents/import",
        headers={**t.auth, "Content-Type": content_type},
        content=text.encode(),
    )


def ledger(t: Tenant, phone: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = t.get("/v1/consents", params={"phone": phone}).json()["events"]
    return events


def test_R_C_05_good_rows_accepted_bought_list_and_evidence_free_rows_refused_by_line(
    cenv: Env,
) -> None:
    t = cenv.tenant()
    day = (cenv.clock.now() - timedelta(days=3)).replace(microsecond=0)
    at = [(day + timedelta(minutes=17 * i)).isoformat() for i in range(8)]
    csv_text = "\n".join(
        [
            HEADER,
            f"+13055550101,informational,web_form,{at[0]},,,,,https://brightsmile.example/book,,",
            f"(305) 555-0102,marketing,web_form,{at[1]},{DISCLOSURE},198.51.100.7,Mozilla/5.0,,"
            "https://brightsmile.example/join,,false",
            f"+13055550103,informational,web_form,{at[2]},,,,,https://leads.example/f,purchased,",
            f"+13055550104,informational,import,{at[3]},,,,,,crm,",
            f"555-0105,informational,web_form,{at[4]},,,,,https://brightsmile.example/book,,",
            f"+13055550106,marketing,web_form,{at[5]},{DISCLOSURE},198.51.100.8,Mozilla/5.0,,"
            "https://brightsmile.example/join,,checked",
            f"+13055550107,marketing,verbal,{at[6]},{DISCLOSURE},,,Jo Smith,,,",
            f"+13055550108,informational,paper,{at[7]},,,,scan-0042.pdf,,scraped,",
        ]
    )
    r = upload(t, csv_text + "\n")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rows"] == 8
    assert out["accepted"] == 2
    assert [(x["line"], x["code"]) for x in out["rejected"]] == [
        (4, "invalid_source"),
        (5, "missing_evidence"),
        (6, "invalid_number"),
        (7, "prechecked_box"),
        (8, "marketing_requires_written_consent"),
        (9, "invalid_source"),
    ]
    by_line = {x["line"]: x for x in out["rejected"]}
    assert by_line[4]["field"] == "evidence.source"
    assert by_line[5]["field"] == "evidence"
    assert by_line[6]["field"] == "phone"
    assert "list_source" in {w["code"] for w in out["warnings"]}

    good = ledger(t, "+13055550101")
    assert [(e["scope"], e["method"], e["source"]) for e in good] == [
        ("informational", "web_form", "import")
    ]
    assert good[0]["evidence"]["form"] == "https://brightsmile.example/book"
    assert ledger(t, "+13055550102")[0]["written"] is True

    # A refused row changes nothing: no ledger event, no contact, no audit entry.
    for refused in ("+13055550103", "+13055550104", "+13055550106", "+13055550107"):
        assert ledger(t, refused) == []
        assert t.get(f"/v1/contacts/{refused}").status_code == 404
    audit = t.get("/v1/audit", params={"limit": 500}).json()["items"]
    assert sum(a["action"] == "consent.granted" for a in audit) == 2
    [summary] = [a for a in audit if a["action"] == "consents.imported"]
    assert (summary["data"]["accepted"], summary["data"]["rejected"]) == (2, 6)

    # The imported consent is real consent: the gate lets an informational text through.
    assert t.send("+13055550101").json()["status"] == "queued"
    assert t.send("+13055550104").json()["reasons"] == ["no_consent"]


def test_R_B_02_an_import_never_lifts_an_opt_out(cenv: Env) -> None:
    t = cenv.tenant()
    t.consent("+13055550142")
    t.inbound("+13055550142", "STOP")
    later = cenv.clock.now().isoformat()
    r = upload(
        t,
        f"phone,scope,method,captured_at,form\n+13055550142,informational,web_form,{later},"
        "https://brightsmile.example/book\n",
    )
    [refused] = r.json()["rejected"]
    assert (refused["line"], refused["code"]) == (2, "opted_out")
    assert t.get("/v1/contacts/+13055550142").json()["opted_out"] is True
    assert [e["kind"] for e in ledger(t, "+13055550142")] == ["granted", "revoked"]

    # The same file format as a multipart upload (field "file").
    at = (cenv.clock.now() - timedelta(days=1)).isoformat()
    body = f"phone,scope,method,captured_at,form\n+13055550101,informational,web_form,{at},f\n"
    r = cenv.client.post(
        "/v1/consents/import",
        headers=t.auth,
        files={"file": ("consents.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1


def test_mission_4_signs_of_a_bought_list_are_flagged(cenv: Env) -> None:
    t = cenv.tenant()
    at = (cenv.clock.now() - timedelta(days=1)).isoformat()
    rows = [f"+1212555{1000 + i:04d},informational,import,{at}," for i in range(12)]
    rows += [f"not a number,informational,import,{at},", f"12,informational,import,{at},"]
    r = upload(t, "phone,scope,method,captured_at,note\n" + "\n".join(rows) + "\n")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 0
    codes = {w["code"] for w in out["warnings"]}
    assert {
        "identical_capture_times",
        "sequential_numbers",
        "import_without_evidence",
        "many_invalid_numbers",
    } <= codes
    assert all(w["message"] for w in out["warnings"])

    # A list kept from real sign-ups, each with its own time and form, raises none.
    start = cenv.clock.now() - timedelta(days=30)
    rows = [
        f"+1305555{(i * 37) % 10000:04d},informational,web_form,"
        f"{(start + timedelta(hours=5 * i, minutes=i)).isoformat()},https://brightsmile.example/b"
        for i in range(12)
    ]
    out = upload(t, "phone,scope,method,captured_at,form\n" + "\n".join(rows)).json()
    assert (out["accepted"], out["rejected"], out["warnings"]) == (12, [], [])


BAD_CSV = [
    (
        "phone,scope,method,form\n+13055550101,informational,web_form,f\n",
        "captured_at",
        "missing_column",
    ),
    ("phone,scope,phone,captured_at,method\n", "phone", "duplicate_column"),
    ("", "file", "empty_file"),
    ("phone,scope,method,captured_at\n", "file", "empty_file"),
    ('phone,scope,method,captured_at\n"+1305,informational,web_form,x\n', "file", "malformed_csv"),
]


def test_bad_csv_is_a_422_problem_naming_the_column(cenv: Env) -> None:
    t = cenv.tenant()
    for text, field, code in BAD_CSV:
        r = upload(t, text)
        assert r.status_code == 422, (text, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["code"]) == (field, code)
    assert "captured_at" in upload(t, BAD_CSV[0][0]).json()["detail"]

    latin1 = "phone,scope,method,captured_at\n+1305555\xe9,x,y,z\n".encode("latin-1")
    r = cenv.client.post(
        "/v1/consents/import", headers={**t.auth, "Content-Type": "text/csv"}, content=latin1
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_encoding"
    assert upload(t, "{}", "application/json").status_code == 415
    anonymous = cenv.client.post(
        "/v1/consents/import", headers={"Content-Type": "text/csv"}, content=b"phone\n"
    )
    assert anonymous.status_code == 401


def test_size_limits_are_413(cenv: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    t = cenv.tenant()
    at = (cenv.clock.now() - timedelta(days=1)).isoformat()
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = "\n".join(f"+1305555{100 + i:04d},informational,web_form,{at},f" for i in range(4))
    r = upload(t, "phone,scope,method,captured_at,form\n" + rows)
    assert r.status_code == 413
    assert r.json()["errors"][0]["code"] == "too_many_rows"
    assert ledger(t, "+13055550100") == []
    # Within the limit, rows are committed in chunks; every row still counts once.
    monkeypatch.setattr(imports, "MAX_ROWS", 4)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 3)
    out = upload(t, "phone,scope,method,captured_at,form\n" + rows).json()
    assert (out["rows"], out["accepted"]) == (4, 4)
    assert len(ledger(t, "+13055550103")) == 1
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    r = upload(t, "phone,scope,method,captured_at,form\n" + rows)
    assert r.status_code == 413
    assert r.json()["errors"][0]["code"] == "file_too_large"
