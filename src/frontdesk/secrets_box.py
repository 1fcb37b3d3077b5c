"""Encryption of secrets at rest: AES-256-GCM under keys named by a key id.

Carrier credentials (a tenant's Twilio auth token, an SMPP password) are stored as
ciphertext with the id of the key that sealed them, so a database dump, a backup or
a replica gives nobody the power to send as a tenant. The keys come from the
environment, never from the database they protect.

``FRONTDESK_SECRET_KEYS`` is a comma-separated list of ``key_id:key`` where ``key`` is
32 random bytes in URL-safe base64. The first is the current key, used to seal; every
key listed opens what it sealed, found by the key id stored beside each ciphertext.
Rotation is therefore: put a new key first, keep the old ones after it, run
``frontdesk keys rotate`` (which re-seals every row under the current key), then drop
the old keys.

Why AES-GCM with our own key id rather than Fernet/MultiFernet: MultiFernet tries
every key in turn and records no key id, so nothing can tell which rows still need
the old key before it is dropped; the key id per row makes rotation countable
(``needs_rotation``) and an unknown key a clear error instead of a generic "invalid
token". GCM also authenticates *associated data*: callers bind each ciphertext to its
row (table, column, row id), so a ciphertext copied into another tenant's row does
not open there.

Built for reuse: a later issue can encrypt message bodies at rest with envelope
encryption — one random data key per row or batch (:meth:`SecretBox.new_data_key`),
the body sealed under it, the data key itself sealed by this box and stored with its
key id. Rotating the master key then re-seals only the small data keys.

This module holds no database or web code; it is imported by storage (which seals and
opens), the API edge and the CLI. It never logs or formats key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("frontdesk.secrets")

ENV_VAR = "FRONTDESK_SECRET_KEYS"
KEY_FILE = "secret-keys"
KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"  # first byte of every sealed value: room for another scheme later
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
GENERATE_COMMAND = (
    'python -c "import secrets,base64;'
    "print('k1:'+base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())\""
)
HOW_TO_FIX = (
    f"Set {ENV_VAR} to a comma-separated list of key_id:base64-urlsafe-32-byte-key "
    f"(the first one encrypts). Generate one with `frontdesk keys generate` or {GENERATE_COMMAND}"
)


class SecretBoxError(Exception):
    """A key set or a ciphertext that cannot be used; the message says how to fix it."""


class SecretKeyError(SecretBoxError, ValueError):
    """``FRONTDESK_SECRET_KEYS`` is missing or malformed."""


class UnknownKeyError(SecretBoxError):
    """A ciphertext names a key id the configured key set does not hold."""


class DecryptionError(SecretBoxError):
    """The ciphertext does not open under its key (wrong key material, or altered)."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """A ciphertext and the id of the key that sealed it: what a row stores."""

    key_id: str
    ciphertext: str  # URL-safe base64 of version || nonce || AES-GCM output (tag included)


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh data key for envelope encryption: use ``key`` for the payload, store
    ``sealed`` beside it, forget ``key``."""

    key: bytes = field(repr=False)
    sealed: Sealed

    def __repr__(self) -> str:
        return f"DataKey(key=***, sealed={self.sealed!r})"


def generate_key_line(key_id: str = "k1") -> str:
    """A new ``key_id:key`` entry for ``FRONTDESK_SECRET_KEYS``."""
    _check_key_id(key_id)
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def _check_key_id(key_id: str) -> None:
    if not KEY_ID_PATTERN.match(key_id):
        raise SecretKeyError(
            f"{ENV_VAR}: key id {key_id!r} must be 1-32 letters, digits, '-' or '_'. " + HOW_TO_FIX
        )


