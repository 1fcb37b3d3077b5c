"""Carrier accounts per tenant through HTTP (issue 12): the secret is stored encrypted and
never returned, logged or audited; bad input is a problem naming the field and changes
nothing; another tenant's account is 404; numbers link to accounts; keys rotate."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app as cli
from frontdesk.secrets_box import ENV_VAR, SecretBox, UnknownKeyError, generate_key_line
from frontdesk.services import carrier_accounts
from frontdesk.storage import carrier_accounts as store
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import T0, Env, Tenant

K1 = generate_key_line("k1")
K2 = generate_key_line("k2")
SID = "AC" + "a1b2c3d4" * 4
TOKEN = "7f3e9c1d5b2a48e6a0c4f8d2b6e1a9c3"
NEW_TOKEN = "0c4f8d2b6e1a9c37f3e9c1d5b2a48e6a"
PASSWORD = "Pw9xQz7k"
TWILIO = {"provider": "twilio", "label": "Main office", "account_sid": SID, "auth_token": TOKEN}
SMPP = {
    "provider": "smpp",
    "label": "Aggregator bind",
    "host": "smsc.example.net",
    "port": 2775,
    "system_id": "brightsmile",
    "password": PASSWORD,
    "system_type": "VMA",
}
NUMBER = "+14155550177"
SECRETS = (TOKEN, NEW_TOKEN, PASSWORD)


@pytest.fixture
def box(env: Env) -> SecretBox:
    box = SecretBox.parse(K1)
    env.client.app.state.secret_box = box  # type: ignore[attr-defined]
    return box


@pytest.fixture
def t(env: Env, box: SecretBox) -> Tenant:
    return env.tenant()


def _problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
        assert all(e["message"] for e in body["errors"])
    return body


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def _create(t: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    r = t.post("/v1/carrier-accounts", body)
    assert r.status_code == 201, r.text
    _no_secret(r.text)
    out: dict[str, Any] = r.json()
    return out


def _db_bytes(env: Env) -> bytes:
    """Every byte SQLite holds for the database: the file and its write-ahead log."""
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(f"{env.db_path}{suffix}")
        if path.exists():
            data += path.read_bytes()
    return data


def _rows(env: Env, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(env.db_path) as conn:
        return list(conn.execute(sql))


def test_created_listed_and_read_without_the_secret_anywhere(
    env: Env, t: Tenant, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        tw = _create(t, TWILIO)
        sm = _create(t, SMPP)
        listed = t.get("/v1/carrier-accounts")
        one = t.get(f"/v1/carrier-accounts/{tw['id']}")
        audit = t.get("/v1/audit")
    assert tw["provider"] == "twilio" and tw["account_sid"] == SID
    assert tw["secret_set"] is True and tw["status"] == "active"
    assert tw["label"] == "Main office" and tw["created_at"].endswith("Z")
    assert "auth_token" not in tw and "secret" not in tw
    assert (sm["host"], sm["port"], sm["system_id"], sm["system_type"]) == (
        "smsc.example.net",
        2775,
        "brightsmile",
        "VMA",
    )
    assert "password" not in sm
    assert [a["id"] for a in listed.json()["items"]] == [tw["id"], sm["id"]]
    assert one.json() == tw
    for r in (listed, one, audit):
        assert r.status_code == 200
        _no_secret(r.text)
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions.count("carrier_account.created") == 2
    _no_secret(caplog.text)
    _no_secret(str(_rows(env, "SELECT data FROM audit_log")))

    # The stored row holds ciphertext under k1, bound to the row, nothing in clear.
    [(ciphertext, key_id)] = _rows(
        env, f"SELECT secret_ciphertext, secret_key_id FROM carrier_accounts WHERE id='{tw['id']}'"
    )
    assert key_id == "k1" and TOKEN not in ciphertext
    assert TOKEN.encode() not in _db_bytes(env) and PASSWORD.encode() not in _db_bytes(env)
    with UnitOfWork(env.container.db) as uow:
        row = store.account(uow.tenant(t.id), tw["id"])
        assert row is not None and store.secret_of(box, row) == TOKEN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TWILIO, "account_sid": "AC123"}, "account_sid"),
        ({**TWILIO, "account_sid": "XY" + "0" * 32}, "account_sid"),
        ({**TWILIO, "auth_token": ""}, "auth_token"),
        ({**TWILIO, "auth_token": "   "}, "auth_token"),
        ({k: v for k, v in TWILIO.items() if k != "auth_token"}, "auth_token"),
        ({**TWILIO, "label": " "}, "label"),
        ({**TWILIO, "api_base": "https://evil.example"}, "api_base"),
        ({**TWILIO, "api_base": "http://api.twilio.com"}, "api_base"),
        ({**TWILIO, "host": "smsc.example.net"}, "host"),
        ({**TWILIO, "provider": "telnyx"}, "provider"),
        ({**TWILIO, "surprise": 1}, "surprise"),
        ({**SMPP, "port": 0}, "port"),
        ({**SMPP, "port": 65536}, "port"),
        ({**SMPP, "port": "many"}, "port"),
        ({**SMPP, "host": "not a host"}, "host"),
        ({**SMPP, "host": ""}, "host"),
        ({**SMPP, "system_id": "x" * 16}, "system_id"),
        ({**SMPP, "password": "123456789"}, "password"),
        ({**SMPP, "password": ""}, "password"),
        ({**SMPP, "system_type": "x" * 13}, "system_type"),
        ({**SMPP, "window": 0}, "window"),
        ({**SMPP, "account_sid": SID}, "account_sid"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    env: Env, t: Tenant, body: dict[str, Any], field: str
) -> None:
    audit_before = len(t.get("/v1/audit").json()["items"])
    r = t.post("/v1/carrier-accounts", body)
    problem = _problem(r, 422, field)
    _no_secret(r.text)
    assert problem["title"]
    assert t.get("/v1/carrier-accounts").json()["items"] == []
    assert len(t.get("/v1/audit").json()["items"]) == audit_before
    assert _rows(env, "SELECT count(*) FROM carrier_accounts") == [(0,)]


def test_every_problem_is_named_at_once(t: Tenant) -> None:
    body = _problem(
        t.post("/v1/carrier-accounts", {**SMPP, "port": 0, "system_id": "", "password": "x" * 9}),
        422,
    )
    assert {e["field"] for e in body["errors"]} == {"port", "system_id", "password"}


def test_another_tenants_account_is_404(env: Env, t: Tenant) -> None:
    acct = _create(t, TWILIO)
    other = env.tenant("Other Dental", number="+14155550188")
    for r in (
        other.get(f"/v1/carrier-accounts/{acct['id']}"),
        env.client.patch(
            f"/v1/carrier-accounts/{acct['id']}", headers=other.auth, json={"label": "mine"}
        ),
        env.client.delete(f"/v1/carrier-accounts/{acct['id']}", headers=other.auth),
    ):
        _problem(r, 404)
    assert other.get("/v1/carrier-accounts").json()["items"] == []
    assert t.get(f"/v1/carrier-accounts/{acct['id']}").json()["label"] == "Main office"
    # Another tenant's account cannot be linked to a number either (same as unknown).
    r = other.post("/v1/numbers", {"number": NUMBER, "carrier_account_id": acct["id"]})
    _problem(r, 422, "carrier_account_id")
    assert r.json()["errors"][0]["code"] == "unknown_carrier_account"
    assert NUMBER not in other.get("/v1/tenant").json()["numbers"]
    assert env.client.get("/v1/carrier-accounts").status_code == 401
    assert env.client.get("/v1/carrier-accounts", headers=env.admin).status_code == 403


def test_a_number_links_to_an_account_and_shows_it(env: Env, t: Tenant) -> None:
    acct = _create(t, TWILIO)
    r = t.post("/v1/numbers", {"number": "(415) 555-0177", "carrier_account_id": acct["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["carrier_account_id"] == acct["id"]
    assert r.json()["provider"] == "twilio"  # the account's, as no provider was given
    assert t.get(f"/v1/carrier-accounts/{acct['id']}").json()["numbers"] == [NUMBER]
    listed = t.get("/v1/carrier-accounts").json()["items"]
    assert listed[0]["numbers"] == [NUMBER]
    actions = [e["action"] for e in t.get("/v1/audit").json()["items"]]
    assert "number.carrier_account_linked" in actions

    # The platform-wide reads the worker and the webhook edge use.
    with UnitOfWork(env.container.db) as uow:
        assert store.number_accounts(uow) == {NUMBER: acct["id"]}
        assert store.account_id_for_number(uow, NUMBER) == acct["id"]
        assert store.account_id_for_number(uow, t.number or "") is None
        box = env.client.app.state.secret_box  # type: ignore[attr-defined]
        [config] = carrier_accounts.router_configs(uow, box)
    assert (config.id, config.provider, config.account_sid, config.secret) == (
        acct["id"],
        "twilio",
        SID,
        TOKEN,
    )
    assert TOKEN not in repr(config)


def test_numbers_without_an_account_behave_as_before(t: Tenant) -> None:
    r = t.post("/v1/numbers", {"number": NUMBER, "provider": "simulator"})
    assert r.status_code == 201 and r.json()["carrier_account_id"] is None
    _problem(t.post("/v1/numbers", {"number": NUMBER, "provider": "simulator"}), 409)
    _problem(
        t.post("/v1/numbers", {"number": "+14155550178", "provider": "twilio"}), 422, "provider"
    )
    # An explicit null keeps a simulator number on the platform default.
    r = t.post("/v1/numbers", {"number": NUMBER, "carrier_account_id": None})
    assert r.status_code == 200 and r.json()["carrier_account_id"] is None


def test_a_link_must_be_enabled_and_of_the_numbers_provider(t: Tenant) -> None:
    tw = _create(t, TWILIO)
    sm = _create(t, SMPP)
    r = t.post("/v1/numbers", {"number": NUMBER, "carrier_account_id": sm["id"]})
    assert r.status_code == 201 and r.json()["provider"] == "smpp"
    # The number is SMPP: a Twilio account does not fit, nor does the simulator default.
    for account in (tw["id"], None):
        r = t.post("/v1/numbers", {"number": NUMBER, "carrier_account_id": account})
        assert _problem(r, 422, "carrier_account_id")["errors"][0]["code"] == "provider_mismatch"
    r = t.post(
        "/v1/numbers",
        {"number": "+14155550178", "provider": "smpp", "carrier_account_id": tw["id"]},
    )
    _problem(r, 422, "carrier_account_id")
    assert "+14155550178" not in t.get("/v1/tenant").json()["numbers"]
    assert t.env.client.delete(f"/v1/carrier-accounts/{tw['id']}", headers=t.auth).is_success
    r = t.post("/v1/numbers", {"number": "+14155550179", "carrier_account_id": tw["id"]})
    assert _problem(r, 422, "carrier_account_id")["errors"][0]["code"] == (
        "carrier_account_disabled"
    )


def test_disable_is_refused_while_a_number_sends_through_the_account(env: Env, t: Tenant) -> None:
    a = _create(t, TWILIO)
    b = _create(t, {**TWILIO, "label": "Second"})
    t.post("/v1/numbers", {"number": NUMBER, "carrier_account_id": a["id"]})
    r = env.client.delete(f"/v1/carrier-accounts/{a['id']}", headers=t.auth)
    assert "0177" in _problem(r, 409)["detail"]
    assert t.get(f"/v1/carrier-accounts/{a['id']}").json()["status"] == "active"
    # Moved to the other account, the first can be disabled.
    r = t.post("/v1/numbers", {"number": NUMBER, "carrier_account_id": b["id"]})
    assert r.status_code == 200 and r.json()["carrier_account_id"] == b["id"]
    env.clock.advance(timedelta(minutes=1))
    r = env.client.delete(f"/v1/carrier-accounts/{a['id']}", headers=t.auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "disabled" and r.json()["disabled_at"]
    again = env.client.delete(f"/v1/carrier-accounts/{a['id']}", headers=t.auth)
    assert again.status_code == 200 and again.json()["disabled_at"] == r.json()["disabled_at"]
    with UnitOfWork(env.container.db) as uow:
        box = env.client.app.state.secret_box  # type: ignore[attr-defined]
        assert [c.id for c in carrier_accounts.router_configs(uow, box)] == [b["id"]]
    patch = env.client.patch(f"/v1/carrier-accounts/{a['id']}", headers=t.auth, json={"label": "x"})
    _problem(patch, 409)


def test_the_secret_is_rotated_and_never_echoed(
    env: Env, t: Tenant, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    acct = _create(t, TWILIO)
    url = f"/v1/carrier-accounts/{acct['id']}"
    with caplog.at_level(logging.DEBUG):
        r = env.client.patch(url, headers=t.auth, json={"auth_token": NEW_TOKEN, "label": "HQ"})
    assert r.status_code == 200, r.text
    _no_secret(r.text)
    _no_secret(caplog.text)
    assert r.json()["label"] == "HQ" and r.json()["secret_set"] is True
    with UnitOfWork(env.container.db) as uow:
        row = store.account(uow.tenant(t.id), acct["id"])
        assert row is not None and store.secret_of(box, row) == NEW_TOKEN
    [entry] = [e for e in t.get("/v1/audit").json()["items"] if e["action"].endswith("updated")]
    assert entry["data"]["changed"] == ["label", "secret"]
    _no_secret(str(_rows(env, "SELECT data FROM audit_log")))
    # The wrong provider's secret field, or an empty token, is refused and changes nothing.
    _problem(env.client.patch(url, headers=t.auth, json={"password": "abc"}), 422, "password")
    _problem(env.client.patch(url, headers=t.auth, json={"auth_token": ""}), 422, "auth_token")
    with UnitOfWork(env.container.db) as uow:
        row = store.account(uow.tenant(t.id), acct["id"])
        assert row is not None and store.secret_of(box, row) == NEW_TOKEN


def test_rotation_reseals_every_secret_under_the_current_key(env: Env, t: Tenant) -> None:
    _create(t, TWILIO)
    _create(t, SMPP)
    other = env.tenant("Other Dental", number="+14155550188")
    _create(other, {**TWILIO, "label": "Other"})
    rotated = SecretBox.parse(f"{K2},{K1}")
    with UnitOfWork(env.container.db) as uow:
        assert carrier_accounts.rotate_keys(uow, rotated, now=T0) == 3
        uow.commit()
    assert {k for (k,) in _rows(env, "SELECT secret_key_id FROM carrier_accounts")} == {"k2"}
    only_k2 = SecretBox.parse(K2)
    with UnitOfWork(env.container.db) as uow:
        secrets = {c.secret for c in carrier_accounts.router_configs(uow, only_k2)}
        assert secrets == {TOKEN, PASSWORD}
        assert carrier_accounts.rotate_keys(uow, rotated, now=T0) == 0
    actions = [e["action"] for e in t.get("/v1/audit").json()["items"]]
    assert "carrier_accounts.keys_rotated" in actions
    assert t.get("/v1/audit/verify").json()["ok"] is True


def test_a_secret_under_an_unknown_key_is_a_clear_error_and_nothing_changes(
    env: Env, t: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    acct = _create(t, TWILIO)
    env.client.app.state.secret_box = SecretBox.parse(generate_key_line("k0"))  # type: ignore[attr-defined]
    _create(t, SMPP)
    before = _rows(env, "SELECT id, secret_key_id, secret_ciphertext FROM carrier_accounts")
    # k1's row would re-seal, k0's cannot: the error names k0, and nothing is committed.
    with (
        UnitOfWork(env.container.db) as uow,
        pytest.raises(UnknownKeyError, match=r"'k0'.*FRONTDESK_SECRET_KEYS"),
    ):
        carrier_accounts.rotate_keys(uow, SecretBox.parse(f"{K2},{K1}"), now=T0)
    assert _rows(env, "SELECT id, secret_key_id, secret_ciphertext FROM carrier_accounts") == before
    stranger = SecretBox.parse(generate_key_line("k3"))
    # The worker's read leaves the account out and says why, by id, without the secret.
    with caplog.at_level(logging.ERROR), UnitOfWork(env.container.db) as uow:
        assert carrier_accounts.router_configs(uow, stranger) == []
    assert acct["id"] in caplog.text and "k1" in caplog.text
    _no_secret(caplog.text)


def test_without_a_key_in_production_the_routes_say_how_to_set_one(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = env.tenant()
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    r = t.post("/v1/carrier-accounts", TWILIO)
    assert ENV_VAR in _problem(r, 503)["detail"]
    _no_secret(r.text)
    assert t.get("/v1/carrier-accounts").json()["items"] == []
    monkeypatch.setenv(ENV_VAR, K2)
    acct = _create(t, TWILIO)
    assert _rows(env, f"SELECT secret_key_id FROM carrier_accounts WHERE id='{acct['id']}'") == [
        ("k2",)
    ]
    assert isinstance(env.client.app.state.secret_box, SecretBox)  # type: ignore[attr-defined]


def test_the_openapi_documents_the_routes(env: Env) -> None:
    paths = env.client.get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/v1/carrier-accounts"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/carrier-accounts/{account_id}"])


def test_cli_generates_a_key_and_rotates(
    env: Env, t: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    _create(t, TWILIO)
    runner = CliRunner()
    generated = runner.invoke(cli, ["keys", "generate", "--key-id", "k2"])
    assert generated.exit_code == 0, generated.output
    line = generated.output.strip()
    assert line.startswith("k2:") and SecretBox.parse(line).current_key_id == "k2"
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{env.db_path}")
    monkeypatch.setenv(ENV_VAR, f"{line},{K1}")
    rotated = runner.invoke(cli, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "Re-encrypted 1 secret(s) under key 'k2'" in rotated.output
    assert _rows(env, "SELECT secret_key_id FROM carrier_accounts") == [("k2",)]
    monkeypatch.setenv(ENV_VAR, generate_key_line("k9"))
    failed = runner.invoke(cli, ["keys", "rotate"])
    assert failed.exit_code == 2 and "Nothing was re-encrypted" in failed.output
    assert "'k2'" in failed.output
