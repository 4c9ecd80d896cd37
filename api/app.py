"""The API's routes (Starlette): health, the export list, one export as JSON or CSV, the catalogue, and the
OpenAPI document with its docs page. Handlers are plain functions (Starlette runs them in its thread pool),
so the synchronous store code serves many clients at once.

Every call but health and the documentation needs `Authorization: Bearer TOKEN` (service.tokens); the token's
Principal goes to service.results.read, which applies the township scope and the public disclosure rules and
audits the read. Parameters are checked by service.params, as the command line's are. An export's answer
carries an ETag made from the store's data version and everything the frame depends on, so a system polling
with If-None-Match gets 304 Not Modified until a load or an undo changes the data."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from analytics import exports as registry_mod
from analytics.scope import Scope
from api import openapi
from api.problems import Problem, response as problem
from api.ratelimit import RateLimit
from landdesk.errors import LandDeskError
from service import access, audit, params, results, tokens
from service.auth import Principal

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
#: The query parameters an export accepts (anything else is a typo, refused).
EXPORT_PARAMS = ("from", "to", "period", "compare", "township", "case_type", "department", "system", "by", "time_unit", "format")
FORMATS = ("json", "csv")


def _label(dim: str) -> str:
    """How an API user names a parameter in an error sentence: the query parameter."""
    return f"parameter {dim}"


@dataclass
class Api:
    """The state one app serves from: the store and the per-token rate limit."""

    engine: Engine
    limiter: RateLimit
    ends: dict = field(default_factory=dict)        # data version → data end (analytics.coverage.data_end)

    # --- the parts every handler shares -----------------------------------------------------------

    def client(self, request: Request) -> str:
        return "api " + (request.client.host if request.client else "?")

    def principal(self, request: Request) -> Principal:
        """The token's Principal, or a 401 (missing, unknown, revoked and expired alike), or a 429."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        principal = tokens.authenticate(self.engine, token) if scheme.lower() == "bearer" else None
        if principal is None:
            reason = "missing" if not header else "invalid"
            self._audit("api_refused", None, request, {"reason": reason, "path": request.url.path})
            raise Problem(401, "This call needs a valid API token: send `Authorization: Bearer TOKEN` with a token "
                               "from `landdesk tokens add` that is neither revoked nor expired.",
                          {"WWW-Authenticate": 'Bearer realm="landdesk"'})
        wait = self.limiter.hit(principal.username)
        if wait:
            self._audit("api_refused", principal, request, {"reason": "rate_limit", "path": request.url.path})
            raise Problem(429, f"This token has made more than {self.limiter.limit} requests in a minute; "
                               f"try again in {wait} seconds.", {"Retry-After": str(wait)})
        return principal

    def _audit(self, action: str, principal: Principal | None, request: Request, detail: dict) -> None:
        try:
            audit.record(self.engine, action, principal.username if principal else None, detail, self.client(request))
        except Exception:  # noqa: BLE001 - best effort, as service.results: the answer is still given
            log.warning("could not audit %s", action, exc_info=True)

    # --- handlers ---------------------------------------------------------------------------------

    def health(self, request: Request) -> Response:
        from etl.store import data_version
        try:
            with self.engine.connect() as conn:
                version = data_version(conn)
        except Exception as exc:  # noqa: BLE001
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Problem(503, f"The store cannot be reached right now ({reason}).") from None
        return JSONResponse({"status": "ok", "data_version": version})

    def list_exports(self, request: Request) -> Response:
        principal = self.principal(request)
        out = []
        for e in registry_mod.registry().values():
            by = e.by
            if principal.is_public:
                spec = access.PUBLIC_EXPORTS.get(e.name)
                if spec is None:
                    continue
                by = tuple(b for b in spec.by if b)
            out.append({"name": e.name, "description": e.description, "grain": registry_mod.grain(e),
                        "by": list(by), "parameters": list(EXPORT_PARAMS), "url": f"{PREFIX}/exports/{e.name}"})
        return JSONResponse({"exports": out})

    def export(self, request: Request) -> Response:
        principal = self.principal(request)
        name = request.path_params["name"]
        if name not in registry_mod.registry():
            raise Problem(404, f"There is no export named {name!r}; GET {PREFIX}/exports lists the names.")
        export = registry_mod.get(name)
        q = request.query_params
        unknown = sorted(set(q.keys()) - set(EXPORT_PARAMS))
        if unknown:
            raise Problem(400, f"Unknown parameter {unknown[0]!r}; an export takes {', '.join(EXPORT_PARAMS)}.")
        fmt = q.get("format") or "json"
        if fmt not in FORMATS:
            raise Problem(400, f"parameter format {fmt!r} is not one of {', '.join(FORMATS)}.")
        by = q.get("by") or None
        unit = params.check_unit(q.get("time_unit") or "workdays", _label)
        compare = params.check_compare(q.get("compare"), _label)
        start = params.parse_date(q["from"]) if q.get("from") else None
        to = params.parse_date_or_today(q["to"]) if q.get("to") else None
        filters = {dim: (q.get(dim) or None) for dim in params.FILTERS}
        registry_mod.check_by(export, by)
        try:
            access.check_export(principal, name, by)
        except access.AccessDenied as exc:
            self._audit("access_denied", principal, request, {"export": name, "by": by, "reason": str(exc)[:300]})
            raise Problem(403, str(exc)) from None
        params.check_filters(self.engine, filters, _label)
        from analytics.coverage import data_end
        from etl.store import data_version
        with self.engine.connect() as conn:
            version = data_version(conn)
            last = self.ends.get(version)
            if version not in self.ends:               # the data end changes only with the data version
                last = self.ends[version] = data_end(conn)
            first, end = params.resolve_period(conn, start, to if to is not None else last, _label,
                                               preset=q.get("period") or None)
        from analytics.periods import PRESET_GRAIN
        scope = Scope(first, end, compare=compare, grain=PRESET_GRAIN.get(q.get("period") or "", ""), **filters)
        etag = _etag(version, name, scope, unit, by, fmt, principal)
        detail = {"export": name, "from": first, "to": end, "by": by, "unit": unit, **filters, "format": fmt}
        if etag in _if_none_match(request):
            self._audit("api_read", principal, request, {**detail, "not_modified": True})
            return Response(status_code=304, headers=_cache_headers(etag))
        try:
            frame = results.read(self.engine, name, scope, unit, by, principal=principal, client=self.client(request))
        except access.AccessDenied as exc:
            raise Problem(403, str(exc)) from None
        seen = access.scoped(scope, principal)          # an officer's township, as the read applied it
        headers = _cache_headers(etag)
        if fmt == "csv":
            return Response(frame.to_csv(index=False), media_type="text/csv; charset=utf-8", headers=headers)
        meta = {"export": name, "description": export.description, "grain": registry_mod.grain(export),
                "period": {"from": first.isoformat(), "to": end.isoformat()}, "compare": scope.compare,
                "data_end": last.isoformat() if last else None, "data_version": version,
                "scope": {dim: getattr(seen, dim) for dim in params.FILTERS}, "by": by,
                "units": {"time": unit, "area": "ha", "rates": "share of 1"},
                "rows": len(frame), "fields": _fields(frame),
                "suppressed_cells": frame.attrs.get("suppressed_cells"),
                "definition": f"{PREFIX}/docs#export-{name}", "definitions": "docs/kpis.md"}
        return JSONResponse({"meta": meta, "data": results.records(frame)}, headers=headers)

    def catalogue(self, request: Request) -> Response:
        from etl.catalogue import catalogue, fields
        principal = self.principal(request)
        datasets = catalogue(self.engine)
        if principal.is_public:                       # where the data came from is the bureau's own business
            datasets = datasets.drop(columns=["mapping", "source", "last_batch"])
        self._audit("api_read", principal, request, {"catalogue": True, "rows": len(datasets)})
        return JSONResponse({"datasets": results.records(datasets), "fields": results.records(fields())})

    def openapi_json(self, request: Request) -> Response:
        return JSONResponse(openapi.document())

    def docs(self, request: Request) -> Response:
        return HTMLResponse(openapi.docs_page())


