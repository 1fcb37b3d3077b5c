"""API keys: shown once, stored as SHA-256 (api.md, Auth and tenancy)."""

from __future__ import annotations

import hashlib
import secrets


def generate() -> str:
    return "fd_live_" + secrets.token_urlsafe(24)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
