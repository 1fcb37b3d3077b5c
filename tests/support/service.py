"""Run the real ``frontdesk serve`` / ``frontdesk worker`` as subprocesses for tests and benchmarks.

Why subprocesses: what the in-process TestClient cannot show (a ``kill -9`` mid-batch,
a restart on the same database, several workers, the real uvicorn and GC settings)
needs the processes an operator runs. Each :class:`ServiceProcess` gets

* the command ``[sys.executable, "-m", "frontdesk.cli.main", *args]`` (the CLI module
  ends in ``app()``), so the venv running the tests is the one under test;
* a clean environment: PATH and HOME, ``FRONTDESK_HOST=127.0.0.1``, ``FRONTDESK_PORT``,
  ``FRONTDESK_ADMIN_TOKEN``, ``FRONTDESK_DATABASE_URL`` when given, and whatever the
  caller passes (e.g. :meth:`~tests.support.twilio_standin.StandinControl.service_env`),
  so a developer's own ``FRONTDESK_*`` never leaks into a test;
* its own working directory (``serve`` writes ``var/admin-token`` and
  ``var/demo-credentials.txt`` relative to it), holding ``<name>.stdout.log`` and
  ``<name>.stderr.log``, appended across restarts with a header per start, for a
  failing test to print (:meth:`ServiceProcess.output`).

Everything listens on 127.0.0.1 only; a non-loopback ``FRONTDESK_HOST`` is refused.

PostgreSQL: :func:`fresh_postgres_database` creates ``frontdesk_test_<pid>_<hex>``
on the server ``tests/storage/pg.py`` finds (its naming, so its ``drop_stale``
removes what a killed run left), or skips the test when none answers.
"""

from __future__ import annotations

import atexit
import functools
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.storage.pg import Server, find_server

HOST = "127.0.0.1"
ADMIN_TOKEN = "test-admin-token"  # tests/conftest.py's ADMIN, so helpers agree
CLI_MODULE = "frontdesk.cli.main"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


class ServiceError(RuntimeError):
    """The service did not start, exited, or a CLI command failed (message has its output)."""


