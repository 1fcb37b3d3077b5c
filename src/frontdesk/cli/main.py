"""The ``frontdesk`` command: serve, worker, migrate, demo."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from frontdesk import config as config_module

app = typer.Typer(
    help="Frontdesk: compliant SMS for an AI receptionist.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
VAR = Path("var")


def _settings() -> config_module.Settings:
    """The environment's settings, checked for the adapters they name, or exit 2.

    Checked before a command serves, delivers or migrates anything, so a typo in a
    credential stops the deploy here instead of at the first send.
    """
    try:
        settings = config_module.load()
        config_module.check_settings(settings)
    except config_module.ConfigurationError as exc:
        _refuse(exc)
    return settings


def _refuse(exc: config_module.ConfigurationError) -> NoReturn:
    count = len(exc.problems)
    errors.print(
        f"[red]Frontdesk cannot start:[/red] {count} setting{'s' if count != 1 else ''} to fix."
    )
    for problem in exc.problems:
        errors.print(f"  - {escape(problem)}")
    errors.print(
        "Set or correct these FRONTDESK_ environment variables, then run the command again."
    )
    raise typer.Exit(2) from exc


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from frontdesk.storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print(f"Schema is up to date on {_redact(settings.database_url)}.")


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    seed: bool = typer.Option(True, help="Seed the demo tenant into an empty database."),
) -> None:
    """Run the API and, on the embedded default, the delivery worker in one process."""
    import uvicorn

    from frontdesk.api.app import create_app
    from frontdesk.bootstrap import build, tune_gc
    from frontdesk.seed import admin_token, seed_demo

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    settings.admin_token = admin_token(VAR, settings.admin_token)
    container = build(settings)
    base = f"http://{host}:{port}"
    seeded = seed_demo(container.db, container.clock.now()) if seed else None
    creds = VAR / "demo-credentials.txt"
    if seeded is not None:
        VAR.mkdir(exist_ok=True)
        creds.write_text(f"api_key={seeded.api_key}\ntenant_id={seeded.tenant_id}\n")
        creds.chmod(0o600)
    api_key = None
    if creds.exists():
        api_key = dict(line.split("=", 1) for line in creds.read_text().split()).get("api_key")
    console.print(
        f"[bold]Frontdesk[/bold] on {base}  (database: {_redact(settings.database_url)}, "
        f"provider: {settings.provider}, worker: "
        f"{'in-process' if container.embedded_worker else 'external'})"
    )
    console.print(f"  Dashboard     {base}/dashboard  (sign in with a tenant API key)")
    console.print(f"  API docs      {base}/docs     OpenAPI {base}/openapi.json")
    console.print(f"  Health        {base}/healthz")
    console.print(f"  Admin token   {settings.admin_token}")
    if api_key:
        console.print(f"  Demo API key  {api_key}  (Bright Smile Dental; kept in {creds})")
        console.print("  Try:")
        console.print(
            f"    curl -s -X POST {base}/v1/messages -H 'Authorization: Bearer {api_key}' "
            '-H \'Content-Type: application/json\' -d \'{"to": "+14155550123", "body": '
            '"Bright Smile Dental: your cleaning is Tue at 3pm. Reply C to confirm. Reply STOP '
            'to opt out.", "category": "appointment_reminder"}\'',
            soft_wrap=True,
        )
    application = create_app(container)
    tune_gc(settings.gc_threshold)
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command()
def worker(
    batch: int = typer.Option(None, help="Messages claimed per transaction (default: settings)."),
    poll: float = typer.Option(None, help="Polling fallback in seconds (default from settings)."),
) -> None:
    """Run a delivery worker alone (scale-out on PostgreSQL; start as many as you like).

    SIGTERM or SIGINT: finish and commit the batch in hand, then exit 0. A second
    signal exits at once (status 1); the open transaction is rolled back and its
    messages are claimed again by another worker.
    """
    from frontdesk.bootstrap import build, tune_gc
    from frontdesk.worker.loop import Worker

    loop: Worker | None = None
    signals = 0

    def _stop(signum: int, _frame: object) -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            raise SystemExit(1)
        logging.getLogger("frontdesk.worker").info(
            "%s: finishing the batch in hand, then exiting", signal.Signals(signum).name
        )
        if loop is not None:
            loop.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    container = build(settings, embedded_worker=False)
    loop = container.worker
    if batch is not None:
        loop.batch = batch
    if poll is not None:
        loop.idle_seconds = poll
    if signals:
        loop.request_stop()
    console.print(
        f"worker {os.getpid()} on {_redact(settings.database_url)} "
        f"(batch {loop.batch}, poll {loop.idle_seconds}s, "
        f"{'LISTEN/NOTIFY' if container.db.dialect == 'postgresql' else 'polling'})"
    )
    tune_gc(settings.gc_threshold)
    try:
        loop.run_forever()
    finally:
        container.db.dispose()
    console.print(f"worker {os.getpid()} stopped after {loop.claimed_total} claimed")


@app.command()
def demo(keep: bool = typer.Option(False, help="Keep the demo database file.")) -> None:
    """A scripted tour on a fresh embedded database."""
    from frontdesk.demo import run_tour

    code = run_tour(console, keep=keep)
    sys.exit(code)


keys_app = typer.Typer(help="Keys that encrypt carrier secrets (FRONTDESK_SECRET_KEYS).")
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def keys_generate(key_id: str = typer.Option("k1", help="The new key's id.")) -> None:
    """Print a new key entry; put it first in FRONTDESK_SECRET_KEYS, keep the old after."""
    from frontdesk.secrets_box import SecretKeyError, generate_key_line

    try:
        typer.echo(generate_key_line(key_id))
    except SecretKeyError as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from exc


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the current (first) key; print the count."""
    from frontdesk.clock import SystemClock
    from frontdesk.secrets_box import SecretBox, SecretBoxError
    from frontdesk.services.carrier_accounts import rotate_keys
    from frontdesk.storage.db import connect
    from frontdesk.storage.uow import UnitOfWork

    settings = _settings()
    db = connect(settings.database_url)
    try:
        box, where = SecretBox.from_environment(os.environ, VAR)
        with UnitOfWork(db) as uow:
            count = rotate_keys(uow, box, now=SystemClock().now(), actor="cli")
            uow.commit()
    except SecretBoxError as exc:
        console.print(f"Nothing was re-encrypted: {exc}", style="red", markup=False)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    console.print(f"Re-encrypted {count} secret(s) under key {box.current_key_id!r} ({where}).")


if __name__ == "__main__":
    app()
