"""``frontdesk demo``: a scripted tour of the guarantee on a fresh embedded database.

It drives the real API in-process (no network), with the worker stepped by hand so
the reader sees each hand-off decision, and a fixed clock on a weekday morning in
the demo tenant's zone so quiet hours do not hide the story.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.panel import Panel

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.simulator import CarrierSimulator, SimulatorProfile
from frontdesk.seed import seed_demo


def _morning() -> datetime:
    zone = ZoneInfo("America/Los_Angeles")
    day = datetime.now(UTC).astimezone(zone).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), zone).astimezone(UTC)


def run_tour(console: Console, *, keep: bool = False) -> int:
    with warnings.catch_warnings():
        # Starlette's in-process client warns about its httpx transport; the tour is unaffected.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    folder = Path(tempfile.mkdtemp(prefix="frontdesk-demo-"))
    db_path = folder / "demo.db"
    clock = FixedClock(_morning())
    # The carrier's realistic latency, duplicated and reordered receipts and per-number
    # rate limit stay on; random faults and random STOP/HELP replies are off so the
    # tour tells the same story every time.
    simulator = CarrierSimulator(
        seed=7,
        clock=clock,
        profile=replace(
            SimulatorProfile.realistic(),
            stop_share=0.0,
            help_share=0.0,
            transient_failure_rate=0.0,
            unknown_share=0.0,
            unreachable_share=0.0,
            landline_share=0.0,
        ),
    )
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token="demo-admin-token")
    container = build(settings, clock=clock, provider=simulator)
    seeded = seed_demo(container.db, clock.now())
    assert seeded is not None
    app = create_app(container, start_worker=False)
    auth = {"Authorization": f"Bearer {seeded.api_key}"}
    maria, sam, priya = seeded.contacts
    step = 0

    def title(text: str) -> None:
        nonlocal step
        step += 1
        console.print(f"\n[bold cyan]{step}. {text}[/bold cyan]")

    def run_worker() -> None:
        """Let simulated time pass (carrier latency, rate limit) while the worker runs."""
        for _ in range(3):
            clock.advance(timedelta(seconds=10))
            container.worker.drain()

    def show(resp: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        data: dict[str, Any] = resp.json()
        shown = {k: data.get(k) for k in keys if k in data}
        console.print(f"   HTTP {resp.status_code} {shown}")
        return data

    with TestClient(app) as client:
        console.print(
            Panel.fit(
                f"Bright Smile Dental (tenant {seeded.tenant_id}) sends from {seeded.number} "
                "on the built-in carrier simulator.\n"
                f"Consented contacts: {', '.join(seeded.contacts)}"
                f"\nClock fixed at {clock.now():%a %Y-%m-%d %H:%M} UTC (a weekday morning in "
                "Los Angeles).",
                title="Frontdesk demo",
            )
        )

        title("A consented appointment reminder is accepted, handed off and delivered")
        r = client.post(
            "/v1/messages",
            headers=auth,
            json={
                "to": maria,
                "category": "appointment_reminder",
                "body": "Bright Smile Dental: your cleaning is tomorrow at 3:00 pm. Reply C to "
                "confirm or R to reschedule. Reply STOP to opt out.",
            },
        )
        msg = show(r, ("id", "status", "segments", "encoding"))
        run_worker()
        got = client.get(f"/v1/messages/{msg['id']}", headers=auth).json()
        console.print(
            f"   after the worker ran: status={got['status']} "
            f"(events: {' → '.join(e['status'] for e in got['events'])})"
        )

        title("A send without consent is refused, with its reasons")
        r = client.post(
            "/v1/messages",
            headers=auth,
            json={
                "to": "+12025550111",
                "category": "appointment_reminder",
                "body": "Bright Smile Dental: time for your checkup!",
            },
        )
        data = show(r, ("status", "reasons"))
        for exp in data.get("explanations", []):
            console.print(
                f"   [yellow]{exp['code']}[/yellow] ({exp['rule']}): {exp['message']} "
                f"Fix: {exp['fix']}"
            )
        r = client.post(
            "/v1/messages",
            headers=auth,
            json={
                "to": maria,
                "category": "marketing",
                "body": "Bright Smile Dental: 20% off whitening this week! Reply STOP to opt out.",
            },
        )
        data = show(r, ("status", "reasons"))

        title("A reminder to Sam is queued; the worker is paused")
        r = client.post(
            "/v1/messages",
            headers=auth,
            json={
                "to": sam,
                "category": "appointment_reminder",
                "body": "Bright Smile Dental: reminder of your visit Friday at 9:00 am. Reply C to "
                "confirm. Reply STOP to opt out.",
            },
        )
        queued = show(r, ("id", "status"))

        title("Sam texts STOP before the worker hands the reminder off")
        r = client.post(
            "/v1/inbound", headers=auth, json={"from": sam, "to": seeded.number, "body": "Stop."}
        )
        show(r, ("classification", "actions"))

        title("The worker runs: the queued reminder is stopped at hand-off")
        run_worker()
        got = client.get(f"/v1/messages/{queued['id']}", headers=auth).json()
        console.print(f"   reminder status={got['status']} reasons={got['reasons']}")
        to_sam = simulator.sent_to(sam)
        console.print(f"   the carrier saw {len(to_sam)} message(s) to Sam:")
        for m in to_sam:
            console.print(f"     «{m.body}»")
        stopped = got["status"] == "blocked" and all("reminder" not in m.body for m in to_sam)

        title("Priya texts HELP and gets the business's name and contact")
        r = client.post(
            "/v1/inbound", headers=auth, json={"from": priya, "to": seeded.number, "body": "help"}
        )
        show(r, ("classification", "actions"))
        run_worker()
        for m in simulator.sent_to(priya):
            console.print(f"     «{m.body}»")

        title("Everything is provable: the audit chain verifies")
        show(client.get("/v1/audit/verify", headers=auth), ("ok", "checked", "first_bad"))

    container.close()
    if keep:
        console.print(f"\nDemo database kept at {db_path}")
    else:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    console.print(
        "\n[bold green]Tour complete.[/bold green]"
        if stopped
        else "\n[bold red]The STOP did not stop the reminder![/bold red]"
    )
    return 0 if stopped else 1