def _decode_key(key_id: str, text: str) -> bytes:
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        # Never echo the key text: it is (or is meant to be) a secret.
        raise SecretKeyError(
            f"{ENV_VAR}: key {key_id!r} is not {KEY_BYTES} bytes of URL-safe base64. " + HOW_TO_FIX
        )
    return raw


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``k2:...,k1:...`` (commas or newlines) into ``[(key_id, key), ...]``, current first."""
    entries = [part.strip() for part in re.split(r"[,\n]", spec) if part.strip()]
    if not entries:
        raise SecretKeyError(f"{ENV_VAR} is empty. " + HOW_TO_FIX)
    out: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for entry in entries:
        key_id, sep, text = entry.partition(":")
        key_id = key_id.strip()
        if not sep:
            raise SecretKeyError(
                f"{ENV_VAR}: an entry has no 'key_id:' prefix (entry {len(out) + 1}). " + HOW_TO_FIX
            )
        _check_key_id(key_id)
        if key_id in seen:
            raise SecretKeyError(f"{ENV_VAR}: key id {key_id!r} appears twice. " + HOW_TO_FIX)
        seen.add(key_id)
        out.append((key_id, _decode_key(key_id, text)))
    return out


class SecretBox:
    """Seals and opens small secrets under a key set; the first key is the current one."""

    __slots__ = ("_ciphers", "_current")

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise SecretKeyError(f"{ENV_VAR} holds no key. " + HOW_TO_FIX)
        ciphers: dict[str, AESGCM] = {}
        for key_id, key in keys:
            _check_key_id(key_id)
            if key_id in ciphers:
                raise SecretKeyError(f"{ENV_VAR}: key id {key_id!r} appears twice. " + HOW_TO_FIX)
            if len(key) != KEY_BYTES:
                raise SecretKeyError(f"{ENV_VAR}: key {key_id!r} is not {KEY_BYTES} bytes.")
            ciphers[key_id] = AESGCM(key)
        self._ciphers = ciphers
        self._current = keys[0][0]

    @classmethod
    def parse(cls, spec: str) -> SecretBox:
        """A box from the ``FRONTDESK_SECRET_KEYS`` syntax."""
        return cls(parse_keys(spec))

    @classmethod
    def from_environment(cls, env: Mapping[str, str], var_dir: Path) -> tuple[SecretBox, str]:
        """The box the deployment uses, and a description of where its keys are kept.

        ``FRONTDESK_SECRET_KEYS`` wins. Without it, in development (``FRONTDESK_ENV``
        unset or ``development``) on the embedded default (no ``FRONTDESK_DATABASE_URL``,
        or a SQLite one: one host) the key is read from ``var_dir/secret-keys``,
        generated there once (mode 0600) like ``var/admin-token``. Otherwise a missing
        key is an error: production keeps keys out of the data directory, and on
        PostgreSQL every worker host must open the same secrets — a key generated on one
        host would make what it sealed unreadable on the others.
        """
        spec = env.get(ENV_VAR, "").strip()
        if spec:
            box = cls.parse(spec)
            return box, f"{ENV_VAR} ({len(box.key_ids)} key(s), current {box.current_key_id!r})"
        if env.get("FRONTDESK_ENV", "development").strip().lower() == "production":
            raise SecretKeyError(
                f"{ENV_VAR} is not set; it is required with FRONTDESK_ENV=production. " + HOW_TO_FIX
            )
        database_url = env.get("FRONTDESK_DATABASE_URL", "").strip()
        if database_url and not database_url.startswith("sqlite"):
            raise SecretKeyError(
                f"{ENV_VAR} is not set; it is required with a non-SQLite database "
                "(every host must share the same keys). " + HOW_TO_FIX
            )
        path = var_dir / KEY_FILE
        if path.exists():
            box = cls.parse(path.read_text())
            return box, f"{path} (development; set {ENV_VAR} in production)"
        var_dir.mkdir(parents=True, exist_ok=True)
        line = generate_key_line("k1")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process generated it a moment ago
            return cls.parse(path.read_text()), f"{path} (development; set {ENV_VAR})"
        with os.fdopen(fd, "w") as handle:
            handle.write(line + "\n")
        log.warning(
            "%s is not set: generated a development key in %s; set %s in production",
            ENV_VAR,
            path,
            ENV_VAR,
        )
        return cls.parse(line), f"{path} (generated now for development; set {ENV_VAR})"

    # ------------------------------------------------------------------ the key set
    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def needs_rotation(self, key_id: str) -> bool:
        """True when a row sealed under ``key_id`` should be re-sealed (``keys rotate``)."""
        return key_id != self._current

    def __repr__(self) -> str:
        return f"SecretBox(current={self._current!r}, key_ids={list(self._ciphers)!r})"

    __str__ = __repr__

    # ------------------------------------------------------------------ seal and open
    def seal(self, plaintext: bytes, aad: bytes = b"") -> Sealed:
        """Encrypt under the current key. ``aad`` (not stored) must be given again to
        open: pass what identifies the row, so the ciphertext opens only there."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = self._ciphers[self._current].encrypt(nonce, plaintext, aad)
        token = base64.urlsafe_b64encode(FORMAT_VERSION + nonce + body).decode("ascii")
        return Sealed(self._current, token)

    def open(self, sealed: Sealed, aad: bytes = b"") -> bytes:
        """Decrypt with the key named by ``sealed.key_id``."""
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise UnknownKeyError(
                f"A secret was encrypted with key id {sealed.key_id!r}, which {ENV_VAR} "
                f"does not hold (it holds {', '.join(self._ciphers)}). Add that key back "
                f"after the current one, run `frontdesk keys rotate`, then remove it."
            )
        try:
            raw = base64.urlsafe_b64decode(sealed.ciphertext.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise DecryptionError(
                f"A ciphertext under key {sealed.key_id!r} is malformed."
            ) from exc
        if len(raw) < 1 + NONCE_BYTES + 16 or raw[:1] != FORMAT_VERSION:
            raise DecryptionError(f"A ciphertext under key {sealed.key_id!r} is malformed.")
        nonce, body = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        try:
            return cipher.decrypt(nonce, body, aad)
        except InvalidTag as exc:
            raise DecryptionError(
                f"A secret does not decrypt under key {sealed.key_id!r}: that id holds "
                "different key material than the one that encrypted it, or the stored "
                "value was altered or moved to another row."
            ) from exc

    def reseal(self, sealed: Sealed, aad: bytes = b"") -> Sealed:
        """The same plaintext sealed under the current key (key rotation)."""
        return self.seal(self.open(sealed, aad), aad)

    def seal_text(self, plaintext: str, aad: bytes = b"") -> Sealed:
        return self.seal(plaintext.encode("utf-8"), aad)

    def open_text(self, sealed: Sealed, aad: bytes = b"") -> str:
        return self.open(sealed, aad).decode("utf-8")

    def new_data_key(self, aad: bytes = b"") -> DataKey:
        """A random 256-bit data key and its sealed form (envelope encryption)."""
        key = AESGCM.generate_key(bit_length=256)
        return DataKey(key, self.seal(key, aad))
