"""A real SMSC on loopback for the SMPP provider's tests: npm ``smpp`` in server mode.

``install_smpp_package`` installs ``smpp@SMPP_VERSION`` with npm into a temporary folder
once, kept under ``/tmp`` keyed by version (staged, then renamed, so parallel workers
never see half an install). ``Smsc`` runs ``smsc_server.js`` under node, sends it JSON
commands on stdin and collects the JSON events it prints, so a test can script the SMSC
and assert on what it saw.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SMPP_PACKAGE = "smpp"
SMPP_VERSION = "0.5.1"
SERVER_SCRIPT = Path(__file__).with_name("smsc_server.js")
CACHE_DIR = Path("/tmp") / f"frontdesk-smsc-{SMPP_PACKAGE}-{SMPP_VERSION}"
WAIT_SECONDS = 15.0

Event = dict[str, Any]


class HarnessUnavailable(RuntimeError):
    """node/npm are missing: the tests skip with this message."""


def _installed(folder: Path) -> bool:
    return (folder / "node_modules" / SMPP_PACKAGE / "package.json").is_file()


def install_smpp_package() -> Path:
    """The folder whose ``node_modules`` holds npm ``smpp`` (installed once, cached)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise HarnessUnavailable("node and npm are needed to run the npm `smpp` SMSC simulator")
    if _installed(CACHE_DIR):
        return CACHE_DIR
    staging = CACHE_DIR.with_name(f"{CACHE_DIR.name}.{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "package.json").write_text('{"private": true}\n')
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", f"{SMPP_PACKAGE}@{SMPP_VERSION}"],
        cwd=staging,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if install.returncode != 0:
        raise RuntimeError(f"npm install {SMPP_PACKAGE}@{SMPP_VERSION} failed:\n{install.stderr}")
    try:
        staging.rename(CACHE_DIR)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    if not _installed(CACHE_DIR):
        raise RuntimeError(f"{CACHE_DIR} has no {SMPP_PACKAGE} after npm install")
    return CACHE_DIR


class Smsc:
    """One SMSC process; ``command`` scripts it, ``wait``/``events`` read what it saw."""

    def __init__(self, package_dir: Path) -> None:
        env = {**os.environ, "NODE_PATH": str(package_dir / "node_modules")}
        self._proc = subprocess.Popen(
            ["node", str(SERVER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._events: list[Event] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="smsc-reader", daemon=True)
        self._reader.start()
        self.port: int = self.wait("listening")["port"]

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if not line.strip():
                continue
            event = json.loads(line)
            with self._cond:
                self._events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._events.append({"event": "exit"})
            self._cond.notify_all()

    def command(self, cmd: str, **fields: Any) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self._proc.stdin.flush()

    def set(self, **fields: Any) -> None:
        """Change the SMSC's behaviour and wait until it has taken the change."""
        before = len(self.events("set"))
        self.command("set", **fields)
        self.wait_count("set", before + 1)

    def events(self, name: str, where: Callable[[Event], bool] | None = None) -> list[Event]:
        with self._cond:
            return [e for e in self._events if e["event"] == name and (where is None or where(e))]

    def all_events(self) -> list[Event]:
        with self._cond:
            return list(self._events)

    def wait_count(
        self,
        name: str,
        count: int,
        where: Callable[[Event], bool] | None = None,
        timeout: float = WAIT_SECONDS,
    ) -> list[Event]:
        """Block until ``count`` events named ``name`` (matching ``where``) were seen."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    e for e in self._events if e["event"] == name and (where is None or where(e))
                ]
                if len(found) >= count:
                    return found
                if any(e["event"] == "exit" for e in self._events):
                    raise AssertionError(f"SMSC exited: {self._stderr()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"SMSC saw {len(found)} {name!r} events, expected {count}: "
                        f"{self._events[-10:]}"
                    )
                self._cond.wait(remaining)

    def wait(
        self, name: str, where: Callable[[Event], bool] | None = None, timeout: float = WAIT_SECONDS
    ) -> Event:
        return self.wait_count(name, 1, where, timeout)[0]

    def _stderr(self) -> str:
        if self._proc.poll() is None or self._proc.stderr is None:
            return ""
        return self._proc.stderr.read()

    def stop(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._reader.join(5)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
