"""Errors that carry their HTTP status and the fields at fault (rendered as problem+json)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class AppError(Exception):
    status: int
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    type: str = "about:blank"

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def not_found(what: str) -> AppError:
    return AppError(404, "Not Found", f"No {what} with that identifier.")


def invalid(field_name: str, code: str, message: str, status: int = 422) -> AppError:
    return AppError(
        status,
        "Invalid request",
        message,
        [FieldError(field_name, code, message)],
    )


def conflict(detail: str) -> AppError:
    return AppError(409, "Conflict", detail)
