"""``ApiError``: a failure a client can cause, as an HTTP status, a machine code and one clear
sentence; the API renders it as ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
