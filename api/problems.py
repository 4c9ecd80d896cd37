"""Errors as JSON problem details (RFC 9457): a status, its title and one clear sentence, never a traceback."""
from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An answer that is not a result: `status` with one sentence in `detail`; `headers` (Retry-After,
    WWW-Authenticate) go with it."""

    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def response(status: int, detail: str, instance: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)