def _if_none_match(request: Request) -> set[str]:
    header = request.headers.get("if-none-match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _etag(version: str, name: str, scope: Scope, unit: str, by, fmt: str, principal: Principal) -> str:
    """What the answer depends on: the store's state (etl.store.data_version), the resolved request and who asks
    (role and township decide scope and suppression)."""
    key = json.dumps([version, name, scope.start, scope.end, scope.compare, scope.grain,
                      [getattr(scope, d) for d in params.FILTERS], unit, by,
                      fmt, principal.role, principal.township], default=str, ensure_ascii=False)
    return '"' + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + '"'


def _cache_headers(etag: str) -> dict:
    return {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}


def _fields(frame) -> list[dict]:
    """Each column's name and JSON type, so a receiving system can map the records without guessing."""
    import pandas as pd
    out = []
    for col, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "integer"
        elif pd.api.types.is_numeric_dtype(dtype):
            kind = "number"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "datetime"
        else:
            kind = "string"
        out.append({"name": str(col), "type": kind})
    return out


def create_app(engine: Engine, rate_limit: int | None = None) -> Starlette:
    """The API app on the store behind `engine` (rate limit: LANDDESK_API_RATE_LIMIT unless given)."""
    from landdesk.settings import settings
    api = Api(engine, RateLimit(rate_limit or settings().api_rate_limit))

    def guarded(handler):
        def endpoint(request: Request) -> Response:
            try:
                return handler(request)
            except Problem as p:
                return problem(p.status, p.detail, request.url.path, p.headers)
            except registry_mod.StoreUnavailable as exc:
                return problem(503, str(exc), request.url.path)
            except LandDeskError as exc:
                return problem(400, str(exc), request.url.path)
            except Exception:  # noqa: BLE001 - never a traceback to the caller: logged here with a reference
                ref = hashlib.sha256(repr(dt.datetime.now()).encode()).hexdigest()[:8]
                log.exception("API error %s on %s", ref, request.url.path)
                return problem(500, f"An internal error occurred (reference {ref}); please report it.",
                               request.url.path)
        return endpoint

    routes = [
        Route(f"{PREFIX}/health", guarded(api.health)),
        Route(f"{PREFIX}/exports", guarded(api.list_exports)),
        Route(f"{PREFIX}/exports/{{name}}", guarded(api.export)),
        Route(f"{PREFIX}/catalogue", guarded(api.catalogue)),
        Route(f"{PREFIX}/openapi.json", guarded(api.openapi_json)),
        Route(f"{PREFIX}/docs", guarded(api.docs)),
    ]

    async def not_found(request: Request, exc) -> Response:
        status = getattr(exc, "status_code", 404)
        sentence = {404: f"There is nothing at {request.url.path}; the API lives under {PREFIX}/ "
                         f"(see {PREFIX}/docs).",
                    405: f"{request.method} is not allowed here: the API is read-only (GET)."}
        return problem(status, sentence.get(status, _phrase(status)), request.url.path)

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})


def _phrase(status: int) -> str:
    """A sentence for a status no handler names."""
    from http import HTTPStatus
    return HTTPStatus(status).phrase + "."
