"""Who is using this dashboard session: the auth mode, the principal, the client address, sign-in and sign-out.

The mode comes from LANDDESK_AUTH, which `landdesk serve` always sets (`signin` by default, `none` with
`--no-auth` or in `landdesk demo`, `public` with `--public`); unset means sign-in, so a dashboard started some
other way never opens without it. The principal lives in session state and is re-read from the store on every
run (`service.auth.refresh`), so a disabled account loses its session at once.
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
        st.session_state[KEY] = p
    return p


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
        st.session_state[KEY] = p
        st.session_state[METHOD] = "oidc"
    else:
        st.session_state[REFUSED] = identity
    return p


def sign_out(engine) -> None:
    from service import audit
    p = st.session_state.pop(KEY, None)
    method = st.session_state.pop(METHOD, "password")
    if p is not None:
        try:
            audit.record(engine, "sign_out", p.username, None, client())
        except Exception:  # noqa: BLE001 - signing out must always work
            pass
    if method == "oidc":
        st.session_state[SIGNED_OUT] = True     # not signed straight back in from the provider's cookie
        try:
            st.logout()
        except Exception:  # noqa: BLE001 - the provider's session ends with its cookie anyway
            pass


def refresh(engine) -> Principal | None:
    """Re-read the signed-in account (role, township, active) from the store; drop it when gone."""
    from service.auth import refresh as reread
    p = st.session_state.get(KEY)
    if p is None:
        return None
    now = reread(engine, p)
    if now is None:
        st.session_state.pop(KEY, None)
    elif now != p:
        st.session_state[KEY] = now
    return now
