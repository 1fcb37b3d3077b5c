"""SecretBox: AES-GCM under key ids from FRONTDESK_SECRET_KEYS, rotation, clear errors."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from frontdesk.secrets_box import (
    ENV_VAR,
    DecryptionError,
    Sealed,
    SecretBox,
    SecretKeyError,
    UnknownKeyError,
    generate_key_line,
    parse_keys,
)

K1 = generate_key_line("k1")
K2 = generate_key_line("k2")


def test_a_secret_opens_under_the_key_that_sealed_it_and_the_row_it_was_bound_to() -> None:
    box = SecretBox.parse(K1)
    sealed = box.seal_text("tok-123", b"row:1")
    assert sealed.key_id == "k1"
    assert "tok-123" not in sealed.ciphertext
    assert box.open_text(sealed, b"row:1") == "tok-123"
    with pytest.raises(DecryptionError, match="another row"):
        box.open_text(sealed, b"row:2")


def test_the_first_key_seals_and_every_key_opens() -> None:
    old = SecretBox.parse(K1).seal_text("old secret")
    both = SecretBox.parse(f"{K2},{K1}")
    assert both.current_key_id == "k2" and both.key_ids == ("k2", "k1")
    assert both.open_text(old) == "old secret"
    assert both.seal_text("new").key_id == "k2"
    assert both.needs_rotation("k1") and not both.needs_rotation("k2")
    resealed = both.reseal(old)
    assert resealed.key_id == "k2"
    assert SecretBox.parse(K2).open_text(resealed) == "old secret"


def test_an_unknown_key_id_is_a_clear_error() -> None:
    sealed = SecretBox.parse(K1).seal_text("x")
    with pytest.raises(UnknownKeyError) as err:
        SecretBox.parse(K2).open(sealed)
    text = str(err.value)
    assert "'k1'" in text and ENV_VAR in text and "frontdesk keys rotate" in text


def test_an_altered_ciphertext_or_other_key_material_under_the_same_id_does_not_open() -> None:
    box = SecretBox.parse(K1)
    sealed = box.seal_text("secret")
    raw = bytearray(base64.urlsafe_b64decode(sealed.ciphertext))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        box.open(Sealed("k1", base64.urlsafe_b64encode(bytes(raw)).decode()))
    with pytest.raises(DecryptionError):
        SecretBox.parse(generate_key_line("k1")).open(sealed)
    with pytest.raises(DecryptionError, match="malformed"):
        box.open(Sealed("k1", "not base64!!"))


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        "nokeyid",
        "k1:short",
        "k1:" + base64.urlsafe_b64encode(b"x" * 31).decode(),
        "bad id!:" + base64.urlsafe_b64encode(b"x" * 32).decode(),
        f"{K1},{K1}",
    ],
    # Ids by position: K1 is random, and xdist workers must collect the same ids.
    ids=["empty", "blank", "no-key-id", "short", "31-bytes", "bad-id", "duplicate-id"],
)
def test_a_bad_key_set_names_the_variable_and_how_to_generate_a_key(spec: str) -> None:
    with pytest.raises(SecretKeyError) as err:
        SecretBox.parse(spec)
    text = str(err.value)
    assert ENV_VAR in text
    assert "frontdesk keys generate" in text and "token_bytes(32)" in text


def test_a_bad_key_is_never_echoed() -> None:
    material = base64.urlsafe_b64encode(b"s3cr3t-material-31-bytes-long!!"[:31]).decode()
    with pytest.raises(SecretKeyError) as err:
        SecretBox.parse(f"k1:{material}")
    assert material not in str(err.value) and "'k1'" in str(err.value)


def test_keys_parse_without_padding_and_with_newlines() -> None:
    key_id, key = parse_keys(K1)[0]
    unpadded = "k9:" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert parse_keys(f"{unpadded}\n{K2}") == [("k9", key), ("k2", parse_keys(K2)[0][1])]
    assert key_id == "k1"


def test_repr_shows_key_ids_only() -> None:
    box = SecretBox.parse(f"{K2},{K1}")
    material = K2.split(":", 1)[1]
    assert material not in repr(box) and material not in str(box)
    assert "k2" in repr(box)
    data_key = box.new_data_key(b"batch:1")
    assert data_key.key.hex() not in repr(data_key)
    assert box.open(data_key.sealed, b"batch:1") == data_key.key


def test_from_environment_prefers_the_variable(tmp_path: Path) -> None:
    box, where = SecretBox.from_environment({ENV_VAR: f"{K2},{K1}"}, tmp_path)
    assert box.current_key_id == "k2" and ENV_VAR in where
    assert not (tmp_path / "secret-keys").exists()


def test_development_generates_a_key_once_into_var_with_mode_0600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    box, where = SecretBox.from_environment({}, var)
    path = var / "secret-keys"
    assert path.exists() and "generated" in where and str(path) in where
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = box.seal_text("kept")
    again, where2 = SecretBox.from_environment({"FRONTDESK_DATABASE_URL": "sqlite:///x.db"}, var)
    assert "generated" not in where2
    assert again.open_text(sealed) == "kept"


@pytest.mark.parametrize(
    "env",
    [
        {"FRONTDESK_ENV": "production"},
        {"FRONTDESK_DATABASE_URL": "postgresql://u:p@db/frontdesk"},
    ],
)
def test_production_or_postgres_without_a_key_is_an_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with pytest.raises(SecretKeyError, match=ENV_VAR):
        SecretBox.from_environment(env, tmp_path)
    assert not (tmp_path / "secret-keys").exists()
