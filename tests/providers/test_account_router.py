"""AccountRouter: each message through its carrier account's provider, the platform
default for None; lazy building, reload, drains, look-ups and close (fakes at the
provider seam)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pytest

from frontdesk.providers.accounts import (
    ACCOUNT_UNAVAILABLE,
    AccountRouter,
    CarrierAccountConfig,
)
from frontdesk.providers.base import (
    InboundSms,
    OutboundSms,
    Provider,
    SendResult,
    StatusLookup,
    StatusUpdate,
)

TOKEN = "tok_5f1e0c9a4b7d44e2a6c1b8f3d2e9a7c0"


@dataclass
class FakeProvider:
    """A carrier at the provider seam: records sends, hands out queued reports."""

    name: str
    supports_mms: bool = True
    sent: list[OutboundSms] = field(default_factory=list)
    status: list[StatusUpdate] = field(default_factory=list)
    inbound: list[InboundSms] = field(default_factory=list)
    lookups: list[tuple[str, str | None, int]] = field(default_factory=list)
    closed: int = 0

    def send(self, message: OutboundSms) -> SendResult:
        self.sent.append(message)
        return SendResult(accepted=True, provider_message_id=f"{self.name}-{len(self.sent)}")

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        return InboundSms(self.name, form.get("id"), form["from"], form["to"], form["body"])

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        return StatusUpdate(self.name, form["id"], form["status"])

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return signature == f"signed-by-{self.name}"

    def drain_status_updates(self) -> list[StatusUpdate]:
        out, self.status = self.status, []
        return out

    def drain_inbound(self) -> list[InboundSms]:
        out, self.inbound = self.inbound, []
        return out

    def fetch_status(
        self, provider_message_id: str, *, sender: str | None = None, parts: int = 1
    ) -> StatusUpdate | None:
        self.lookups.append((provider_message_id, sender, parts))
        return StatusUpdate(self.name, provider_message_id, "delivered", source="lookup")

    def close(self) -> None:
        self.closed += 1


def twilio(account_id: str = "acct_a", secret: str = TOKEN) -> CarrierAccountConfig:
    return CarrierAccountConfig(
        id=account_id,
        tenant_id="ten_1",
        provider="twilio",
        secret=secret,
        account_sid="AC" + "0" * 32,
    )


def smpp(account_id: str = "acct_s") -> CarrierAccountConfig:
    return CarrierAccountConfig(
        id=account_id,
        tenant_id="ten_2",
        provider="smpp",
        secret="pw123456",
        host="smsc.example",
        port=2775,
        system_id="frontdesk",
    )


class Factory:
    def __init__(self) -> None:
        self.built: dict[str, list[FakeProvider]] = {}

    def __call__(self, config: CarrierAccountConfig) -> Provider:
        provider = FakeProvider(name=f"{config.provider}:{config.id}")
        self.built.setdefault(config.id, []).append(provider)
        return provider

    def one(self, account_id: str) -> FakeProvider:
        [provider] = self.built[account_id]
        return provider


def sms(account: str | None, n: int = 1) -> OutboundSms:
    return OutboundSms(f"msg_{n}", "+14155550123", "+14155550100", "hello", account=account)


@pytest.fixture
def default() -> FakeProvider:
    return FakeProvider(name="simulator")


@pytest.fixture
def factory() -> Factory:
    return Factory()


def test_none_goes_to_the_default_and_an_account_to_its_own_provider(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [twilio("acct_a"), smpp("acct_s")])
    assert factory.built == {}  # built lazily
    assert router.send(sms(None, 1)).accepted
    assert router.send(sms("acct_a", 2)).provider_message_id == "twilio:acct_a-1"
    assert router.send(sms("acct_s", 3)).accepted
    assert router.send(sms("acct_a", 4)).accepted
    assert [m.message_id for m in default.sent] == ["msg_1"]
    assert [m.message_id for m in factory.one("acct_a").sent] == ["msg_2", "msg_4"]
    assert [m.message_id for m in factory.one("acct_s").sent] == ["msg_3"]
    assert router.name == "simulator"
    assert router.name_for("acct_a") == "twilio" and router.name_for(None) == "simulator"


def test_an_unknown_account_is_refused_and_no_carrier_is_called(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [twilio("acct_a")])
    result = router.send(sms("acct_gone"))
    assert not result.accepted and result.error_code == ACCOUNT_UNAVAILABLE
    assert "acct_gone" in (result.error_message or "")
    assert default.sent == [] and factory.built == {}
    assert router.provider_for("acct_gone") is None
    assert router.provider_for(None) is default


def test_a_factory_that_fails_makes_the_account_unavailable_without_logging_its_secret(
    default: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(config: CarrierAccountConfig) -> Provider:
        raise ValueError(f"cannot use {config.secret}")

    router = AccountRouter(default, broken, [twilio("acct_a")])
    with caplog.at_level(logging.DEBUG):
        result = router.send(sms("acct_a"))
    assert result.error_code == ACCOUNT_UNAVAILABLE
    assert "acct_a" in caplog.text and "ValueError" in caplog.text
    assert TOKEN not in caplog.text


def test_reload_closes_removed_and_changed_accounts_and_keeps_the_others(
    default: FakeProvider, factory: Factory
) -> None:
    a, s = twilio("acct_a"), smpp("acct_s")
    router = AccountRouter(default, factory, [a, s])
    router.send(sms("acct_a"))
    router.send(sms("acct_s"))
    first_a, first_s = factory.one("acct_a"), factory.one("acct_s")
    first_s.status.append(StatusUpdate("smpp", "m1", "delivered"))

    rotated = replace(a, secret="tok_rotated")
    router.reload([rotated, twilio("acct_new")])
    assert first_a.closed == 1 and first_s.closed == 1
    assert router.account_ids == {"acct_a", "acct_new"}
    assert router.config_for("acct_a") == rotated
    router.send(sms("acct_a"))
    assert len(factory.built["acct_a"]) == 2  # rebuilt with the new token
    assert router.send(sms("acct_s")).error_code == ACCOUNT_UNAVAILABLE
    # The closed provider's pending receipt is not lost.
    assert [u.provider_message_id for u in router.drain_status_updates()] == ["m1"]

    kept = factory.built["acct_a"][1]
    router.reload([rotated])
    assert kept.closed == 0
    router.send(sms("acct_a"))
    assert len(factory.built["acct_a"]) == 2


def test_drains_concatenate_the_default_and_every_built_provider(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [twilio("acct_a"), smpp("acct_s")])
    router.send(sms("acct_a"))
    router.send(sms("acct_s"))
    default.status.append(StatusUpdate("simulator", "d1", "sent"))
    factory.one("acct_a").status.append(StatusUpdate("twilio", "t1", "delivered"))
    factory.one("acct_s").inbound.append(InboundSms("smpp", "i1", "+1415", "+1415", "STOP"))
    assert {u.provider_message_id for u in router.drain_status_updates()} == {"d1", "t1"}
    assert [i.provider_message_id for i in router.drain_inbound()] == ["i1"]
    assert router.drain_status_updates() == [] and router.drain_inbound() == []


def test_fetch_status_asks_the_account_of_the_message(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [smpp("acct_s")])
    assert isinstance(router, StatusLookup)
    found = router.fetch_status("p1", sender="+14155550100", parts=2, account="acct_s")
    assert found is not None and found.provider == "smpp:acct_s"
    assert factory.one("acct_s").lookups == [("p1", "+14155550100", 2)]
    assert router.fetch_status("p2") is not None and default.lookups == [("p2", None, 1)]
    assert router.fetch_status("p3", account="acct_unknown") is None


def test_reconciliation_knowing_only_the_sender_asks_that_numbers_account(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [twilio("acct_a")])
    router.link_numbers({"+14155550177": "acct_a"})
    assert router.fetch_status("p1", sender="+14155550177") is not None
    assert factory.one("acct_a").lookups == [("p1", "+14155550177", 1)]
    assert router.fetch_status("p2", sender="+14155550100") is not None
    assert default.lookups == [("p2", "+14155550100", 1)]


def test_webhook_verification_uses_the_account_provider_when_asked(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [twilio("acct_a")])
    account = router.provider_for("acct_a")
    assert account is not None
    assert account.verify_signature("u", {}, "signed-by-twilio:acct_a")
    assert not router.verify_signature("u", {}, "signed-by-twilio:acct_a")
    assert router.verify_signature("u", {}, "signed-by-simulator")


def test_close_closes_every_provider_and_nothing_is_built_after(
    default: FakeProvider, factory: Factory
) -> None:
    router = AccountRouter(default, factory, [twilio("acct_a"), smpp("acct_s")])
    router.send(sms("acct_a"))
    router.close()
    assert factory.one("acct_a").closed == 1 and default.closed == 1
    assert router.provider_for("acct_s") is None


def test_config_repr_and_str_mask_the_secret() -> None:
    config = twilio()
    assert TOKEN not in repr(config) and TOKEN not in str(config)
    assert "secret='***'" in repr(config) and "acct_a" in repr(config)
    assert TOKEN not in repr(AccountRouter(FakeProvider("simulator"), Factory(), [config]))


def test_config_from_the_stored_record() -> None:
    config = CarrierAccountConfig.from_record(
        id="acct_s",
        tenant_id="ten_1",
        provider="smpp",
        config={"host": "smsc.example", "port": 2775, "system_id": "fd", "window": 4},
        secret="pw",
    )
    assert (config.host, config.port, config.system_id, config.window) == (
        "smsc.example",
        2775,
        "fd",
        4,
    )
    assert config.system_type == "" and config.account_sid is None
    with pytest.raises(ValueError, match="provider"):
        CarrierAccountConfig(id="x", tenant_id="t", provider="carrier-pigeon", secret="s")
