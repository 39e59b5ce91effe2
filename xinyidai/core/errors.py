from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain refused the request. `code` is stable; `message` is for people."""

    status = 400

    def __init__(self, code: str, message: str, *, detail: Any = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status


class Conflict(DomainError):
    status = 409


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403
