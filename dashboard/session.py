"""Who is using this dashboard session: the auth mode, the principal, the client address, sign-in and sign-out.

The mode comes from LANDDESK_AUTH, which `landdesk serve` always sets (`signin` by default, `none` with
`--no-auth` or in `landdesk demo`, `public` with `--public`); unset means sign-in, so a dashboard started some
other way never opens without it. The principal lives in session state and is re-read from the store on every
run (`service.auth.refresh`), so a disabled account loses its session at once.

A sign-in lasts beyond the tab (service/sessions.py): the tab keeps its session id, and the browser gets an
HttpOnly cookie through a one-time grant the page posts to /_landdesk/session (dashboard/server.py); a reload,
a new tab or a reconnect starts a Streamlit session that reads the cookie (st.context.cookies) and resumes.
"""
from __future__ import annotations

import os

import streamlit as st

from landdesk.settings import AUTH_MODES, settings
from service.auth import DEVELOPER, PUBLIC, Principal

MODES = AUTH_MODES
KEY = "principal"
METHOD = "principal_method"          # "password" or "oidc": how the session's principal signed in
REFUSED = "oidc_refused"             # a provider identity with no active LandDesk account
SIGNED_OUT = "oidc_signed_out"
SESSION_ID = "landdesk_session_id"    # the tab's row in the store's sessions table
GRANT = "landdesk_session_grant"      # the one-time grant the page exchanges for the cookie (then dropped)
CLEAR_COOKIE = "landdesk_clear_cookie"
#: The server's session endpoints (dashboard/server.py), below server.baseUrlPath.
ENDPOINT = "_landdesk/session"


def auth_mode() -> str:
    """signin, none (development) or public: the LANDDESK_AUTH setting `landdesk serve` hands to Streamlit."""
    return settings().auth_mode


def resolve_client(peer: str | None, forwarded: str | None, trusted=()) -> str | None:
    """The client address of a connection from `peer` carrying `forwarded` (its X-Forwarded-For header).

    The header is believed only when the peer is one of the `trusted` proxy networks (LANDDESK_TRUSTED_PROXIES,
    default none): then the client is the nearest hop that is not itself a trusted proxy, read from the right,
    since every proxy appends the address it saw and a client can write anything to the left of it. Anyone
    else's header is ignored and the peer is the client — loopback included, so a local connection has an
    address and is rate-limited like any other."""
    import ipaddress

    def parse(text):
        try:
            return ipaddress.ip_address(str(text).strip())
        except ValueError:
            return None

    def is_trusted(addr) -> bool:
        return addr is not None and any(addr in net for net in trusted)

    peer_addr = parse(peer) if peer else None
    if forwarded and is_trusted(peer_addr):
        for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
            addr = parse(hop)
            if addr is None:              # garbage the client wrote: the proxy's own hop before it is all we know
                break
            if not is_trusted(addr):
                return str(addr)
            peer_addr = addr
    return (str(peer_addr) if peer_addr is not None else (str(peer)[:100] if peer else None))


def _peer() -> str | None:
    """The socket's peer address. st.context.ip_address hides loopback (None); the session's client context
    has it, so a connection from 127.0.0.1 is counted by the sign-in limit as well."""
    try:
        from streamlit.runtime.context import _get_client_context
        context = _get_client_context()
        if context is not None and getattr(context, "remote_ip", None):
            return context.remote_ip
    except Exception:  # noqa: BLE001 - another Streamlit version: the public property below
        pass
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (bare mode)
        return None


def client() -> str | None:
    """The client address (`resolve_client`): the socket's peer, or what a trusted proxy forwarded."""
    try:
        fwd = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no request context (bare mode)
        fwd = None
    return resolve_client(_peer(), fwd, settings().trusted_proxies)


def principal() -> Principal | None:
    """The session's principal: the signed-in account, PUBLIC in public mode, DEVELOPER without sign-in."""
    mode = auth_mode()
    if mode == "none":
        return DEVELOPER
    if mode == "public":
        return PUBLIC
    return st.session_state.get(KEY)


def require_principal() -> Principal:
    p = principal()
    if p is None:   # a page script reached without sign-in (cannot happen through the router)
        st.stop()
    return p


def sign_in(engine, username: str, password: str) -> Principal | None:
    """Check the password; on success keep the principal in session state. Raises SignInLocked."""
    from service.auth import authenticate
    p = authenticate(engine, username, password, client())
    if p is not None:
        _start(engine, p, "password")
    return p


