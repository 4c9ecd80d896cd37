"""The ASGI application `landdesk serve` runs (`streamlit run dashboard/server.py`: Streamlit finds the st.App and
serves it with uvicorn): LandDesk's Streamlit app (dashboard/app.py), with no Streamlit notice on the console,
and the two small endpoints that set and clear the session cookie, which a Streamlit script cannot do itself.

- POST /_landdesk/session (form field `grant`): claims a new sign-in's one-time grant (service.sessions.claim) and
  answers 204 with the token in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), never in the body, so the
  page's scripts never see it; a wrong, used or expired grant gets 403.
- POST /_landdesk/session/end: clears the cookie (the session itself was ended in the store at sign-out).
Both refuse a request whose Origin is not this server (no other site can plant or clear a session).

Streamlit reads its configuration from dashboard/.streamlit/config.toml beside this file, and `landdesk serve`
passes the same options as flags (cli.main.streamlit_flags)."""
from __future__ import annotations

from functools import cache
from urllib.parse import urlparse

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from service.sessions import COOKIE, claim



def _path() -> str:
    """/_landdesk/session below server.baseUrlPath (dashboard.session.ENDPOINT is where the page posts)."""
    from streamlit import config

    from dashboard.session import ENDPOINT
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + (base + "/" if base else "") + ENDPOINT


PATH = _path()


@cache
def _engine(url: str):
    from etl.store import make_engine
    return make_engine(url)


def _same_origin(request) -> bool:
    origin = request.headers.get("origin")
    return bool(origin) and urlparse(origin).netloc == request.headers.get("host")


def _refused() -> Response:
    return PlainTextResponse("refused", status_code=403, headers={"Cache-Control": "no-store"})


def _secure(request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def start_session(request) -> Response:
    from landdesk.settings import database_url
    if not _same_origin(request):
        return _refused()
    form = await request.form()
    token = await run_in_threadpool(claim, _engine(database_url()), str(form.get("grant") or ""))
    if token is None:
        return _refused()
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/")
    return response


async def end_session(request) -> Response:
    if not _same_origin(request):
        return _refused()
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=_secure(request), path="/")
    return response


app = st.App("app.py", routes=[Route(PATH, start_session, methods=["POST"]),
                               Route(PATH + "/end", end_session, methods=["POST"])])
