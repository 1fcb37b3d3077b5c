"""Tests through the real service (issue 12): the processes an operator runs, real carrier
protocols on loopback.

``frontdesk serve`` (and, on PostgreSQL, ``frontdesk worker``) run as subprocesses
(tests/support/service.py), configured only through ``FRONTDESK_*`` settings, with

* ``FRONTDESK_PROVIDER=twilio`` against the Twilio stand-in (tests/support/twilio_standin.py):
  Twilio's REST API with scripted answers per destination (latency, 429, 500, 21610 at
  create, 30007 in the callback, no answer at all), and signed status callbacks back to
  ``{FRONTDESK_PUBLIC_BASE_URL}/webhooks/twilio/status``;
* ``FRONTDESK_PROVIDER=smpp`` against the npm ``smpp`` SMSC (tests/providers/smsc_harness.py).

Everything is asserted through the service's HTTP API and the carrier's own record of
what it received. 10DLC registration stays enforced, as on every carrier deployment
(R-R-01): each tenant registers a brand and a campaign, the operator approves it, the
sending number is linked to it.

Quiet hours (R-Q-01, R-Q-03, R-Q-05): the tests run at any hour of the day. Recipients
are numbers of an area code where it is daytime now, among states that add nothing to
the federal window (New York, California, Hawaii, Guam); in the hour none is, New York
numbers whose contact record names a zone where it is early afternoon (a contact's
known zone wins over the area code's). So every informational text is ``queued``, not
``scheduled``; :func:`daytime` decides with the service's own quiet-hours rule.

Guarantees exercised (design.md): 1, nothing leaves that a STOP forbids (R-FCC-02, also
the carrier's 21610, T-12); 2, nothing accepted is lost — carrier errors and retries
(R-E-02), a hung carrier bounded by the send timeout, ``kill -9`` mid-send with
duplicates bounded by what was in flight, a killed worker on PostgreSQL.
"""

from __future__ import annotations

import secrets
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from twilio.request_validator import RequestValidator

from frontdesk.domain import quiet_hours
from frontdesk.domain.messages import Category
from tests.api.test_registry import BRAND, CAMPAIGN
from tests.providers.smsc_harness import HarnessUnavailable, Smsc, install_smpp_package
from tests.support import twilio_standin as standin
from tests.support.service import (
    ServiceProcess,
    free_port,
    migrate,
    postgres_database,
)
from tests.support.twilio_standin import TwilioStandin

pytestmark = pytest.mark.slow

ACCOUNT_SID = "AC" + "e2" * 16
AUTH_TOKEN = "e2e-standin-auth-token"
BUSINESS = "+14155550100"
TENANT_TZ = "America/New_York"
# Area codes whose states add no quiet-hours rule to the federal one (R-Q-01, R-Q-03),
# west to east across the day: together they leave only about 11:00-12:00 UTC uncovered.
AREAS = ("212", "415", "808", "671")
FALLBACK_AREA = "212"
# Zones at most 7 hours apart, so one is always at 10:00-17:00 local: the fallback, named
# on each contact (a contact's known zone wins over its area code, R-Q-05).
ZONES = (
    "Pacific/Honolulu",
    "America/Chicago",
    "Europe/London",
    "Asia/Dubai",
    "Asia/Bangkok",
    "Asia/Tokyo",
)
DELIVERED = "delivered"
WAIT = 20.0
INFORMATIONAL = (Category.APPOINTMENT_REMINDER, Category.APPOINTMENT_CONFIRMATION)


# ------------------------------------------------------------------------------ helpers
@dataclass(frozen=True)
class Daytime:
    """Where recipients are so that informational texts may go now: an area code, and
    the zone to name on each contact when no area code's window is open."""

    area: str
    zone: str | None

    def phones(self, block: int, count: int) -> list[str]:
        """``count`` numbers of their own exchange, so tests never share a recipient."""
        assert 0 <= block < 700 and count <= 10_000
        return [f"+1{self.area}{200 + block:03d}{i:04d}" for i in range(count)]


def _open(now: datetime, e164: str, zone: str | None) -> bool:
    """Informational texts may go to this recipient now and for the next two hours."""
    who = quiet_hours.Recipient(e164=e164, timezone=zone)
    return all(
        quiet_hours.check(now + timedelta(minutes=m), who, c, tenant_timezone=TENANT_TZ).allowed
        for m in (0, 60, 120)
        for c in INFORMATIONAL
    )


