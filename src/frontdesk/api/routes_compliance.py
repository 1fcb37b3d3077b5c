"""Compliance health, carrier complaints, a number's export and erasure, consent import.

``GET /v1/compliance/health`` (R-E-04), ``POST /v1/compliance/complaints`` and
``GET /v1/compliance/tenants/{id}/health`` (admin; R-R-06),
``GET /v1/contacts/{phone}/export`` and ``DELETE /v1/contacts/{phone}`` (mission §6,
R-D-04), ``POST /v1/consents/import`` (R-C-05, R-B-02). The edge parses,
authenticates, calls one service, commits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.datastructures import UploadFile

from frontdesk import errors
from frontdesk.api import views
from frontdesk.api.deps import AdminUoW, AppContainer, TenantCaller
from frontdesk.api.schemas import Strict
from frontdesk.services import contacts, health, imports, privacy

router = APIRouter()

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream")
# Room for the multipart boundaries and part headers around a file at the limit.
MULTIPART_SLACK = 64 * 1024


class ComplaintIn(Strict):
    tenant_id: str = Field(min_length=1, max_length=32)
    severity: Literal["sev0", "complaint"]
    source: str = Field(min_length=1, max_length=200, description="carrier, TCR, 7726 report…")
    note: str | None = Field(default=None, max_length=2000)
    sender: str | None = Field(default=None, max_length=40)


def _too_large() -> errors.AppError:
    limit = imports.MAX_BYTES // (1024 * 1024)
    message = f"the upload exceeds {limit} MB; split the file"
    return errors.AppError(
        413, "Payload Too Large", message, [errors.FieldError("file", "file_too_large", message)]
    )


async def csv_upload(request: Request) -> bytes:
    """The CSV bytes from a ``multipart/form-data`` field ``file`` or a ``text/csv`` body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > imports.MAX_BYTES + MULTIPART_SLACK:
        raise _too_large()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise errors.invalid(
                "file", "missing_file", "send the CSV as the multipart field 'file'"
            )
        data = await upload.read(imports.MAX_BYTES + 1)
    elif ctype in CSV_TYPES or not ctype:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > imports.MAX_BYTES:
                raise _too_large()
            chunks.append(chunk)
        data = b"".join(chunks)
    else:
        raise errors.AppError(
            415,
            "Unsupported Media Type",
            f"{ctype} is not accepted; send text/csv or multipart/form-data with a 'file' field",
        )
    if len(data) > imports.MAX_BYTES:
        raise _too_large()
    return data


CsvUpload = Annotated[bytes, Depends(csv_upload)]


@router.get("/v1/compliance/health", tags=["compliance"])
def compliance_health(
    caller: TenantCaller, c: AppContainer, window_hours: int = Query(24, ge=1, le=24 * 31)
) -> dict[str, Any]:
    return health.report(caller.uow, caller.tenant.id, c.clock.now(), timedelta(hours=window_hours))


@router.get("/v1/compliance/tenants/{tenant_id}/health", tags=["compliance"])
def tenant_health(
    tenant_id: str,
    uow: AdminUoW,
    c: AppContainer,
    window_hours: int = Query(24, ge=1, le=24 * 31),
) -> dict[str, Any]:
    """The operator's view of one tenant's figures (R-R-06: reviewing a reinstatement)."""
    if uow.tenant_row(tenant_id) is None:
        raise errors.not_found("tenant")
    return health.report(uow, tenant_id, c.clock.now(), timedelta(hours=window_hours))


@router.post("/v1/compliance/complaints", status_code=201, tags=["compliance"])
def record_complaint(body: ComplaintIn, uow: AdminUoW, c: AppContainer) -> JSONResponse:
    now = c.clock.now()
    suspended = health.record_complaint(
        uow,
        body.tenant_id,
        severity=body.severity,
        source=body.source,
        note=body.note,
        sender=body.sender,
        now=now,
        actor="admin",
    )
    uow.commit()
    tenant = uow.tenant_row(body.tenant_id)
    assert tenant is not None
    return JSONResponse(
        {
            "recorded": True,
            "severity": body.severity,
            "suspended": suspended is not None,
            "findings": [f.as_dict() for f in suspended.assessment.findings] if suspended else [],
            "tenant": views.tenant(tenant),
        },
        status_code=201,
    )


@router.get("/v1/contacts/{phone}/export", tags=["contacts"])
def export_contact(phone: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    e164 = contacts.e164_or_422(phone)
    return privacy.export(caller.scope, e164, c.clock.now())


@router.delete("/v1/contacts/{phone}", tags=["contacts"])
def erase_contact(phone: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    e164 = contacts.e164_or_422(phone)
    out = privacy.erase(caller.scope, e164, c.clock.now(), caller.actor)
    caller.uow.commit()
    return out


@router.post("/v1/consents/import", tags=["consent"])
def import_consents(caller: TenantCaller, data: CsvUpload, c: AppContainer) -> dict[str, Any]:
    """Commit every ``CHUNK_ROWS`` rows: a long import never holds the write lock the worker
    needs for minutes, and each row is accepted or refused on its own anyway (R-C-05).
    """
    now = c.clock.now()
    rows = imports.parse(data)
    result = imports.ImportResult(rows=len(rows))
    for start in range(0, len(rows), imports.CHUNK_ROWS):
        chunk = rows[start : start + imports.CHUNK_ROWS]
        imports.import_rows(caller.scope, chunk, result, now=now, actor=caller.actor)
        caller.uow.commit()
    imports.finish(caller.scope, rows, result, now=now, actor=caller.actor)
    caller.uow.commit()
    return result.as_dict()