def _start(engine, p: Principal, method: str) -> None:
    """Keep the principal in the tab and start its lasting session (the cookie follows through the grant)."""
    from service import sessions
    issued = sessions.issue(engine, p, client(), method=method)
    st.session_state[KEY] = p
    st.session_state[METHOD] = method
    st.session_state[SESSION_ID] = issued.session_id
    st.session_state[GRANT] = issued.grant
    st.session_state.pop(CLEAR_COOKIE, None)


def _endpoint() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + (base + "/" if base else "") + ENDPOINT


def cookie_exchange() -> None:
    """Draw the few lines of script that hand the tab's one-time grant to the server, which answers with the
    HttpOnly session cookie (or, after sign-out, clears it). The grant is a random URL-safe string made here,
    never user input; the token itself never reaches the page's scripts."""
    import json
    grant = st.session_state.pop(GRANT, None)
    if grant is not None:
        body, path = "grant=" + grant, _endpoint()
    elif st.session_state.pop(CLEAR_COOKIE, False):
        body, path = "", _endpoint() + "/end"
    else:
        return
    st.html(f"<script>fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', headers: "
            f"{{'Content-Type': 'application/x-www-form-urlencoded'}}, body: {json.dumps(body)}}});</script>",
            unsafe_allow_javascript=True, width="content")


def _cookie_token() -> str | None:
    try:
        return st.context.cookies.get(sessions_cookie())
    except Exception:  # noqa: BLE001 - no request context (bare mode, AppTest)
        return None


def sessions_cookie() -> str:
    from service.sessions import COOKIE
    return COOKIE


def oidc_configured() -> bool:
    """True when the bureau's identity provider is set up for st.login (an [auth] table in secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def oidc_identity() -> str | None:
    """The e-mail the identity provider vouches for when the visitor signed in through st.login, else None."""
    try:
        if not st.user.is_logged_in:
            return None
        claims = st.user.to_dict()
    except Exception:  # noqa: BLE001 - no auth configured or no request context
        return None
    who = claims.get("email") or claims.get("preferred_username")
    return str(who).strip().lower() if who else None


def sign_in_oidc(engine) -> Principal | None:
    """Map the provider's identity to a LandDesk account (service.auth.authenticate_external); on success keep
    the principal in session state. An identity without an active account gets None and stays signed out."""
    from service.auth import authenticate_external
    identity = oidc_identity()
    if identity is None:
        return None
    p = authenticate_external(engine, identity, client(), method="oidc")
    if p is not None:
        _start(engine, p, "oidc")
    else:
        st.session_state[REFUSED] = identity
    return p


def sign_out(engine) -> None:
    """Sign the user out everywhere: every session of theirs ends (service.sessions.sign_out, audited), this
    tab forgets it and its next run clears the cookie."""
    from service import sessions
    p = st.session_state.pop(KEY, None)
    method = st.session_state.pop(METHOD, "password")
    st.session_state.pop(SESSION_ID, None)
    st.session_state.pop(GRANT, None)
    st.session_state[CLEAR_COOKIE] = True
    if p is not None:
        try:
            sessions.sign_out(engine, p.username, client())
        except Exception:  # noqa: BLE001 - signing out of this tab must always work
            pass
    if method == "oidc":
        st.session_state[SIGNED_OUT] = True     # not signed straight back in from the provider's cookie
        try:
            st.logout()
        except Exception:  # noqa: BLE001 - the provider's session ends with its cookie anyway
            pass


def refresh(engine) -> Principal | None:
    """The signed-in principal as the store has it now, or None: the tab's session when it is still live (not
    signed out anywhere, not idle too long, its account active — role or township re-read), else the session the
    browser's cookie names (a reload, a new tab, a reconnect)."""
    from service import sessions
    from service.auth import refresh as reread
    sid = st.session_state.get(SESSION_ID)
    if sid is not None:
        now = sessions.validate(engine, sid, client=client())
        if now is None:
            for key in (KEY, SESSION_ID, GRANT):
                st.session_state.pop(key, None)
            st.session_state[CLEAR_COOKIE] = True
        elif now != st.session_state.get(KEY):
            st.session_state[KEY] = now
        return now
    p = st.session_state.get(KEY)
    if p is not None:                      # a principal without a session row (set by a test): re-read it
        now = reread(engine, p)
        if now is None:
            st.session_state.pop(KEY, None)
        elif now != p:
            st.session_state[KEY] = now
        return now
    if st.session_state.get(CLEAR_COOKIE):
        return None                        # signed out in this tab: the cookie is being cleared
    resumed = sessions.resume(engine, _cookie_token(), client=client())
    if resumed is None:
        return None
    st.session_state[SESSION_ID], st.session_state[KEY], st.session_state[METHOD] = resumed
    return resumed[1]
