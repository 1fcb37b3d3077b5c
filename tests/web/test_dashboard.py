"""The dashboard for business owners and staff (mission.md, Who uses it).

It is a thin edge over the same services as the API, so these tests check what the
edge itself owes: sessions and CSRF, tenant isolation, escaping, and that every
action goes through the service that enforces the rule (R-FCC-02 for a staff reply
after STOP, R-FCC-07 for an opt-out that staff cannot remove, R-C-01 in the send
check).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.storage.models import ApiKey, Contact
from frontdesk.storage.uow import UnitOfWork
from frontdesk.web import routes as web
from tests.conftest import ADMIN, T0, Env, Tenant

PATIENT = "+13055550142"
OTHER = "+13055550177"
PAGES = ("inbox", "messages", "contacts", "suppressions", "check", "settings", "health", "audit")


@pytest.fixture
def dash(tmp_path: Path) -> Iterator[Env]:
    """The conftest ``env``, with the dashboard router included in the app."""
    clock = FixedClock(T0)
    simulator = CarrierSimulator(seed=1)
    db_path = tmp_path / "frontdesk.db"
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token=ADMIN)
    container = build(settings, clock=clock, provider=simulator)
    app = create_app(container, start_worker=False)
    with TestClient(app) as client:
        yield Env(container, client, clock, simulator, db_path)
    container.close()


def _hidden(html: str, name: str = "csrf") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} field in the page"
    return found.group(1)


def login(env: Env, key: str) -> Response:
    form = env.client.get("/dashboard/login")
    assert form.status_code == 200
    r: Response = env.client.post(
        "/dashboard/login",
        data={"api_key": key, "csrf": _hidden(form.text)},
        follow_redirects=False,
    )
    return r


def page(env: Env, path: str) -> Response:
    r: Response = env.client.get(f"/dashboard/{path}", follow_redirects=False)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r


def csrf(env: Env) -> str:
    return _hidden(page(env, "check").text)


def contact_id(env: Env, t: Tenant, phone: str) -> str:
    with UnitOfWork(env.container.db) as unit:
        row = unit.tenant(t.id).contact(phone)
        assert row is not None
        return row.id


def test_login_with_a_good_key_renders_every_page_even_for_an_empty_tenant(dash: Env) -> None:
    t = dash.tenant()
    r = login(dash, t.key)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/inbox"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert t.key not in cookie, "the clear API key must never be stored in the cookie"
    for name in PAGES:
        r = page(dash, name)
        assert "Bright Smile Dental" in r.text
        assert r.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "No conversations yet" in page(dash, "inbox").text
    assert "Chain verified" in page(dash, "audit").text
    css = dash.client.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_pages_show_the_tenants_data(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    assert t.send(PATIENT).status_code == 201
    dash.step()
    t.inbound(PATIENT, "Thanks, see you Tuesday")
    blocked = t.send(OTHER)
    assert blocked.json()["status"] == "blocked"
    login(dash, t.key)

    inbox = page(dash, "inbox").text
    assert PATIENT in inbox and "Thanks, see you Tuesday" in inbox
    assert "your cleaning is Tue at 3:00 pm" in inbox

    msgs = page(dash, "messages?status=blocked").text
    assert OTHER in msgs and "no_consent" in msgs and "R-C-01" in msgs
    assert "Record the recipient&#39;s consent" in msgs
    assert PATIENT not in msgs, "the status filter keeps only blocked messages"
    assert "delivered" in page(dash, "messages?status=delivered").text

    contacts = page(dash, "contacts").text
    assert PATIENT in contacts and OTHER in contacts
    detail = page(dash, f"contacts/{contact_id(dash, t, PATIENT)}").text
    assert "web_form" in detail and "brightsmile.example/join" in detail
    assert "Opted out" not in detail

    health = page(dash, "health").text
    assert "delivered" in health and "no_consent" in health and "R-C-01" in health
    assert "Verdict: <strong>ok</strong>" in health and "Too few messages" in health
    assert re.search(r"<td>Sent</td><td class=\"num\">1</td>", health)
    assert re.search(r"<td>Delivered</td><td class=\"num\">1</td>", health)
    audit = page(dash, "audit").text
    assert "Chain verified" in audit and "message.blocked" in audit and "dashboard.login" in audit


def test_a_bad_key_shows_an_error_and_sets_no_session(dash: Env) -> None:
    dash.tenant()
    r = login(dash, "fd_live_not-a-real-key")
    assert r.status_code == 401
    assert "That API key is not valid" in r.text
    assert "fd_session" not in r.headers.get("set-cookie", "")
    assert dash.client.get("/dashboard/inbox", follow_redirects=False).status_code == 303

    r = login(dash, ADMIN)
    assert r.status_code == 401 and "admin token" in r.text


def test_login_without_its_form_token_is_refused(dash: Env) -> None:
    t = dash.tenant()
    r = dash.client.post(
        "/dashboard/login", data={"api_key": t.key, "csrf": "guess"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert dash.client.get("/dashboard/inbox", follow_redirects=False).status_code == 303


def test_every_page_redirects_to_login_without_a_valid_session(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    cid = contact_id(dash, t, PATIENT)
    paths = [*PAGES, f"contacts/{cid}", f"conversations/{cid}"]
    for path in paths:
        r = dash.client.get(f"/dashboard/{path}", follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == "/dashboard/login"
    r = dash.client.post(
        "/dashboard/suppressions", data={"phone": PATIENT, "csrf": "x"}, follow_redirects=False
    )
    assert r.status_code == 303

    login(dash, t.key)
    good = dash.client.cookies["fd_session"]
    body, _, sig = good.partition(".")
    forged = body + "." + ("0" if sig[0] != "0" else "1") + sig[1:]
    dash.client.cookies.set("fd_session", forged, path="/dashboard")
    assert dash.client.get("/dashboard/inbox", follow_redirects=False).status_code == 303


def test_a_session_ends_when_it_expires_or_its_key_is_revoked(dash: Env) -> None:
    t = dash.tenant()
    login(dash, t.key)
    page(dash, "inbox")
    dash.clock.set(T0 + web.SESSION_TTL + timedelta(minutes=1))
    assert dash.client.get("/dashboard/inbox", follow_redirects=False).status_code == 303

    dash.clock.set(T0)
    login(dash, t.key)
    page(dash, "inbox")
    with UnitOfWork(dash.container.db) as unit:
        for key in unit.session.query(ApiKey).filter(ApiKey.tenant_id == t.id):
            key.revoked_at = T0
        unit.commit()
    assert dash.client.get("/dashboard/inbox", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(dash: Env) -> None:
    t = dash.tenant()
    login(dash, t.key)
    r = dash.client.post("/dashboard/logout", data={"csrf": csrf(dash)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
    assert dash.client.get("/dashboard/inbox", follow_redirects=False).status_code == 303


def test_every_post_form_without_the_csrf_token_is_refused_and_changes_nothing(
    dash: Env,
) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    t.post("/v1/suppressions", {"phone": OTHER, "reason": "asked by phone"})
    login(dash, t.key)
    cid = contact_id(dash, t, PATIENT)
    posts = {
        f"conversations/{cid}/reply": {"body": "Hello from the desk"},
        "suppressions": {"phone": PATIENT, "scope": "all"},
        "suppressions/remove": {"phone": OTHER},
        "check": {"to": PATIENT, "body": "hi", "category": "conversation"},
        "logout": {},
    }
    for path, data in posts.items():
        for token in (None, "wrong"):
            form = dict(data) if token is None else {**data, "csrf": token}
            r = dash.client.post(f"/dashboard/{path}", data=form, follow_redirects=False)
            assert r.status_code == 403, (path, token, r.status_code)
    assert t.get("/v1/messages").json()["items"] == []
    sups = t.get("/v1/suppressions").json()
    assert [s["phone"] for s in sups["items"]] == [OTHER]
    page(dash, "inbox")


def test_R_FCC_02_staff_reply_goes_through_the_gate_and_is_blocked_after_stop(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    t.inbound(PATIENT, "Do you have parking?")
    login(dash, t.key)
    cid = contact_id(dash, t, PATIENT)
    token = csrf(dash)

    r = dash.client.post(
        f"/dashboard/conversations/{cid}/reply",
        data={"body": "Bright Smile Dental: yes, free parking behind the office.", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    dash.step()
    assert any("free parking" in m.body for m in dash.simulator.sent_to(PATIENT))

    assert t.inbound(PATIENT, "STOP").json()["classification"] == "opt_out"
    dash.step()
    r = dash.client.post(
        f"/dashboard/conversations/{cid}/reply",
        data={"body": "Bright Smile Dental: are you sure? We miss you!", "csrf": token},
    )
    assert r.status_code == 200
    thread = r.text
    assert "Opted out" in thread
    assert "blocked" in thread and "opted_out" in thread and "R-FCC-02" in thread
    assert "The recipient opted out" in thread
    dash.step()
    assert all("miss you" not in m.body for m in dash.simulator.sent_to(PATIENT))
    staff = [m for m in t.get("/v1/messages").json()["items"] if "miss you" in m["body"]]
    assert [(m["category"], m["status"], m["reasons"]) for m in staff] == [
        ("conversation", "blocked", ["opted_out"])
    ]


def test_an_empty_staff_reply_is_refused_before_the_gate(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    login(dash, t.key)
    r = dash.client.post(
        f"/dashboard/conversations/{contact_id(dash, t, PATIENT)}/reply",
        data={"body": "   ", "csrf": csrf(dash)},
    )
    assert r.status_code == 422 and "Write a reply" in r.text
    assert t.get("/v1/messages").json()["items"] == []
    thread = page(dash, f"conversations/{contact_id(dash, t, PATIENT)}").text
    assert "No texts with this number yet" in thread and "Reply as staff" in thread


def test_R_D_02_manual_suppression_is_added_and_removed_through_the_form(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    login(dash, t.key)
    token = csrf(dash)

    r = dash.client.post(
        "/dashboard/suppressions",
        data={
            "phone": "(305) 555-0142",
            "scope": "all",
            "note": "asked at the desk",
            "csrf": token,
        },
    )
    assert r.status_code == 200 and "Added to the suppression list" in r.text
    assert PATIENT in r.text and "asked at the desk" in r.text
    assert t.send(PATIENT).json()["reasons"] == ["opted_out"]

    r = dash.client.post("/dashboard/suppressions/remove", data={"phone": PATIENT, "csrf": token})
    assert r.status_code == 200 and "manual entry was removed" in r.text
    assert t.get("/v1/suppressions").json()["total"] == 0
    assert t.send(PATIENT).json()["status"] == "queued"

    r = dash.client.post("/dashboard/suppressions", data={"phone": "12", "csrf": token})
    assert r.status_code == 422 and "not a valid phone number" in r.text


def test_R_FCC_07_a_recipients_opt_out_is_shown_as_not_removable(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    t.inbound(PATIENT, "STOP")
    login(dash, t.key)
    listing = page(dash, "suppressions").text
    assert PATIENT in listing and "Not removable" in listing
    assert 'value="' + PATIENT + '"' not in listing, "no remove form for an opt-out"

    r = dash.client.post(
        "/dashboard/suppressions/remove", data={"phone": PATIENT, "csrf": csrf(dash)}
    )
    assert r.status_code == 409 and "only the recipient can lift it" in r.text
    assert t.get("/v1/suppressions").json()["total"] == 1
    detail = page(dash, f"contacts/{contact_id(dash, t, PATIENT)}").text
    assert "Opted out" in detail and "opt_out" in detail


def test_R_C_01_the_send_check_explains_a_refusal_without_sending(dash: Env) -> None:
    t = dash.tenant()
    login(dash, t.key)
    r = dash.client.post(
        "/dashboard/check",
        data={
            "to": PATIENT,
            "body": "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.",
            "category": "appointment_reminder",
            "csrf": csrf(dash),
        },
    )
    assert r.status_code == 200
    assert "Blocked" in r.text and "no_consent" in r.text and "R-C-01" in r.text
    assert "No consent on record covers appointment_reminder" in r.text
    assert "Fix: Record the recipient" in r.text
    assert t.get("/v1/messages").json()["items"] == []
    assert dash.simulator.sent_to(PATIENT) == []

    t.consent(PATIENT)
    r = dash.client.post(
        "/dashboard/check",
        data={
            "to": PATIENT,
            "body": "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.",
            "category": "appointment_reminder",
            "csrf": csrf(dash),
        },
    )
    assert "<h2>Allowed" in r.text and "no_consent" not in r.text
    assert t.get("/v1/messages").json()["items"] == []


def test_another_tenants_contact_is_a_404_page(dash: Env) -> None:
    mine = dash.tenant()
    theirs = dash.tenant("Other Clinic", number="+14155550111")
    theirs.consent(PATIENT)
    theirs.inbound(PATIENT, "private question about my bill")
    foreign = contact_id(dash, theirs, PATIENT)
    login(dash, mine.key)
    for path in (f"contacts/{foreign}", f"conversations/{foreign}", "contacts/con_nope"):
        r = dash.client.get(f"/dashboard/{path}")
        assert r.status_code == 404, path
        assert "Bright Smile Dental" in r.text and "private question" not in r.text
    r = dash.client.post(
        f"/dashboard/conversations/{foreign}/reply", data={"body": "hi", "csrf": csrf(dash)}
    )
    assert r.status_code == 404
    assert all(m["body"] != "hi" for m in theirs.get("/v1/messages").json()["items"])
    for name in ("inbox", "contacts"):
        assert "private question" not in page(dash, name).text
        assert "Other Clinic" not in page(dash, name).text


def test_message_bodies_are_rendered_escaped(dash: Env) -> None:
    t = dash.tenant()
    t.consent(PATIENT)
    t.inbound(PATIENT, "<script>alert('x')</script> hi")
    t.send(
        PATIENT,
        body="Bright Smile Dental: <b>bold</b> <script>steal()</script> Reply STOP to opt out.",
    )
    login(dash, t.key)
    with UnitOfWork(dash.container.db) as unit:
        row = unit.session.get(Contact, contact_id(dash, t, PATIENT))
        assert row is not None
        row.name = '<img src=x onerror="alert(1)">'
        unit.commit()
    pages = [
        page(dash, "inbox").text,
        page(dash, "messages").text,
        page(dash, f"conversations/{contact_id(dash, t, PATIENT)}").text,
        page(dash, f"contacts/{contact_id(dash, t, PATIENT)}").text,
    ]
    for html in pages:
        assert "<script>" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages[0]
    assert "&lt;script&gt;steal()&lt;/script&gt;" in pages[1]
    assert "&lt;img src=x onerror=" in pages[3]


def test_long_lists_page_and_the_audit_page_reports_a_broken_chain(dash: Env) -> None:
    t = dash.tenant()
    n = web.PAGE + 5
    for i in range(n):
        t.post("/v1/suppressions", {"phone": f"+1305555{i:04d}", "reason": "asked"})
        assert t.send(f"+1305555{i:04d}").json()["status"] == "blocked"
    login(dash, t.key)
    for name in ("messages", "contacts", "suppressions"):
        first = page(dash, name).text
        assert "Older" in first and "Newer" not in first, name
        rest = page(dash, f"{name}?offset={web.PAGE}").text
        assert "Newer" in rest and "Older" not in rest, name
        assert rest.count("<tr>") == 5 + 1, name  # five rows and the header

    newest = page(dash, "audit").text
    seqs = [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', newest)]
    # tenant, policy accepted, number; a suppression and a block each; this login
    total = 3 + 2 * n + 1
    assert seqs == list(range(total, total - web.PAGE, -1)), "the newest page, newest first"
    assert f"Chain verified: {total} entries" in newest
    assert 'href="/dashboard/audit?offset=0">Older' not in newest
    assert "Older" in newest and "Newer" not in newest
    oldest = page(dash, "audit?offset=0").text
    assert "tenant.created" in oldest and "Newer" in oldest and "Older" not in oldest

    with sqlite3.connect(dash.db_path) as db:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    broken = page(dash, "audit").text
    assert "Chain broken at entry 3" in broken and "Chain verified" not in broken


def test_the_inbox_puts_the_latest_activity_first(dash: Env) -> None:
    t = dash.tenant()
    first, second = "+13055550101", "+13055550102"
    t.consent(first)
    t.consent(second)
    t.inbound(first, "Is the office open Saturday?")
    dash.clock.set(T0 + timedelta(minutes=5))
    t.inbound(second, "Running ten minutes late")
    login(dash, t.key)
    inbox = page(dash, "inbox").text
    assert inbox.index(second) < inbox.index(first)

    dash.clock.set(T0 + timedelta(minutes=10))
    t.inbound(first, "Never mind, found it")
    inbox = page(dash, "inbox").text
    assert inbox.index(first) < inbox.index(second)
    assert "Never mind, found it" in inbox and "Is the office open Saturday?" not in inbox


def _settings_form(**changes: str) -> dict[str, str]:
    form = {
        "informational_window": "",
        "frequency_cap": "3",
        "reply_exemption_minutes": "15",
        "missed_call_enabled": "on",
        "ai_enabled": "on",
        "emergency_text": "",
        "emergency_text_es": "",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v != "off"}


def test_settings_are_changed_through_the_form_with_the_apis_validation(dash: Env) -> None:
    """R-Q-02 window, R-C-07 mode and the emergency texts, saved and shown again; the
    API reads what the dashboard wrote."""
    t = dash.tenant()
    login(dash, t.key)
    token = csrf(dash)
    spanish = "Si es una emergencia, llame al 911."
    r = dash.client.post(
        "/dashboard/settings",
        data={
            **_settings_form(
                informational_window="09:00-19:00",
                hipaa_exempt_mode="on",
                emergency_text_es=spanish,
                missed_call_enabled="off",
            ),
            "csrf": token,
        },
    )
    assert r.status_code == 200 and "Settings saved." in r.text
    assert 'value="09:00-19:00"' in r.text and spanish in r.text
    s = t.get("/v1/tenant/settings").json()
    assert s["informational_window"] == "09:00-19:00" and s["hipaa_exempt_mode"] is True
    assert s["missed_call"]["enabled"] is False
    assert s["knowledge"]["emergency_texts"] == {"es": spanish}

    cleared = dash.client.post("/dashboard/settings", data={**_settings_form(), "csrf": token})
    assert cleared.status_code == 200
    s = t.get("/v1/tenant/settings").json()
    assert s["informational_window"] is None and s["knowledge"]["emergency_texts"] == {}
    assert s["hipaa_exempt_mode"] is False
    assert "tenant.settings_changed" in [e["action"] for e in t.get("/v1/audit").json()["items"]]


def test_refused_settings_name_each_field_and_change_nothing(dash: Env) -> None:
    t = dash.tenant()
    login(dash, t.key)
    token = csrf(dash)
    before = t.get("/v1/tenant/settings").json()
    for changes, words in (
        ({"informational_window": "07:00-22:00"}, "informational_window"),
        ({"frequency_cap": "lots"}, "whole number"),
        ({"frequency_cap": "99"}, "frequency_cap"),
    ):
        r = dash.client.post(
            "/dashboard/settings", data={**_settings_form(**changes), "csrf": token}
        )
        assert r.status_code == 422 and "Not saved" in r.text and words in r.text, changes
    assert t.get("/v1/tenant/settings").json() == before
    r = dash.client.post("/dashboard/settings", data=_settings_form(hipaa_exempt_mode="on"))
    assert r.status_code == 403
    assert t.get("/v1/tenant/settings").json()["hipaa_exempt_mode"] is False