def daytime(now: datetime | None = None) -> Daytime:
    """Recipients whose quiet-hours window is open now, decided by the service's own rule
    (``domain.quiet_hours.check``; R-Q-01, R-Q-03, R-Q-05), so test and gate agree.

    An area code alone when one is inside its window (no contact record needed), else a
    212 number with a contact zone nearest 13:30 local.
    """
    now = now or datetime.now(UTC)
    for area in AREAS:
        if _open(now, f"+1{area}2000000", None):
            return Daytime(area, None)

    def distance(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        return abs(local.hour + local.minute / 60 - 13.5)

    for zone in sorted(ZONES, key=distance):
        if _open(now, f"+1{FALLBACK_AREA}2000000", zone):
            return Daytime(FALLBACK_AREA, zone)
    raise AssertionError(f"no recipient is inside quiet hours' window at {now:%H:%M} UTC")


def reminder(token: str) -> str:
    """A reminder carrying ``token``, so the carrier's record names the message it carried."""
    return (
        f"Bright Smile Dental: your cleaning is Tue at 3:00 pm (ref {token}). "
        "Reply C to confirm. Reply STOP to opt out."
    )


def wait_until(
    what: str, probe: Callable[[], Any], timeout: float = WAIT, every: float = 0.1
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {value!r}")
        time.sleep(every)


def history(message: dict[str, Any]) -> list[str]:
    """The message's statuses in order, a status repeated by consecutive events once (a
    failure's callback and the retry decision on it are two events of one status)."""
    out: list[str] = []
    for event in message["events"]:
        if not out or out[-1] != event["status"]:
            out.append(event["status"])
    return out


def per_recipient(records: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(r["to"] for r in records)


@dataclass
class Desk:
    """One tenant of a running ``frontdesk serve``, over its HTTP API."""

    svc: ServiceProcess
    http: httpx.Client
    key: str
    where: Daytime

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def call(self, method: str, path: str, want: int | tuple[int, ...] = 200, **kw: Any) -> Any:
        r = self.http.request(method, path, headers={**self.auth, **kw.pop("headers", {})}, **kw)
        wanted = (want,) if isinstance(want, int) else want
        assert r.status_code in wanted, f"{method} {path} -> {r.status_code}: {r.text[:2000]}"
        return r.json() if r.content else None

    def phones(self, block: int, count: int) -> list[str]:
        return self.where.phones(block, count)

    def place(self, phone: str) -> None:
        """Name the contact's zone when the area code alone would be in quiet hours."""
        if self.where.zone is not None:
            self.call("PUT", f"/v1/contacts/{phone}", json={"timezone": self.where.zone})

    def enrol(self, numbers: list[str]) -> list[str]:
        """Informational consent with its evidence (R-C-01, one CSV import) and, when
        :class:`Daytime` needs it, the contact's time zone."""
        captured = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        rows = "".join(
            f"{p},informational,web_form,{captured},https://brightsmile.example/join,203.0.113.9\n"
            for p in numbers
        )
        out = self.call(
            "POST",
            "/v1/consents/import",
            content=f"phone,scope,method,captured_at,form,ip\n{rows}".encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert out["accepted"] == len(numbers), out
        for p in numbers:
            self.place(p)
        return numbers

    def send(self, to: str, body: str, category: str = "appointment_reminder") -> dict[str, Any]:
        out: dict[str, Any] = self.call(
            "POST", "/v1/messages", 201, json={"to": to, "body": body, "category": category}
        )
        return out

    def batch(self, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        messages = [
            {"to": to, "body": body, "category": "appointment_reminder"} for to, body in items
        ]
        results: list[dict[str, Any]] = self.call(
            "POST", "/v1/messages/batch", json={"messages": messages}
        )["results"]
        return results

    def message(self, message_id: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/v1/messages/{message_id}")
        return out

    def contact(self, phone: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/v1/contacts/{phone}")
        return out

    def messages(self, status: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        """Every message of the tenant (paged), optionally of one status or recipient."""
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            params: dict[str, Any] = {"limit": 500, "offset": offset}
            if status:
                params["status"] = status
            if to:
                params["to"] = to
            page = self.call("GET", "/v1/messages", params=params)
            items += page["items"]
            offset = page["next_offset"]
        return items

    def wait_status(
        self, message_id: str, statuses: Iterable[str], timeout: float = WAIT
    ) -> dict[str, Any]:
        wanted = set(statuses)
        return self.wait_for(
            message_id, f"one of {sorted(wanted)}", lambda m: m["status"] in wanted, timeout
        )

    def wait_for(
        self,
        message_id: str,
        what: str,
        holds: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = WAIT,
        **fields: Any,
    ) -> dict[str, Any]:
        """Poll the message until ``holds`` and every ``field == value`` are true."""
        last: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            last.clear()
            last.update(self.message(message_id))
            ok = (holds is None or holds(last)) and all(
                last.get("error_code" if k == "code" else k) == v for k, v in fields.items()
            )
            return dict(last) if ok else None

        try:
            found: dict[str, Any] = wait_until(f"message {message_id}: {what}", probe, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nlast: {last}\n{self.svc.output(3000)}") from None
        return found


def onboard(svc: ServiceProcess, provider: str, where: Daytime) -> Desk:
    """A tenant as a carrier deployment needs it: created by the operator, the SMS Messaging
    Policy accepted (R-B-03), its number under an approved 10DLC campaign (R-R-01)."""
    http = svc.client(timeout=30.0)
    r = http.post(
        "/v1/tenants",
        headers=svc.admin_headers,
        json={
            "name": "Bright Smile Dental",
            "timezone": TENANT_TZ,
            "support_email": "hello@brightsmile.example",
            "support_phone": "+14155550199",
        },
    )
    assert r.status_code == 201, r.text
    desk = Desk(svc, http, r.json()["api_key"], where)
    version = desk.call("GET", "/v1/policy")["version"]
    desk.call("POST", "/v1/policy/accept", json={"version": version, "accepted_by": "Owner"})
    desk.call("POST", "/v1/numbers", 201, json={"number": BUSINESS, "provider": provider})
    brand = desk.call("POST", "/v1/brands", 201, json=BRAND)
    campaign = desk.call("POST", "/v1/campaigns", 201, json={**CAMPAIGN, "brand_id": brand["id"]})
    assert campaign["status"] == "submitted", campaign
    r = http.post(
        f"/v1/campaigns/{campaign['id']}/review",
        headers=svc.admin_headers,
        json={"decision": "approved", "note": "TCR vetted"},
    )
    assert r.status_code == 200, r.text
    desk.call("POST", f"/v1/campaigns/{campaign['id']}/numbers", json={"number": BUSINESS})
    return desk


def twilio_serve(carrier: TwilioStandin, workdir: Path, **settings: str) -> ServiceProcess:
    """``frontdesk serve`` (SQLite, embedded worker) with Twilio pointed at the stand-in."""
    port = free_port()
    env = {
        **carrier.service_env(),
        "FRONTDESK_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_WORKER_IDLE_SECONDS": "0.1",
        **settings,
    }
    return ServiceProcess(
        ("serve", "--no-seed"),
        env,
        port=port,
        database_url=f"sqlite:///{workdir / 'frontdesk.db'}",
        workdir=workdir,
    )


def assert_no_traceback(svc: ServiceProcess) -> None:
    assert "Traceback" not in svc.stderr_text(), svc.output()


def signed_inbound(desk: Desk, sender: str, body: str, *, sign: bool = True) -> httpx.Response:
    """An inbound SMS as Twilio posts it: a form signed over the public URL with the auth
    token (``X-Twilio-Signature``, twilio.request_validator)."""
    path = "/webhooks/twilio/sms"
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": BUSINESS,
        "Body": body,
        "NumMedia": "0",
    }
    headers = {}
    if sign:
        url = f"http://127.0.0.1:{desk.svc.port}{path}"
        headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    return desk.http.post(path, data=form, headers=headers)


def left_sending(db: Path) -> tuple[int, int]:
    """(claimed, released) messages a dead ``serve`` left ``sending`` in its SQLite file:
    the claims whose outcome it never wrote, and those of them already handed to the
    carrier — what was in flight at the crash."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT count(*), count(released_at) FROM messages WHERE status = 'sending'"
        ).fetchone()
    finally:
        conn.close()
    return int(row[0]), int(row[1])


def recovered(message: dict[str, Any]) -> bool:
    """The message has an attempt settled as lost in flight (delivery.recover_claims)."""
    return any((e["detail"] or {}).get("stage") == "recovered" for e in message["events"])


FINAL = frozenset({DELIVERED, "undelivered", "failed", "blocked", "canceled"})


def wait_all_final(desk: Desk, ids: set[str], timeout: float) -> list[dict[str, Any]]:
    """Poll (every 0.5 s: 200 messages a page is work for a busy service) until each of
    ``ids`` has a final status — ``sent`` is not one: its receipt is still to come."""
    mine: list[dict[str, Any]] = []

    def settled() -> bool:
        mine[:] = [m for m in desk.messages() if m["id"] in ids]
        return len(mine) == len(ids) and all(m["status"] in FINAL for m in mine)

    try:
        wait_until("every message final", settled, timeout=timeout, every=0.5)
    except AssertionError:
        open_ = Counter(m["status"] for m in mine)
        raise AssertionError(f"not final: {open_}\n{desk.svc.output(3000)}") from None
    return mine


def explain(desk: Desk, carrier: TwilioStandin, messages: Iterable[dict[str, Any]]) -> str:
    """For a failure message: each message's events and what Twilio holds for its recipient."""
    lines = []
    for m in list(messages)[:5]:
        full = desk.message(m["id"])
        events = [(e["status"], e["error_code"], e["detail"]) for e in full["events"]]
        held = [
            (r["sid"], r["status"], [(c["status"], c["http"]) for c in r["callbacks"]])
            for r in carrier.messages(m["to"])
        ]
        lines.append(f"{m['id']} {m['status']} sid={full['provider_message_id']}")
        lines.append(f"  events: {events}\n  twilio: {held}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def where() -> Daytime:
    return daytime()


@pytest.fixture(scope="module")
def twilio_carrier() -> Iterator[TwilioStandin]:
    """One Twilio stand-in for the module, sending signed status callbacks."""
    with TwilioStandin(ACCOUNT_SID, AUTH_TOKEN, callbacks=True) as carrier:
        yield carrier


@pytest.fixture
def carrier(twilio_carrier: TwilioStandin) -> TwilioStandin:
    """The module's stand-in with nothing remembered, no scripts and short delays."""
    twilio_carrier.reset()
    twilio_carrier.configure(latency=0.02, callbacks=True, sent_delay=0.05, delivered_delay=0.15)
    return twilio_carrier


@pytest.fixture(scope="module")
def shared(
    twilio_carrier: TwilioStandin, tmp_path_factory: pytest.TempPathFactory, where: Daytime
) -> Iterator[Desk]:
    """One ``frontdesk serve`` with Twilio for the Twilio tests, each on recipients of its
    own (:meth:`Daytime.phones` blocks). A send is bounded at 2 s and a claim's lease is
    2 s, so the hang and ``kill -9`` tests need not wait for the defaults (30 s, 120 s)."""
    svc = twilio_serve(
        twilio_carrier,
        tmp_path_factory.mktemp("serve-twilio"),
        FRONTDESK_WORKER_SEND_TIMEOUT_SECONDS="2",
        FRONTDESK_CLAIM_LEASE_SECONDS="2",
    )
    with svc:
        desk = onboard(svc, "twilio", where)
        yield desk
        desk.http.close()
    assert_no_traceback(svc)


# ------------------------------------------------------------------------ Twilio: send
def test_R_E_01_a_consented_send_reaches_twilio_and_its_signed_callbacks_deliver_it(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """R-C-01 consent, R-R-01 an approved campaign: the send is created at Twilio naming the
    status callback; Twilio's signed ``sent`` and ``delivered`` callbacks move it."""
    [to] = shared.enrol(shared.phones(1, 1))
    body = reminder("T1")
    queued = shared.send(to, body)
    assert queued["status"] == "queued", queued

    done = shared.wait_status(queued["id"], [DELIVERED])
    [created] = carrier.messages(to)
    assert created["account"] == ACCOUNT_SID
    assert (created["from"], created["body"]) == (BUSINESS, body)
    assert created["status_callback"] == f"{shared.svc.url}/webhooks/twilio/status"
    assert done["provider"] == "twilio" and done["provider_message_id"] == created["sid"]
    assert [e["status"] for e in done["events"]] == ["queued", "sending", "sent", DELIVERED]
    answered = wait_until(
        "both callbacks answered",
        lambda: [c["http"] for c in carrier.messages(to)[0]["callbacks"] if c["http"]],
    )
    assert len(answered) == 2 and all(200 <= code < 300 for code in answered), answered


def test_R_E_02_21610_at_create_fails_once_never_retried_and_opts_the_recipient_out(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """R-E-02 / T-12: Twilio's 21610 (the recipient texted STOP to the carrier) is
    permanent: ``failed`` with 21610, one create, and the opt-out is recorded, so the
    next send is blocked ``opted_out`` before it reaches the carrier (R-FCC-02)."""
    [to] = shared.enrol(shared.phones(2, 1))
    carrier.set_behaviour(to, standin.error(21610))
    first = shared.send(to, reminder("T2a"))

    failed = shared.wait_status(first["id"], ["failed"])
    assert failed["error_code"] == "21610" and failed["attempts"] == 1, failed
    assert shared.contact(to)["opted_out"] is True
    later = shared.send(to, reminder("T2b"))
    assert later["status"] == "blocked" and "opted_out" in later["reasons"], later

    time.sleep(1.0)  # room for a wrong immediate retry or a confirmation to show up
    stats = carrier.stats()
    assert (stats["refused"], stats["received"]) == (1, 0), "exactly one create, refused"
    again = shared.message(first["id"])
    statuses = [e["status"] for e in again["events"]]
    assert again["status"] == "failed" and statuses.count("queued") == 1, again["events"]
    assert statuses[-1] == "failed" and again["attempts"] == 1, again["events"]


def test_R_E_02_30007_in_the_callback_is_undelivered_and_never_retried(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """R-E-02: Twilio accepts, then reports ``undelivered`` with ErrorCode 30007 (carrier
    filtering) in a signed callback: final, counted, not retried (T-22)."""
    [to] = shared.enrol(shared.phones(3, 1))
    carrier.set_behaviour(to, standin.undelivered(30007))
    sent = shared.send(to, reminder("T3"))

    done = shared.wait_status(sent["id"], ["undelivered"])
    assert done["error_code"] == "30007" and done["attempts"] == 1, done
    assert history(done) == ["queued", "sending", "sent", "undelivered"], done["events"]
    time.sleep(1.0)
    assert len(carrier.messages(to)) == 1, "one create only"
    assert shared.message(sent["id"])["status"] == "undelivered"


def test_R_E_02_429_and_500_are_transient_retried_after_backoff_and_delivered(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """R-E-02: a 429 (20429) and a bare 500 (20500) are no carrier verdict: the message is
    queued again with a backoff (30 s, +jitter) and delivered on the next try; the
    carrier saw K + 1 = 2 creates of each, nothing is lost. (K is 1: the schedule's next
    step is a minute, too long for this suite.)"""
    throttled, broken = shared.enrol(shared.phones(4, 2))
    carrier.set_behaviour(throttled, standin.throttle(times=1))
    carrier.set_behaviour(broken, standin.server_error(500, times=1))
    sent = {
        "20429": shared.send(throttled, reminder("T4a")),
        "20500": shared.send(broken, reminder("T4b")),
    }

    for code, msg in sent.items():
        retry = shared.wait_for(
            msg["id"], f"{code}, queued for a retry", code=code, status="queued"
        )
        wait = datetime.fromisoformat(retry["send_at"]) - datetime.fromisoformat(
            retry["updated_at"]
        )
        assert timedelta(seconds=29) <= wait <= timedelta(seconds=37), retry
        assert retry["attempts"] == 1
    for code, msg in sent.items():
        done = shared.wait_status(msg["id"], [DELIVERED], timeout=50)
        assert done["attempts"] == 2, done
        assert history(done) == ["queued", "sending", "sent", DELIVERED], done["events"]
        refusals = [(e["status"], e["error_code"]) for e in done["events"] if e["error_code"]]
        assert refusals == [("queued", code)], "one refusal, answered with a retry"
    stats = carrier.stats()
    assert stats["refused"] == 2, stats
    assert len(carrier.messages(throttled)) == len(carrier.messages(broken)) == 1


# --------------------------------------------------------------------- Twilio: inbound
def test_R_FCC_02_a_signed_twilio_stop_opts_out_is_confirmed_and_blocks_the_next_send(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """R-FCC-02: STOP through the signed webhook (an unsigned one is refused and changes
    nothing) opts the contact out; the one confirmation goes out (R-FCC-03) and the next
    send is blocked ``opted_out`` without reaching the carrier."""
    [patient] = shared.enrol(shared.phones(5, 1))

    unsigned = signed_inbound(shared, patient, "STOP", sign=False)
    assert unsigned.status_code == 403, unsigned.text
    assert shared.contact(patient)["opted_out"] is False
    signed = signed_inbound(shared, patient, "STOP")
    assert signed.status_code == 200, signed.text
    assert shared.contact(patient)["opted_out"] is True

    [confirmation] = wait_until("the opt-out confirmation", lambda: carrier.messages(patient))
    assert confirmation["from"] == BUSINESS and "unsubscribed" in confirmation["body"]
    later = shared.send(patient, reminder("T5"))
    assert later["status"] == "blocked" and "opted_out" in later["reasons"], later
    time.sleep(0.5)
    assert len(carrier.messages(patient)) == 1, "nothing after the confirmation"


# ------------------------------------------------------------------------ Twilio: flows
def test_R_C_06_an_appointment_reminder_and_a_missed_call_text_back_reach_twilio(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """The receptionist's flows through the real carrier: booking sends its confirmation
    and schedules the reminder, which the worker hands off when due (R-Q-02's late
    cutoff is an hour away); a missed call gets its one text-back (R-C-06)."""
    patient, caller = shared.phones(6, 2)
    shared.enrol([patient])
    shared.place(caller)
    starts = datetime.now(UTC) + timedelta(minutes=1, seconds=4)
    appt = shared.call(
        "POST",
        "/v1/appointments",
        201,
        json={"phone": patient, "starts_at": starts.isoformat(), "reminders": ["PT1M"]},
    )
    by_category = {m["category"]: m for m in appt["messages"]}
    assert by_category["appointment_confirmation"]["status"] == "queued", appt
    assert by_category["appointment_reminder"]["status"] == "scheduled", appt
    missed = shared.call(
        "POST", "/v1/calls/missed", (200, 201), json={"from": caller, "to": BUSINESS}
    )
    assert missed["outcome"] == "texted", missed

    for msg in (*by_category.values(), missed["message"]):
        shared.wait_status(msg["id"], [DELIVERED])
    to_patient = carrier.messages(patient)
    assert [m["body"] for m in to_patient] == [
        by_category["appointment_confirmation"]["body"],
        by_category["appointment_reminder"]["body"],
    ]
    assert "reminder of your visit" in to_patient[1]["body"]
    due = datetime.fromisoformat(by_category["appointment_reminder"]["send_at"])
    assert to_patient[1]["received_at"] >= due.timestamp() - 0.5, "not before it was due"
    [text_back] = carrier.messages(caller)
    assert "missed your call" in text_back["body"] and text_back["from"] == BUSINESS


# ------------------------------------------------------------ Twilio: guarantee 2
def test_R_E_02_a_hanging_twilio_call_times_out_and_is_retried_while_others_go_out(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """A create Twilio never answers holds one send, not the worker: the other recipients'
    texts reach the carrier and are delivered while it hangs, and after the send timeout
    (2 s) it is a ``network`` error — queued again for later (R-E-02, no carrier verdict)
    or failed, never lost and never left ``sending``."""
    hung, *others = shared.enrol(shared.phones(7, 6))
    carrier.set_behaviour(hung, standin.hang())
    stuck = shared.send(hung, reminder("H0"))
    carrier.wait_for(lambda s: s["hung"] >= 1, timeout=WAIT)
    hanging_since = time.time()

    sent = [shared.send(to, reminder(f"H{i}")) for i, to in enumerate(others, 1)]
    for msg in sent:
        shared.wait_status(msg["id"], [DELIVERED], timeout=10)
    timed_out = shared.wait_for(
        stuck["id"],
        "a network error, queued again or failed",
        lambda m: m["status"] in ("queued", "failed"),
        timeout=10,
        code="network",
    )
    if timed_out["status"] == "queued":
        assert datetime.fromisoformat(timed_out["send_at"]) > datetime.now(UTC) + timedelta(
            seconds=10
        ), "retried later, with the backoff"
    [gave_up] = [e for e in timed_out["events"] if e["error_code"] == "network"]
    gave_up_at = datetime.fromisoformat(gave_up["at"]).timestamp()
    assert gave_up_at - hanging_since >= 1.5, "not before the 2 s send timeout"
    for to in others:
        [record] = carrier.messages(to)
        assert record["received_at"] < gave_up_at, "went out while the hung call was open"
    assert carrier.messages(hung) == [], "Twilio never accepted it"


def test_guarantee_2_kill_9_mid_send_loses_nothing_and_duplicates_stay_within_in_flight(
    shared: Desk, carrier: TwilioStandin
) -> None:
    """design.md guarantee 2: ``kill -9`` of ``frontdesk serve`` while ~200 sends are in
    flight (Twilio answering in 0.5 s); restarted, its worker settles the dead claims after
    the 2 s lease, and asks Twilio about sends whose callbacks were lost while it was down.
    Every accepted message reaches Twilio and ends ``delivered``, none is left
    ``sending``, and the messages Twilio received twice are at most those the dead
    process had handed off without storing the answer (its ``sending`` rows already
    released, read from its database after the kill) — each one marked as settled lost
    in flight (R-E-02: bounded duplicates)."""
    recipients = shared.enrol(shared.phones(8, 200))
    tokens = {to: f"K{i:03d}" for i, to in enumerate(recipients)}
    carrier.configure(latency=0.5)
    results = shared.batch([(to, reminder(tokens[to])) for to in recipients])
    assert [r["status"] for r in results] == ["queued"] * len(recipients), results[:3]

    at_kill = carrier.wait_for(lambda s: s["received"] >= 20 and s["in_flight"] > 0)
    shared.svc.kill()
    assert at_kill["in_flight"] > 0, "killed mid-send"
    claimed, released = left_sending(shared.svc.workdir / "frontdesk.db")
    assert released > 0, (claimed, released)

    carrier.configure(latency=0.02)
    # Callbacks Twilio sent while the service was down are lost, as in production: the
    # restarted worker asks Twilio about them (reconcile) once they are 2 s late.
    shared.svc.env.update(
        FRONTDESK_RECONCILE_AFTER_SECONDS="2", FRONTDESK_RECONCILE_EVERY_SECONDS="1"
    )
    shared.svc.restart()
    shared.http.close()
    shared.http = shared.svc.client(timeout=30.0)
    ids = {r["id"]: r["to"] for r in results}
    done = wait_all_final(shared, set(ids), timeout=60)
    assert Counter(m["status"] for m in done) == {DELIVERED: 200}, explain(
        shared, carrier, (m for m in done if m["status"] != DELIVERED)
    )

    records = [r for r in carrier.messages() if r["to"] in tokens]
    assert all(tokens[r["to"]] in r["body"] for r in records), "each create is its message's"
    counts = per_recipient(records)
    assert set(counts) == set(recipients), "every accepted message reached Twilio"
    assert max(counts.values()) <= 2, counts.most_common(3)
    twice = {to for to, n in counts.items() if n > 1}
    assert len(twice) <= released <= claimed, (len(twice), released, claimed)
    for message_id in (i for i, to in ids.items() if to in twice):
        msg = shared.message(message_id)
        assert recovered(msg), msg["events"]
    assert "settled" in shared.svc.stderr_text(), "the restarted worker settled the claims"


# ------------------------------------------------------------ PostgreSQL: scale-out
@dataclass
class ScaleOut:
    desk: Desk
    workers: list[ServiceProcess]


@pytest.fixture(scope="module")
def scale_out(
    twilio_carrier: TwilioStandin, tmp_path_factory: pytest.TempPathFactory, where: Daytime
) -> Iterator[ScaleOut]:
    """``frontdesk serve`` without a worker and two ``frontdesk worker`` processes on one
    PostgreSQL database (skipped when none answers on 127.0.0.1:5432), all with Twilio.
    Batches of 10, so the two workers contend for the same rows (SKIP LOCKED)."""
    root = tmp_path_factory.mktemp("scale-out")
    port = free_port()
    env = {
        **twilio_carrier.service_env(),
        "FRONTDESK_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_WORKER_IDLE_SECONDS": "0.1",
        "FRONTDESK_WORKER_BATCH": "10",
        "FRONTDESK_CLAIM_LEASE_SECONDS": "2",
    }
    with postgres_database() as url:
        migrate(url)
        api = ServiceProcess(
            ("serve", "--no-seed"), env, port=port, database_url=url, workdir=root / "api"
        )
        workers = [
            ServiceProcess(("worker",), env, database_url=url, workdir=root / name, name=name)
            for name in ("worker-1", "worker-2")
        ]
        processes = [api, *workers]
        try:
            for proc in processes:
                proc.start()
            for proc in processes:
                proc.wait_ready()
            assert "worker: external" in api.stdout_text()
            desk = onboard(api, "twilio", where)
            yield ScaleOut(desk, workers)
            desk.http.close()
        finally:
            for proc in reversed(processes):
                proc.terminate()
        for proc in processes:
            assert_no_traceback(proc)


@pytest.mark.postgres
def test_guarantee_2_scale_out_two_workers_hand_off_100_messages_each_exactly_once(
    scale_out: ScaleOut, carrier: TwilioStandin
) -> None:
    """design.md scale-out: two ``frontdesk worker`` processes claim from one PostgreSQL
    queue (SKIP LOCKED) and each of 100 consented messages reaches Twilio exactly once
    and is delivered by its signed callbacks."""
    desk = scale_out.desk
    recipients = desk.enrol(desk.phones(10, 100))
    results = desk.batch([(to, reminder(f"P{i:03d}")) for i, to in enumerate(recipients)])
    assert {r["status"] for r in results} == {"queued"}

    done = wait_all_final(desk, {r["id"] for r in results}, timeout=60)
    assert Counter(m["status"] for m in done) == {DELIVERED: 100}, explain(
        desk, carrier, (m for m in done if m["status"] != DELIVERED)
    )
    assert per_recipient(carrier.messages()) == dict.fromkeys(recipients, 1)
    assert all(w.alive for w in scale_out.workers)


@pytest.mark.postgres
def test_guarantee_2_a_worker_killed_mid_send_leaves_its_claims_to_the_other(
    scale_out: ScaleOut, carrier: TwilioStandin
) -> None:
    """design.md guarantee 2 on the scale-out: worker 2 is paused (SIGSTOP) so worker 1
    claims the whole batch; worker 1 is killed (-9) with sends in flight at Twilio and
    worker 2 resumed. Worker 2 settles the dead claims after the 2 s lease and every
    message ends delivered; a message Twilio received twice was one of the dead worker's
    sends in flight, settled as lost in flight (R-E-02: duplicates bounded)."""
    desk = scale_out.desk
    victim, survivor = scale_out.workers
    survivor.kill(signal.SIGSTOP)
    try:
        carrier.configure(latency=0.5)
        recipients = desk.enrol(desk.phones(11, 100))
        results = desk.batch([(to, reminder(f"W{i:03d}")) for i, to in enumerate(recipients)])
        assert {r["status"] for r in results} == {"queued"}
        at_kill = carrier.wait_for(lambda s: s["received"] >= 5 and s["in_flight"] > 0)
        victim.kill()
    finally:
        survivor.kill(signal.SIGCONT)
    assert at_kill["in_flight"] > 0
    carrier.configure(latency=0.02)

    done = wait_all_final(desk, {r["id"] for r in results}, timeout=60)
    assert Counter(m["status"] for m in done) == {DELIVERED: 100}, explain(
        desk, carrier, (m for m in done if m["status"] != DELIVERED)
    )
    counts = per_recipient(carrier.messages())
    assert set(counts) == set(recipients), "nothing lost"
    assert max(counts.values()) <= 2
    twice = {to for to, n in counts.items() if n > 1}
    lost_in_flight = {m["to"] for m in (desk.message(m["id"]) for m in done) if recovered(m)}
    assert lost_in_flight, "worker 2 settled worker 1's released claims"
    assert twice <= lost_in_flight, twice - lost_in_flight
    assert survivor.alive
    victim.restart()  # the module's deployment keeps two workers


# ------------------------------------------------------------------------------ SMPP
@pytest.fixture(scope="module")
def smsc() -> Iterator[Smsc]:
    """The npm ``smpp`` SMSC (skipped without node and npm, as tests/providers/test_smpp.py)."""
    try:
        package = install_smpp_package()
    except HarnessUnavailable as exc:
        pytest.skip(str(exc))
    server = Smsc(package)
    yield server
    server.stop()


def test_R_FCC_02_over_smpp_a_send_its_receipt_and_an_mo_stop(
    smsc: Smsc, tmp_path: Path, where: Daytime
) -> None:
    """``frontdesk serve`` with ``FRONTDESK_PROVIDER=smpp`` binds to the npm ``smpp`` SMSC as
    a transceiver: a send is a submit_sm asking for a receipt, the SMSC's deliver_sm
    receipt moves it to ``delivered`` (R-E-01); an MO ``STOP`` deliver_sm opts the
    contact out, the one confirmation is submitted (R-FCC-03) and a later send is blocked
    (R-FCC-02)."""
    env = {
        "FRONTDESK_PROVIDER": "smpp",
        "FRONTDESK_SMPP_HOST": "127.0.0.1",
        "FRONTDESK_SMPP_PORT": str(smsc.port),
        "FRONTDESK_SMPP_SYSTEM_ID": "frontdesk",
        "FRONTDESK_SMPP_PASSWORD": "s3cret",
        "FRONTDESK_WORKER_IDLE_SECONDS": "0.1",
    }
    svc = ServiceProcess(
        ("serve", "--no-seed"),
        env,
        database_url=f"sqlite:///{tmp_path / 'fd.db'}",
        workdir=tmp_path,
    )
    with svc:
        bind = smsc.wait("bind", timeout=WAIT)
        assert (bind["system_id"], bind["password"]) == ("frontdesk", "s3cret")
        desk = onboard(svc, "smpp", where)
        [patient] = desk.enrol(desk.phones(12, 1))
        addr = patient.removeprefix("+")

        body = reminder("S1")
        queued = desk.send(patient, body)
        submit = smsc.wait("submit_sm", lambda e: e["destination_addr"] == addr)
        assert (submit["source_addr"], submit["text"]) == (BUSINESS.removeprefix("+"), body)
        assert submit["registered_delivery"] & 1, "a delivery receipt is requested"
        assert desk.wait_status(queued["id"], ["sending", "sent"])["provider"] == "smpp"
        smsc.command("receipt", id=submit["message_id"], stat="DELIVRD", err="000")
        done = desk.wait_status(queued["id"], [DELIVERED])
        assert done["provider_message_id"] == submit["message_id"]

        smsc.command("mo", **{"from": addr, "to": BUSINESS.removeprefix("+"), "text": "STOP"})
        assert smsc.wait("deliver_sm_resp", lambda e: e["label"] == "mo")["command_status"] == 0
        wait_until("the opt-out", lambda: desk.contact(patient)["opted_out"])
        confirmation = smsc.wait_count("submit_sm", 2, lambda e: e["destination_addr"] == addr)[1]
        assert "unsubscribed" in confirmation["text"]
        later = desk.send(patient, reminder("S2"))
        assert later["status"] == "blocked" and "opted_out" in later["reasons"], later
        time.sleep(0.5)
        assert len(smsc.events("submit_sm", lambda e: e["destination_addr"] == addr)) == 2
        desk.http.close()
    assert_no_traceback(svc)
