"""The API's OpenAPI 3.1 document, built from the export registry (so a new export is documented by being
registered), and the docs page drawn from it on the server: plain HTML, no script, nothing from a CDN."""
from __future__ import annotations

import html
from functools import lru_cache

from analytics import exports as registry_mod
from analytics.periods import COMPARES, PRESETS
from service import params

PREFIX = "/api/v1"
_PROBLEM = {"description": "a problem detail (RFC 9457): one sentence in `detail`",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _query(name: str, description: str, enum=None, fmt=None) -> dict:
    schema = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    if fmt:
        schema["format"] = fmt
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}



EXPORT_PARAMETERS = [
    _query("from", "first day (default: 30 days before `to`)", fmt="date"),
    _query("to", "last day, or `today` (default: the data end, the store's last event day)"),
    _query("period", "a named period ending on `to` instead of `from` (this_month = month to date)",
           enum=tuple(p for p in PRESETS if p != "custom")),
    _query("compare", "what kpis compare with: previous (环比, default) or year (同比)", enum=COMPARES),
    _query("township", "only this township (a township token is always limited to its own)"),
    _query("case_type", "only this case type"),
    _query("department", "only this department"),
    _query("system", "only the records of this source system"),
    _query("by", "break the result down by a dimension the export accepts", enum=registry_mod.DIMENSIONS),
    _query("time_unit", "the unit of durations", enum=params.TIME_UNITS),
    _query("format", "json (records with a meta block, default) or csv (as `landdesk export`)", enum=("json", "csv")),
]


@lru_cache(maxsize=1)
def document() -> dict:
    """The OpenAPI document (openapi.json)."""
    names = list(registry_mod.registry())
    auth = [{"bearer": []}]
    errors = {"400": _PROBLEM, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM, "429": _PROBLEM, "503": _PROBLEM}
    return {
        "openapi": "3.1.0",
        "info": {"title": "LandDesk exchange interface (信息资源交换)", "version": "1",
                 "description": "Read-only results of LandDesk, the same frames as `landdesk export NAME`. "
                                "Every call but health and these documents needs `Authorization: Bearer TOKEN`."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token from `landdesk tokens add NAME --role ROLE`"}},
            "schemas": {"Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": "string"}}}},
        },
        "paths": {
            f"{PREFIX}/health": {"get": {"summary": "the API and its store are up (no token needed)",
                                         "responses": {"200": {"description": "ok and the store's data version"},
                                                       "503": _PROBLEM}}},
            f"{PREFIX}/exports": {"get": {"summary": "every export with its parameters and grain", "security": auth,
                                          "responses": {"200": {"description": "the exports"}, **errors}}},
            f"{PREFIX}/exports/{{name}}": {"get": {
                "summary": "one export: the frame `landdesk export NAME` prints, for the same parameters",
                "security": auth,
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": names}}] + EXPORT_PARAMETERS
                              + [{"name": "If-None-Match", "in": "header", "required": False,
                                  "schema": {"type": "string"},
                                  "description": "the ETag of an earlier answer: 304 while the data are unchanged"}],
                "responses": {"200": {"description": "`meta` (period, data end, scope, units, definition) and "
                                                     "`data` (records), or CSV",
                                      "headers": {"ETag": {"schema": {"type": "string"}}}},
                              "304": {"description": "not modified since the ETag given"}, **errors}}},
            f"{PREFIX}/catalogue": {"get": {"summary": "datasets, fields, grain, freshness and row counts (目录体系)",
                                            "security": auth,
                                            "responses": {"200": {"description": "datasets and fields"}, **errors}}},
            f"{PREFIX}/openapi.json": {"get": {"summary": "this document",
                                               "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            f"{PREFIX}/docs": {"get": {"summary": "the browsable documentation",
                                       "responses": {"200": {"description": "HTML"}}}},
        },
        "x-exports": [{"name": e.name, "description": e.description, "grain": registry_mod.grain(e),
                       "by": list(e.by)} for e in registry_mod.registry().values()],
    }


def _e(text) -> str:
    return html.escape(str(text), quote=True)


@lru_cache(maxsize=1)
def docs_page() -> str:
    """The browsable docs page: every path with its parameters, then every export with its grain and breakdowns
    (anchored #export-NAME: the `definition` link of an export's meta block)."""
    doc = document()
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{_e(doc['info']['title'])}</title>",
             "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
             "code{background:#f3f3f3;padding:0 .2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:.2rem .5rem;text-align:left;vertical-align:top}</style></head><body>",
             f"<h1>{_e(doc['info']['title'])}</h1><p>{_e(doc['info']['description'])}</p>",
             f"<p>Machine-readable: <a href='{PREFIX}/openapi.json'>{PREFIX}/openapi.json</a> (OpenAPI 3.1).</p>",
             "<h2>Paths</h2>"]
    for path, item in doc["paths"].items():
        op = item["get"]
        parts.append(f"<h3><code>GET {_e(path)}</code></h3><p>{_e(op['summary'])}"
                     f"{' — token required' if op.get('security') else ''}</p>")
        if op.get("parameters"):
            parts.append("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>")
            for p in op["parameters"]:
                values = p["schema"].get("enum")
                extra = f" ({', '.join(map(str, values))})" if values and p["name"] != "name" else ""
                parts.append(f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
                             f"<td>{_e(p.get('description', ''))}{_e(extra)}</td></tr>")
            parts.append("</table>")
    parts.append("<h2>Exports</h2>")
    for e in doc["x-exports"]:
        by = ", ".join(e["by"]) or "none"
        parts.append(f"<h3 id='export-{_e(e['name'])}'><code>{_e(e['name'])}</code></h3><p>{_e(e['description'])}"
                     f"</p><p>grain: {_e(e['grain'] or '—')}; by: {_e(by)}</p>")
    parts.append("<p>Definitions of every measure: docs/kpis.md of the LandDesk distribution.</p></body></html>")
    return "".join(parts)
