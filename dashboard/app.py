"""LandDesk's Streamlit entry point: a router building st.navigation from the signed-in principal's pages.

Only the pages the principal's role may see exist in the navigation, so a URL naming another page gets
Streamlit's page-not-found redirect, never the page (service.auth.ROLE_PAGES). Signed out, every page's address
shows the sign-in form, and signing in opens the page the address names (a deep link survives sign-in)."""
from __future__ import annotations

import logging
import uuid

import streamlit as st

from dashboard import layout, session
from dashboard.ui import lang, language_switch, remember_opening_url, store_down, text
from landdesk.i18n import t
from landdesk.pages import PAGES
from landdesk.resources import pages_dir

PAGES_DIR = pages_dir()
log = logging.getLogger("landdesk.dashboard")



def _sign_in_page() -> None:
    from service.auth import SignInLocked
    from landdesk.errors import LandDeskError

    from dashboard import data
    st.title(t("signin_title", lang()))
    st.caption(t("signin_help", lang()))
    if session.oidc_configured():
        refused = st.session_state.get(session.REFUSED)
        if refused:
            st.error(t("signin_oidc_unknown", lang(), identity=text(refused)))
            if st.button(t("signin_oidc_switch", lang()), key="signin_oidc_switch"):
                st.session_state.pop(session.REFUSED, None)
                st.session_state[session.SIGNED_OUT] = True
                st.logout()
        if st.button(t("signin_oidc", lang()), key="signin_oidc", icon=":material/badge:", type="primary"):
            st.session_state.pop(session.REFUSED, None)
            st.session_state.pop(session.SIGNED_OUT, None)
            st.login()
        st.caption(t("signin_or_password", lang()))
    with st.form("signin"):
        username = st.text_input(t("signin_user", lang()), key="signin_user")
        password = st.text_input(t("signin_password", lang()), type="password", key="signin_password")
        submitted = st.form_submit_button(t("signin_button", lang()), type="primary")
    if submitted:
        try:
            ok = session.sign_in(data.engine(), username, password)
        except SignInLocked as exc:
            st.error(t("signin_locked", lang(), minutes=exc.minutes))
        except LandDeskError as exc:
            st.error(text(exc))
        else:
            if ok is None:
                st.error(t("signin_failed", lang()))
            else:
                st.rerun()


def _sign_in_navigation():
    """Signed out, every page's address shows the sign-in form (a shared link never meets "Page not found"):
    the form answers at the root and at each page's own path, so after signing in the same address — with its
    filters and tab still in the URL — opens the linked page (when the role may see it, else the role's first)."""
    title = t("signin_title", lang())
    pages = [st.Page(_sign_in_page, title=title, icon=":material/login:", url_path="signin", default=True)]
    pages += [st.Page(_sign_in_page, title=title, icon=":material/login:", url_path=key) for key in PAGES]
    return st.navigation(pages, position="hidden")


def _account_box(principal) -> None:
    from dashboard import data
    mode = session.auth_mode()
    if mode == "none":
        st.sidebar.warning(t("dev_mode_banner", lang()), icon=":material/warning:")
    elif mode == "public":
        from service.access import MIN_CELL
        st.sidebar.caption(t("public_mode_note", lang(), n=MIN_CELL))
    else:
        town = f" · {principal.township}" if principal.township else ""
        st.sidebar.caption(t("signed_in_as", lang(), user=principal.label,
                             role=t("role_" + principal.role, lang())) + town)
        if st.sidebar.button(t("sign_out", lang()), key="sign_out", icon=":material/logout:"):
            session.sign_out(data.engine())
            st.rerun()


def main() -> None:
    from sqlalchemy.exc import InterfaceError, OperationalError

    from analytics.exports import StoreUnavailable
    from landdesk.errors import LandDeskError

    from dashboard import data
    from service.access import AccessDenied
    # One output path for data (also in dashboard/.streamlit/config.toml, which `landdesk serve` passes as flags): Streamlit's own table
    # toolbar download and clipboard copy bypass the formula neutralisation and the audit of ui.table's buttons.
    st.set_option("client.disableDataExport", True)
    st.set_page_config(page_title=t("app_title", lang()), page_icon="🗺️", layout="wide")
    language_switch()
    remember_opening_url()
    layout.page_style(lang())

    if session.auth_mode() == "signin":
        try:
            principal = session.refresh(data.engine())
        except LandDeskError as exc:
            st.error(text(exc))
            st.stop()
        if principal is None and session.oidc_configured() and not st.session_state.get(session.SIGNED_OUT) \
                and session.REFUSED not in st.session_state:
            try:
                principal = session.sign_in_oidc(data.engine())
            except LandDeskError as exc:
                st.error(text(exc))
                st.stop()
        with st.sidebar:
            session.cookie_exchange()         # the one-time grant → the HttpOnly cookie (or its clearing)
        if principal is None:
            _sign_in_navigation().run()
            return
    principal = session.principal()

    def page(key: str, default: bool):
        info = PAGES[key]
        return st.Page(PAGES_DIR / f"{key}.py", title=t(info.title, lang()), icon=info.icon,
                       url_path="" if default else key, default=default)

    sections: dict[str, list] = {}
    for i, key in enumerate(principal.pages):
        sections.setdefault(t(PAGES[key].section, lang()), []).append(page(key, i == 0))
    home = next(iter(sections.values()))[0]
    first = principal.pages[0]
    # The first page is served at "/"; a link to it by name (/cockpit) reaches it too, with its filters, instead
    # of Streamlit's "page not found" notice: a hidden page at that name hands over to it.
    alias = st.Page(lambda: st.switch_page(home, query_params={k: st.query_params.get_all(k) for k in st.query_params}),
                    title=t(PAGES[first].title, lang()), url_path=first, visibility="hidden")
    sections[next(iter(sections))].append(alias)
    nav = st.navigation(sections)
    _account_box(principal)
    try:
        nav.run()
    except AccessDenied as exc:
        st.error(text(exc), icon=":material/error:")
    except (StoreUnavailable, OperationalError, InterfaceError) as exc:   # the store went away mid-page: say so,
        store_down(exc)                                                     # in the session's language; recover on rerun


def error_boundary(run) -> None:
    """Every page's error boundary: an unexpected exception is logged server-side with a short reference and the
    visitor sees one sentence quoting it — never a traceback, a server path or the exception's text (st.stop and
    st.rerun are not exceptions of this kind and pass through)."""
    try:
        run()
    except Exception:  # noqa: BLE001 - the boundary
        ref = uuid.uuid4().hex[:8]
        log.exception("page failed [ref %s]", ref)
        st.error(t("page_failed", lang(), id=ref), icon=":material/error:")


error_boundary(main)
