"""RFC 9457 problem+json for every error: the field at fault and the fix."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdesk.errors import AppError

log = logging.getLogger("frontdesk.api")
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_FIXES = {
    "missing": "add the field",
    "extra_forbidden": "remove the field; it is not part of this request",
    "json_invalid": "send a valid JSON document",
    "string_too_long": "shorten the value",
    "string_too_short": "give a non-empty value",
    "enum": "use one of the allowed values",
    "literal_error": "use one of the allowed values",
    "datetime_from_date_parsing": "use RFC 3339 with an offset, e.g. 2026-01-02T15:04:05Z",
    "datetime_parsing": "use RFC 3339 with an offset, e.g. 2026-01-02T15:04:05Z",
    "timezone_aware": "add a UTC offset, e.g. Z or -05:00",
    "model_attributes_type": "send a JSON object",
    "dict_type": "send a JSON object",
    "list_type": "send a JSON array",
    "too_long": "send fewer items",
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_errors(exc: RequestValidationError | ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        etype = str(err.get("type", "invalid"))
        msg = str(err.get("msg", "invalid value"))
        ctx = err.get("ctx") or {}
        code = str(ctx.get("code", etype)) if isinstance(ctx, dict) else etype
        if msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        fix = _FIXES.get(etype)
        out.append(
            {
                "field": _field(tuple(err.get("loc", ()))),
                "code": code,
                "message": f"{msg}; {fix}" if fix else msg,
            }
        )
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, [e.as_dict() for e in exc.errors])

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errs[:5])
        return problem(422, "Invalid request", detail, errs)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            404: "Not Found",
            405: "Method Not Allowed",
            401: "Unauthorized",
            403: "Forbidden",
        }.get(exc.status_code, "Error")
        return problem(
            exc.status_code, title, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(
            500, "Internal error", "Something failed on our side; nothing was changed. Try again."
        )
