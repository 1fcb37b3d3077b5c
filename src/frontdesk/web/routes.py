"""Dashboard routes under ``/dashboard``: log in with the tenant API key, then read and act.

Sessions. The login form takes the tenant API key once; the cookie holds a token
``base64(tenant id | SHA-256 digest of the key | issued-at | nonce) . HMAC-SHA256`` and
never the key itself. The HMAC secret is derived from ``FRONTDESK_ADMIN_TOKEN`` when one
is configured (sessions survive a restart and work across processes that share it);
without one it is a random per-process secret, so a restart logs everyone out. Every
request re-resolves the digest to a live key, so revoking the key ends its sessions.
The cookie is HttpOnly (no script can read it), SameSite=Strict (no cross-site request
carries it), scoped to ``/dashboard``, Secure under https, and lives 12 hours.

CSRF. Every POST form carries a per-session token (an HMAC of the session nonce) in a
hidden field; a POST without the right one is refused with 403 before anything runs.
The login form, which has no session yet, uses a double-submit cookie instead.

Privacy. Phone numbers and message bodies never travel in a URL, because access logs
record URLs: pages address contacts by their id, and the send check and every form
are POSTs. Logs here name only the tenant and the last four digits of a number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from frontdesk.api.deps import AppContainer, UoWDep
from frontdesk.bootstrap import Container
from frontdesk.domain.messages import PUBLIC_CATEGORIES, Category, Status
from frontdesk.errors import AppError
from frontdesk.services import (
    consents,
    contacts,
    conversations,
    keys,
    messages,
    suppressions,
)
from frontdesk.services import health as health_service
from frontdesk.services import settings as settings_service
from frontdesk.storage import flows
from frontdesk.storage.models import Contact, Message, Tenant
from frontdesk.storage.uow import TenantScope, UnitOfWork

log = logging.getLogger("frontdesk.web")

HERE = Path(__file__).resolve().parent
COOKIE = "fd_session"
LOGIN_COOKIE = "fd_login"
COOKIE_PATH = "/dashboard"
SESSION_TTL = timedelta(hours=12)
PAGE = 50
INBOX_ROWS = 50
HEALTH_CAP = 5000
MAX_BODY = 2000
_PROCESS_SECRET = secrets.token_bytes(32)
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_DONE = {
    "added": "Added to the suppression list. Scheduled messages to that number were canceled.",
    "removed": "The manual entry was removed; the number can be texted again with consent.",
    "replied": "Reply submitted. It is shown below with the gate's decision.",
    "settings": "Settings saved.",
}
STATUSES = tuple(s.value for s in Status)
CATEGORIES = tuple(sorted(c.value for c in PUBLIC_CATEGORIES))

router = APIRouter(prefix="/dashboard", include_in_schema=False)


# templates ---------------------------------------------------------------------------------
def _local(value: datetime | None, tz: str) -> str:
    if value is None:
        return "—"
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = _local
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, sort_keys=True, default=str)
    return env


TEMPLATES = Jinja2Templates(env=_environment())


# sessions ----------------------------------------------------------------------------------
def _secret(c: Container) -> bytes:
    token = c.settings.admin_token
    if token:
        return hmac.new(token.encode(), b"frontdesk/dashboard-session/v1", hashlib.sha256).digest()
    return _PROCESS_SECRET


def _mac(secret: bytes, label: str, value: str) -> str:
    return hmac.new(secret, f"{label}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SessionToken:
    tenant_id: str
    key_digest: str
    issued_at: int
    nonce: str


def issue_token(secret: bytes, tenant_id: str, key_digest: str, now: datetime) -> str:
    payload = f"{tenant_id}|{key_digest}|{int(now.timestamp())}|{secrets.token_urlsafe(18)}"
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{_mac(secret, 'session', body)}"


def read_token(secret: bytes, token: str, now: datetime) -> SessionToken | None:
    """The session in a cookie, or None when it is forged, malformed or expired."""
    body, _, sig = token.partition(".")
    if not body or not sig or not hmac.compare_digest(sig, _mac(secret, "session", body)):
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        tenant_id, digest, issued, nonce = raw.split("|")
        issued_at = int(issued)
    except (ValueError, UnicodeDecodeError):
        return None
    age = now.timestamp() - issued_at
    if age < -60 or age > SESSION_TTL.total_seconds():
        return None
    return SessionToken(tenant_id, digest, issued_at, nonce)


@dataclass
class Staff:
    """A logged-in person of one business: their tenant, its scope and the CSRF token."""

    tenant: Tenant
    scope: TenantScope
    uow: UnitOfWork
    csrf: str

    @property
    def actor(self) -> str:
        return f"dashboard:{self.tenant.id}"


def _login_path(request: Request) -> str:
    return request.url_for("dashboard_login").path


def current_staff(request: Request, unit: UoWDep, c: AppContainer) -> Staff:
    """Every page needs a valid session; without one the browser is sent to the login form."""
    secret = _secret(c)
    raw = request.cookies.get(COOKIE)
    token = read_token(secret, raw, c.clock.now()) if raw else None
    tenant = unit.tenant_for_key_hash(token.key_digest) if token else None
    if token is None or tenant is None or tenant.id != token.tenant_id:
        raise HTTPException(303, "Log in first.", headers={"Location": _login_path(request)})
    return Staff(tenant, unit.tenant(tenant.id), unit, _mac(secret, "csrf", token.nonce))


StaffDep = Annotated[Staff, Depends(current_staff)]
CsrfField = Annotated[str, Form()]


def _csrf_ok(staff: Staff, token: str) -> bool:
    return bool(token) and hmac.compare_digest(token, staff.csrf)


# rendering ---------------------------------------------------------------------------------
def _render(
    request: Request,
    name: str,
    staff: Staff | None = None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    base: dict[str, Any] = {
        "tenant": staff.tenant if staff else None,
        "tz": staff.tenant.timezone if staff else "UTC",
        "csrf": staff.csrf if staff else "",
        "nav": context.pop("nav", ""),
        "error": context.pop("error", None),
        "notice": context.pop("notice", None),
    }
    response = TEMPLATES.TemplateResponse(
        request, name, {**base, **context}, status_code=status, headers=_SECURITY_HEADERS
    )
    return response


def _not_found(request: Request, staff: Staff, what: str) -> HTMLResponse:
    return _render(request, "error.html", staff, status=404, title="Not found", detail=what)


def _forbidden(request: Request, staff: Staff | None) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        staff,
        status=403,
        title="Form expired",
        detail="The form's security token is missing or wrong. Reload the page and try again.",
    )


def _see_other(url: str, done: str) -> RedirectResponse:
    """Post/redirect/get: the browser reloads a page, never re-submits a form."""
    return RedirectResponse(f"{url}?done={done}", status_code=303)


def _contact_by_id(scope: TenantScope, contact_id: str) -> Contact | None:
    """The contact with this id in this tenant only (another tenant's id is simply absent)."""
    return scope.contact_by_id(contact_id)


def _reason_rows(items: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    return [
        {
            "code": str(r.get("code", "")),
            "rule": str(r.get("rule", "")),
            "message": str(r.get("message", "")),
            "fix": str(r.get("fix", "")),
            "severity": str(r.get("severity", "block")),
        }
        for r in items or []
    ]


def _message_row(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "to": m.to_phone,
        "body": m.body,
        "category": m.category,
        "status": m.status,
        "created_at": m.created_at,
        "send_at": m.send_at,
        "segments": m.segments,
        "error_code": m.error_code,
        "reasons": _reason_rows(m.reasons),
        "warnings": _reason_rows(m.warnings),
    }


# static and login --------------------------------------------------------------------------
_CSS = (HERE / "static" / "dashboard.css").read_bytes()


@router.get("/static/dashboard.css", name="dashboard_css")
def stylesheet() -> Response:
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("", name="dashboard_home")
def home(request: Request) -> RedirectResponse:
    return RedirectResponse(request.url_for("dashboard_inbox").path, status_code=303)


def _login_form(request: Request, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    response = _render(request, "login.html", None, status=status, error=error, login_csrf=nonce)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", name="dashboard_login")
def login_page(request: Request) -> HTMLResponse:
    return _login_form(request)


@router.post("/login", name="dashboard_login_post")
def login(
    request: Request,
    unit: UoWDep,
    c: AppContainer,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf, expected):
        return _login_form(request, error="The login form expired; try again.", status=403)
    key = api_key.strip()
    admin = c.settings.admin_token
    if admin and key and hmac.compare_digest(key, admin):
        return _login_form(
            request, error="That is the platform admin token; log in with your API key.", status=401
        )
    digest = keys.digest(key)
    tenant = unit.tenant_for_key_hash(digest) if key else None
    if tenant is None:
        log.info("dashboard login refused")
        return _login_form(
            request, error="That API key is not valid. Check it, or ask for a new one.", status=401
        )
    now = c.clock.now()
    unit.tenant(tenant.id).audit(now, f"dashboard:{tenant.id}", "dashboard.login", None, {})
    unit.commit()
    log.info("dashboard login tenant=%s", tenant.id)
    response = RedirectResponse(request.url_for("dashboard_inbox").path, status_code=303)
    response.set_cookie(
        COOKIE,
        issue_token(_secret(c), tenant.id, digest, now),
        max_age=int(SESSION_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout", name="dashboard_logout")
def logout(request: Request, staff: StaffDep, csrf: CsrfField = "") -> Response:
    if not _csrf_ok(staff, csrf):
        return _forbidden(request, staff)
    response = RedirectResponse(_login_path(request), status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


# inbox and conversations -------------------------------------------------------------------
@router.get("/inbox", name="dashboard_inbox")
def inbox(request: Request, staff: StaffDep) -> HTMLResponse:
    """Latest inbound and outbound text per contact, most recent activity first.

    Candidates are the threads with the latest activity (every inbound text and staff
    reply touches its conversation) and the recipients of the latest outbound messages,
    so a busy tenant's newest conversations are never pushed out by old contacts.
    """
    activity: dict[str, datetime] = {}
    owners: dict[str, str] = {}
    for conv in flows.conversations(staff.scope, limit=INBOX_ROWS, offset=0):
        activity[conv.phone] = conv.updated_at
        owners[conv.phone] = conv.owner
    for m in staff.scope.messages(to=None, status=None, since=None, limit=INBOX_ROWS, offset=0):
        if m.to_phone not in activity or activity[m.to_phone] < m.created_at:
            activity[m.to_phone] = m.created_at
    rows: list[dict[str, Any]] = []
    for phone in sorted(activity, key=lambda p: activity[p], reverse=True)[:INBOX_ROWS]:
        contact = staff.scope.contact(phone)
        if contact is None:
            continue
        last_in = next(iter(flows.inbound_from(staff.scope, phone, 1)), None)
        last_out = next(iter(flows.outbound_to(staff.scope, phone, 1)), None)
        times = [
            t for t in (last_in and last_in.received_at, last_out and last_out.created_at) if t
        ]
        if not times:
            continue
        rows.append(
            {
                "contact": contact,
                "inbound": last_in,
                "outbound": last_out,
                "latest": max(times),
                "owner": owners.get(phone, "ai"),
            }
        )
    rows.sort(key=lambda r: r["latest"], reverse=True)
    return _render(request, "inbox.html", staff, nav="inbox", rows=rows)


def _thread(
    request: Request, staff: Staff, contact: Contact, *, status: int = 200, **context: Any
) -> HTMLResponse:
    try:
        conv, entries = conversations.thread(staff.scope, contact.phone)
    except AppError:
        conv, entries = None, []
    items = [
        {
            "direction": e.direction,
            "at": e.at,
            "body": e.inbound.body if e.inbound else (e.message.body if e.message else ""),
            "classification": e.inbound.classification if e.inbound else None,
            "message": _message_row(e.message) if e.message else None,
        }
        for e in entries
    ]
    opted_out = any(s.scope == "all" for s in staff.scope.active_suppressions(contact.phone))
    return _render(
        request,
        "thread.html",
        staff,
        status=status,
        nav="inbox",
        contact=contact,
        conversation=conv,
        items=items,
        opted_out=opted_out,
        **context,
    )


@router.get("/conversations/{contact_id}", name="dashboard_thread")
def thread(
    request: Request, staff: StaffDep, contact_id: str, done: str | None = Query(None)
) -> HTMLResponse:
    contact = _contact_by_id(staff.scope, contact_id)
    if contact is None:
        return _not_found(request, staff, "No conversation with that contact in this business.")
    return _thread(request, staff, contact, notice=_DONE.get(done or ""))


@router.post("/conversations/{contact_id}/reply", name="dashboard_reply")
def reply(
    request: Request,
    staff: StaffDep,
    c: AppContainer,
    contact_id: str,
    body: Annotated[str, Form()] = "",
    csrf: CsrfField = "",
) -> Response:
    """A staff reply is a ``conversation`` message submitted through the gate (R-FCC-02)."""
    if not _csrf_ok(staff, csrf):
        return _forbidden(request, staff)
    contact = _contact_by_id(staff.scope, contact_id)
    if contact is None:
        return _not_found(request, staff, "No conversation with that contact in this business.")
    if not body.strip() or len(body) > MAX_BODY:
        return _thread(
            request,
            staff,
            contact,
            status=422,
            error=f"Write a reply of 1 to {MAX_BODY} characters.",
            draft=body[:MAX_BODY],
        )
    msg = conversations.staff_reply(staff.scope, contact.phone, body, c.clock.now(), staff.actor)
    staff.uow.commit()
    c.worker.wake()
    log.info(
        "staff reply tenant=%s to=…%s status=%s", staff.tenant.id, contact.phone[-4:], msg.status
    )
    return _see_other(request.url_for("dashboard_thread", contact_id=contact.id).path, "replied")


# messages ----------------------------------------------------------------------------------
@router.get("/messages", name="dashboard_messages")
def message_list(
    request: Request,
    staff: StaffDep,
    status: str | None = Query(None, max_length=16),
    offset: int = Query(0, ge=0),
) -> HTMLResponse:
    chosen = status if status in STATUSES else None
    rows = staff.scope.messages(to=None, status=chosen, since=None, limit=PAGE, offset=offset)
    contact_ids: dict[str, str | None] = {}
    for m in rows:
        if m.to_phone not in contact_ids:
            found = staff.scope.contact(m.to_phone)
            contact_ids[m.to_phone] = found.id if found else None
    return _render(
        request,
        "messages.html",
        staff,
        nav="messages",
        messages=[{**_message_row(m), "contact_id": contact_ids[m.to_phone]} for m in rows],
        statuses=STATUSES,
        chosen=chosen or "",
        offset=offset,
        next_offset=offset + PAGE if len(rows) == PAGE else None,
        error=None if status in (None, "", chosen) else "Unknown status; showing all messages.",
    )


# contacts ----------------------------------------------------------------------------------
@router.get("/contacts", name="dashboard_contacts")
def contact_list(request: Request, staff: StaffDep, offset: int = Query(0, ge=0)) -> HTMLResponse:
    rows = []
    for contact in staff.scope.contacts(PAGE, offset):
        sups = staff.scope.active_suppressions(contact.phone)
        rows.append(
            {
                "contact": contact,
                "opted_out": any(s.scope == "all" for s in sups),
                "suppressed": bool(sups),
            }
        )
    return _render(
        request,
        "contacts.html",
        staff,
        nav="contacts",
        rows=rows,
        offset=offset,
        next_offset=offset + PAGE if len(rows) == PAGE else None,
    )


@router.get("/contacts/{contact_id}", name="dashboard_contact")
def contact_page(request: Request, staff: StaffDep, contact_id: str) -> HTMLResponse:
    """Consent per scope (R-C-01, R-C-02), the append-only ledger and active suppressions."""
    contact = _contact_by_id(staff.scope, contact_id)
    if contact is None:
        return _not_found(request, staff, "No contact with that id in this business.")
    state = consents.current_state(staff.scope, contact.phone)
    sups = list(staff.scope.active_suppressions(contact.phone))
    return _render(
        request,
        "contact.html",
        staff,
        nav="contacts",
        contact=contact,
        scopes=[("Informational", state.informational), ("Marketing", state.marketing)],
        revoked_at=state.revoked_at,
        ledger=list(staff.scope.consent_events(contact.phone)),
        suppressions=sups,
        opted_out=any(s.scope == "all" for s in sups),
        under_review=bool(staff.scope.pending_reviews(contact.phone)),
    )


# suppressions ------------------------------------------------------------------------------
def _suppression_page(
    request: Request, staff: Staff, *, status: int = 200, offset: int = 0, **context: Any
) -> HTMLResponse:
    rows = staff.scope.suppressions(PAGE, offset)
    return _render(
        request,
        "suppressions.html",
        staff,
        status=status,
        nav="suppressions",
        rows=rows,
        total=staff.scope.count_suppressions(),
        offset=offset,
        next_offset=offset + PAGE if len(rows) == PAGE else None,
        **context,
    )


@router.get("/suppressions", name="dashboard_suppressions")
def suppression_list(
    request: Request,
    staff: StaffDep,
    offset: int = Query(0, ge=0),
    done: str | None = Query(None, max_length=16),
) -> HTMLResponse:
    return _suppression_page(request, staff, offset=offset, notice=_DONE.get(done or ""))


@router.post("/suppressions", name="dashboard_suppressions_add")
def suppression_add(
    request: Request,
    staff: StaffDep,
    c: AppContainer,
    phone: Annotated[str, Form(max_length=40)] = "",
    scope: Annotated[str, Form(max_length=16)] = "all",
    note: Annotated[str, Form(max_length=500)] = "",
    csrf: CsrfField = "",
) -> Response:
    """A manual do-not-text entry (R-D-02); scheduled messages to it are canceled at once."""
    if not _csrf_ok(staff, csrf):
        return _forbidden(request, staff)
    if scope not in ("all", "marketing"):
        return _suppression_page(request, staff, status=422, error="Scope is all or marketing.")
    try:
        e164 = contacts.e164_or_422(phone, "phone")
    except AppError:
        return _suppression_page(
            request, staff, status=422, error="That is not a valid phone number."
        )
    now = c.clock.now()
    suppressions.add(
        staff.scope,
        e164,
        reason="manual",
        scope_name=scope,
        source="dashboard",
        note=note.strip() or None,
        now=now,
        actor=staff.actor,
    )
    suppressions.cancel_pending(
        staff.scope, e164, marketing_only=scope == "marketing", code="opted_out", now=now
    )
    staff.uow.commit()
    log.info("suppression added tenant=%s phone=…%s", staff.tenant.id, e164[-4:])
    return _see_other(request.url_for("dashboard_suppressions").path, "added")


@router.post("/suppressions/remove", name="dashboard_suppressions_remove")
def suppression_remove(
    request: Request,
    staff: StaffDep,
    c: AppContainer,
    phone: Annotated[str, Form(max_length=40)] = "",
    csrf: CsrfField = "",
) -> Response:
    """Only a manual entry can be removed; a recipient's opt-out needs their own act (R-FCC-07)."""
    if not _csrf_ok(staff, csrf):
        return _forbidden(request, staff)
    try:
        e164 = contacts.e164_or_422(phone, "phone")
        suppressions.lift_manual(staff.scope, e164, c.clock.now(), staff.actor)
    except AppError as exc:
        return _suppression_page(
            request,
            staff,
            status=exc.status if exc.status in (404, 409) else 422,
            error=exc.detail,
        )
    staff.uow.commit()
    log.info("suppression removed tenant=%s phone=…%s", staff.tenant.id, e164[-4:])
    return _see_other(request.url_for("dashboard_suppressions").path, "removed")


# send check --------------------------------------------------------------------------------
@router.get("/check", name="dashboard_check")
def check_form(request: Request, staff: StaffDep) -> HTMLResponse:
    return _render(
        request,
        "check.html",
        staff,
        nav="check",
        categories=CATEGORIES,
        form={"to": "", "body": "", "category": Category.APPOINTMENT_REMINDER.value},
        decision=None,
    )


@router.post("/check", name="dashboard_check_post")
def check_run(
    request: Request,
    staff: StaffDep,
    c: AppContainer,
    to: Annotated[str, Form(max_length=40)] = "",
    body: Annotated[str, Form()] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    csrf: CsrfField = "",
) -> HTMLResponse:
    """Run the gate on a draft without storing or sending it (mission.md §7, pre-send check)."""
    if not _csrf_ok(staff, csrf):
        return _forbidden(request, staff)
    form = {"to": to, "body": body[:MAX_BODY], "category": category}
    if category not in CATEGORIES:
        return _render(
            request,
            "check.html",
            staff,
            status=422,
            nav="check",
            categories=CATEGORIES,
            form=form,
            decision=None,
            error="Choose a category.",
        )
    cmd = messages.SendCommand(to=to.strip(), body=body[:MAX_BODY], category=Category(category))
    decision = messages.check(staff.scope, cmd, c.clock.now())
    staff.uow.rollback()
    return _render(
        request,
        "check.html",
        staff,
        nav="check",
        categories=CATEGORIES,
        form=form,
        decision={
            "allowed": decision.allowed,
            "status": decision.status.value,
            "send_at": decision.send_at,
            "segments": decision.segments,
            "encoding": decision.encoding,
            "to": decision.e164,
            "reasons": _reason_rows([r.as_dict() for r in decision.reasons]),
            "warnings": _reason_rows([r.as_dict() for r in decision.warnings]),
        },
    )


# settings ----------------------------------------------------------------------------------
def _settings_form(current: settings_service.TenantSettings) -> dict[str, Any]:
    k = current.knowledge
    return {
        "informational_window": current.informational_window or "",
        "frequency_cap": str(current.frequency_cap),
        "reply_exemption_minutes": str(current.reply_exemption_minutes),
        "missed_call_enabled": current.missed_call.enabled,
        "missed_call_in_quiet_hours": current.missed_call_in_quiet_hours,
        "ai_enabled": current.ai.enabled,
        "hipaa_exempt_mode": current.hipaa_exempt_mode,
        "emergency_text": k.emergency_text or "",
        "emergency_text_es": k.emergency_texts.get("es") or "",
    }


def _settings_page(
    request: Request,
    staff: Staff,
    *,
    form: dict[str, Any] | None = None,
    status: int = 200,
    problems: Sequence[str] = (),
    notice: str | None = None,
) -> HTMLResponse:
    return _render(
        request,
        "settings.html",
        staff,
        status=status,
        nav="settings",
        form=form or _settings_form(settings_service.load(staff.tenant)),
        problems=list(problems),
        error="The settings were refused; nothing was changed." if problems else None,
        notice=notice,
    )


@router.get("/settings", name="dashboard_settings")
def settings_view(
    request: Request, staff: StaffDep, done: str | None = Query(None, max_length=16)
) -> HTMLResponse:
    return _settings_page(request, staff, notice=_DONE.get(done or ""))


@router.post("/settings", name="dashboard_settings_post")
def settings_save(
    request: Request,
    staff: StaffDep,
    c: AppContainer,
    informational_window: Annotated[str, Form(max_length=20)] = "",
    frequency_cap: Annotated[str, Form(max_length=4)] = "",
    reply_exemption_minutes: Annotated[str, Form(max_length=5)] = "",
    missed_call_enabled: Annotated[str, Form(max_length=3)] = "",
    missed_call_in_quiet_hours: Annotated[str, Form(max_length=3)] = "",
    ai_enabled: Annotated[str, Form(max_length=3)] = "",
    hipaa_exempt_mode: Annotated[str, Form(max_length=3)] = "",
    emergency_text: Annotated[str, Form(max_length=300)] = "",
    emergency_text_es: Annotated[str, Form(max_length=300)] = "",
    csrf: CsrfField = "",
) -> Response:
    """The settings a business changes most, through the same validation as the API's
    ``PATCH /v1/tenant/settings``; a refusal lists each field and changes nothing."""
    if not _csrf_ok(staff, csrf):
        return _forbidden(request, staff)
    form: dict[str, Any] = {
        "informational_window": informational_window.strip(),
        "frequency_cap": frequency_cap.strip(),
        "reply_exemption_minutes": reply_exemption_minutes.strip(),
        "missed_call_enabled": bool(missed_call_enabled),
        "missed_call_in_quiet_hours": bool(missed_call_in_quiet_hours),
        "ai_enabled": bool(ai_enabled),
        "hipaa_exempt_mode": bool(hipaa_exempt_mode),
        "emergency_text": emergency_text.strip(),
        "emergency_text_es": emergency_text_es.strip(),
    }
    numbers: dict[str, int] = {}
    problems = []
    for name, label in (
        ("frequency_cap", "Messages a day per contact"),
        ("reply_exemption_minutes", "Reply window (minutes)"),
    ):
        try:
            numbers[name] = int(form[name])
        except ValueError:
            problems.append(f"{label}: write a whole number.")
    if problems:
        return _settings_page(request, staff, form=form, status=422, problems=problems)
    patch: dict[str, Any] = {
        "informational_window": form["informational_window"] or None,
        **numbers,
        "missed_call_in_quiet_hours": form["missed_call_in_quiet_hours"],
        "hipaa_exempt_mode": form["hipaa_exempt_mode"],
        "missed_call": {"enabled": form["missed_call_enabled"]},
        "ai": {"enabled": form["ai_enabled"]},
        "knowledge": {
            "emergency_text": form["emergency_text"] or None,
            "emergency_texts": {"es": form["emergency_text_es"] or None},
        },
    }
    try:
        settings_service.update(staff.scope, patch, c.clock.now(), staff.actor)
    except AppError as exc:
        staff.uow.rollback()
        found = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
        return _settings_page(request, staff, form=form, status=422, problems=found)
    staff.uow.commit()
    log.info("settings changed tenant=%s", staff.tenant.id)
    return _see_other(request.url_for("dashboard_settings").path, "settings")


# health and audit --------------------------------------------------------------------------
@router.get("/health", name="dashboard_health")
def health(
    request: Request, staff: StaffDep, c: AppContainer, hours: int = Query(24, ge=1, le=720)
) -> HTMLResponse:
    """The rolling health figures that can suspend the business (R-E-04, R-R-06).

    The figures, verdict and findings are ``services.health.report`` (the same body as
    ``GET /v1/compliance/health``); the counts by status are read from the messages of
    the same window, so the owner sees where the traffic went as well as the rates.
    """
    now = c.clock.now()
    window = timedelta(hours=hours)
    report = health_service.report(staff.uow, staff.tenant.id, now, window)
    by_status: dict[str, int] = {}
    rules: dict[str, str] = {}
    seen = 0
    while seen < HEALTH_CAP:
        page = staff.scope.messages(
            to=None, status=None, since=now - window, limit=500, offset=seen
        )
        for m in page:
            by_status[m.status] = by_status.get(m.status, 0) + 1
            for r in m.reasons or []:
                rules.setdefault(str(r.get("code", "")), str(r.get("rule", "")))
        seen += len(page)
        if len(page) < 500:
            break
    blocked = report.get("blocked_by_reason") or {}
    return _render(
        request,
        "health.html",
        staff,
        nav="health",
        hours=hours,
        report=report,
        total=seen,
        capped=seen >= HEALTH_CAP,
        by_status=sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0])),
        by_reason=sorted(
            ((code, rules.get(code, ""), n) for code, n in blocked.items()),
            key=lambda row: (-row[2], row[0]),
        ),
        suppressions=staff.scope.count_suppressions(),
    )


@router.get("/audit", name="dashboard_audit")
def audit(
    request: Request, staff: StaffDep, offset: int | None = Query(None, ge=0)
) -> HTMLResponse:
    """The tenant's hash-chained audit log, newest page first, with the chain verification."""
    verification = staff.scope.verify_audit()
    total = verification.checked if verification.ok else None
    start = offset if offset is not None else max(0, (total or 0) - PAGE)
    entries = list(staff.scope.audit_entries(None, PAGE, start))
    return _render(
        request,
        "audit.html",
        staff,
        nav="audit",
        entries=list(reversed(entries)),
        verification=verification,
        older=max(0, start - PAGE) if start > 0 else None,
        newer=start + PAGE
        if len(entries) == PAGE and (total is None or start + PAGE < total)
        else None,
    )