def free_port() -> int:
    """A loopback port free right now (another process could still take it before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def frontdesk_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", CLI_MODULE, *args]


def clean_env(
    env: Mapping[str, str] | None = None,
    *,
    database_url: str | None = None,
    admin_token: str | None = ADMIN_TOKEN,
    port: int | None = None,
) -> dict[str, str]:
    """The child's whole environment: the essentials, the FRONTDESK_* given, nothing else.

    ``env`` wins over the keyword arguments except for the host, which stays loopback.
    """
    out = {k: os.environ[k] for k in _PASSED_THROUGH if k in os.environ}
    out["PYTHONUNBUFFERED"] = "1"  # logs reach the files as they happen, even on kill -9
    out["PYTHONIOENCODING"] = "utf-8"
    out["FRONTDESK_HOST"] = HOST
    if admin_token is not None:
        out["FRONTDESK_ADMIN_TOKEN"] = admin_token
    if database_url is not None:
        out["FRONTDESK_DATABASE_URL"] = database_url
    if port is not None:
        out["FRONTDESK_PORT"] = str(port)
    out.update(env or {})
    if out["FRONTDESK_HOST"] not in (HOST, "localhost"):
        raise ValueError(f"tests bind 127.0.0.1 only, not FRONTDESK_HOST={out['FRONTDESK_HOST']}")
    return out


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    database_url: str | None = None,
    admin_token: str | None = ADMIN_TOKEN,
    cwd: Path | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``frontdesk <args>`` to completion (e.g. ``["migrate"]``) in the clean environment.

    ``cwd`` defaults to a fresh temporary directory, so a relative default such as
    ``sqlite:///var/frontdesk.db`` never lands in the repository. With ``check`` a
    non-zero exit raises :class:`ServiceError` carrying the output.
    """
    workdir = cwd or Path(tempfile.mkdtemp(prefix="frontdesk-cli-"))
    result = subprocess.run(
        frontdesk_command(args),
        env=clean_env(env, database_url=database_url, admin_token=admin_token),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise ServiceError(
            f"frontdesk {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def migrate(database_url: str, env: Mapping[str, str] | None = None) -> None:
    """``frontdesk migrate`` on ``database_url`` (schema to head)."""
    run_cli(["migrate"], env, database_url=database_url)


# a live process -----------------------------------------------------------------------
_LIVE: set[ServiceProcess] = set()  # started and not yet seen to exit


@atexit.register
def _kill_leftovers() -> None:
    """A test that forgot to stop its service must not leave it listening after pytest."""
    for proc in list(_LIVE):
        proc.kill()


def _tail(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


class ServiceProcess:
    """One ``frontdesk`` process (``serve`` by default), started, waited for and stopped.

    ``port`` defaults to a free one for ``serve`` (``FRONTDESK_PORT``; a restart keeps
    it); ``env`` adds to :func:`clean_env`; ``workdir`` is its working directory and
    log folder (a new temporary one by default); ``name`` names the log files (the
    command by default; give two workers different names). ``ready_text``: what
    :meth:`wait_ready` waits for on stdout when there is no HTTP health check (a
    worker prints ``worker <pid> on ...`` once built; ``{pid}`` is substituted).
    """

    def __init__(
        self,
        args: Sequence[str] = ("serve",),
        env: Mapping[str, str] | None = None,
        *,
        port: int | None = None,
        database_url: str | None = None,
        admin_token: str = ADMIN_TOKEN,
        workdir: Path | None = None,
        name: str | None = None,
        ready_text: str | None = None,
    ) -> None:
        self.args = list(args)
        self.serves = self.args[:1] == ["serve"]
        self.port = port if port is not None else (free_port() if self.serves else None)
        self.admin_token = admin_token
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="frontdesk-svc-"))
        self.name = name or (self.args[0] if self.args else "frontdesk")
        self.stdout_path = self.workdir / f"{self.name}.stdout.log"
        self.stderr_path = self.workdir / f"{self.name}.stderr.log"
        self.env = clean_env(
            env, database_url=database_url, admin_token=admin_token, port=self.port
        )
        self.command = frontdesk_command(self.args)
        if ready_text is None and self.args[:1] == ["worker"]:
            ready_text = "worker {pid} on "
        self.ready_text = ready_text
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # facts ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise ServiceError(f"{self.name} has no HTTP port")
        return f"http://{HOST}:{self.port}"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """A client on :attr:`url` ignoring proxy settings; plain HTTP on loopback, so no
        CA bundle is loaded (that costs ~50 ms a client)."""
        return httpx.Client(base_url=self.url, timeout=timeout, trust_env=False, verify=False)

    def stdout_text(self) -> str:
        return _tail(self.stdout_path, 1 << 30)

    def stderr_text(self) -> str:
        return _tail(self.stderr_path, 1 << 30)

    def output(self, limit: int = 6000) -> str:
        """The tails of both logs, for an assertion message or a failing test's print."""
        return (
            f"--- {self.name} stdout ({self.stdout_path}) ---\n{_tail(self.stdout_path, limit)}"
            f"\n--- {self.name} stderr ({self.stderr_path}) ---\n{_tail(self.stderr_path, limit)}"
        )

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"exited {self.returncode}"
        return f"<ServiceProcess {' '.join(self.args)} pid={self.pid} port={self.port} {state}>"

    # lifecycle ------------------------------------------------------------------------
    def start(self) -> Self:
        if self.alive:
            raise ServiceError(f"{self!r} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        header = f"\n=== start #{self.starts} at {time.time():.3f}: {' '.join(self.args)} ===\n"
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            out.write(header.encode())
            err.write(header.encode())
            out.flush()
            err.flush()
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        _LIVE.add(self)
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any] | None:
        """Block until ``GET /healthz`` answers 200 (``serve``; its JSON is returned) or
        :attr:`ready_text` appears on stdout (others; None).

        Raises :class:`ServiceError` with the logs' tails as soon as the process exits,
        and after ``timeout`` seconds (a slow start is a failure worth reading).
        """
        if self.process is None:
            raise ServiceError(f"{self.name} was never started")
        deadline = time.monotonic() + timeout
        if not self.serves:
            if self.ready_text is None:
                return None
            self.wait_for_output(self.ready_text.format(pid=self.pid), timeout)
            return None
        with httpx.Client(timeout=1.0, trust_env=False, verify=False) as http:
            while True:
                self._check_running("exited before it was ready")
                try:
                    response = http.get(f"{self.url}/healthz")
                    if response.status_code == 200:
                        payload: dict[str, Any] = response.json()
                        return payload
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"{self!r}: /healthz not 200 within {timeout:.0f} s\n{self.output()}"
                    )
                time.sleep(0.05)

    def wait_for_output(self, text: str, timeout: float = READY_TIMEOUT) -> None:
        """Block until ``text`` appears in this start's stdout."""
        deadline = time.monotonic() + timeout
        marker = f"=== start #{self.starts} "
        while True:
            current = self.stdout_text().rpartition(marker)[2]
            if text in current:
                return
            self._check_running(f"exited before printing {text!r}")
            if time.monotonic() > deadline:
                raise ServiceError(f"{self!r}: no {text!r} within {timeout:.0f} s\n{self.output()}")
            time.sleep(0.05)

    def _check_running(self, what: str) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ServiceError(f"{self.name} {what} (status {self.returncode})\n{self.output()}")

    def kill(self, sig: int = signal.SIGKILL, timeout: float = STOP_TIMEOUT) -> int | None:
        """Send ``sig`` (``kill -9`` by default) and, unless it is a signal a process may
        survive, wait for the exit; the exit status (negative: the signal)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            self.process.wait(timeout)
            _LIVE.discard(self)
        return self.process.poll()

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM (graceful: serve drains, a worker finishes its batch), then SIGKILL if
        it has not exited within ``timeout``; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        _LIVE.discard(self)
        return self.process.returncode

    stop = terminate

    def restart(self, *, wait: bool = True, timeout: float = READY_TIMEOUT) -> Self:
        """Stop it if running (SIGTERM), start it again with the same port and settings."""
        if self.alive:
            self.terminate()
        self.start()
        if wait:
            self.wait_ready(timeout)
        return self

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.terminate()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()


# PostgreSQL ---------------------------------------------------------------------------
@functools.cache
def _pg_server() -> Server | str:
    return find_server()


def postgres_server(*, skip: bool = True) -> Server:
    """The reachable server; skip the test (or raise ServiceError) when there is none."""
    found = _pg_server()
    if isinstance(found, str):
        if skip:
            pytest.skip(found)
        raise ServiceError(found)
    return found


def fresh_postgres_database(*, skip: bool = True) -> str:
    """A new empty database ``frontdesk_test_<pid>_<hex>``; its URL (not migrated).

    Drop it with :func:`drop_postgres_database`. The name follows tests/storage/pg.py,
    whose ``drop_stale`` removes it if this process dies first.
    """
    server = postgres_server(skip=skip)
    name = f"frontdesk_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.url_for(name)


def drop_postgres_database(url: str) -> None:
    """Drop the database ``url`` names, disconnecting anyone still on it (FORCE)."""
    server = postgres_server(skip=False)
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def postgres_database(*, migrated: bool = False, skip: bool = True) -> Iterator[str]:
    """:func:`fresh_postgres_database` for the ``with`` block, dropped afterwards."""
    url = fresh_postgres_database(skip=skip)
    try:
        if migrated:
            migrate(url)
        yield url
    finally:
        drop_postgres_database(url)
