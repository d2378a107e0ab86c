"""The API reference: the OpenAPI document, completed, and Swagger UI and ReDoc served by hookline itself.

Self-hosters often run without a way out to the internet, where FastAPI's pages load their scripts, styles
and fonts from CDNs and stay blank. Here the pages' assets come from the ``fastapi-offline`` package (the
Swagger UI and ReDoc bundles as released) and are served from ``/docs/assets``; ReDoc's web fonts are left
out, and Swagger UI's online validator is off (it would fetch a badge from elsewhere). ReDoc's bundle still
shows its maker's logo from their CDN, with no option to leave it out: the pages' Content-Security-Policy
allows this server alone, so the browser never asks (the logo falls back to nothing).

The two ways to send a key are FastAPI security dependencies (``deps.principal``), so the document has
its ``securitySchemes`` and marks each operation that needs a key. The rest is completed in one pass over
the document rather than route by route, so that every route, including those written later, gets the
same: each error status it can answer as its own response with the problem schema
(``problems.documented``), and an example of the request and the answer, recorded from a real run of the
API (``examples.json``; ``tests/api/test_reference.py`` checks they still match, and
``./scripts/regenerate`` records them again).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from hookline.api import fields, problems

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
EXAMPLES = Path(__file__).parent / "examples.json"
# Everything from this server; inline scripts and styles are how FastAPI starts the pages and how ReDoc styles
# itself, and ReDoc's search runs in a worker made from a blob.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)
SWAGGER_UI = {
    "validatorUrl": None,  # the badge would be fetched from the validator's site
    "displayRequestDuration": True,
    "filter": True,
}


def install(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and their assets on ``app`` (built with ``docs_url=None, redoc_url=None``),
    and the completed document at ``/openapi.json``."""
    assert ASSETS.is_dir(), f"the Swagger UI and ReDoc assets are missing from {ASSETS}"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="reference-assets")
    oauth2_redirect = "/docs/oauth2-redirect"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _confined(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} API reference",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                oauth2_redirect_url=f"{root}{oauth2_redirect}",
                swagger_ui_parameters=SWAGGER_UI,
            )
        )

    async def swagger_ui_redirect(_: Request) -> HTMLResponse:
        return _confined(get_swagger_ui_oauth2_redirect_html())

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _confined(
            get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} API reference",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route(oauth2_redirect, swagger_ui_redirect, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = POLICY
    return page


def document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document for ``app``, completed with problem responses and examples."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = problems.PROBLEM_SCHEMA
    for model, schema in schemas.items():
        for name, prop in schema.get("properties", {}).items():
            if "description" not in prop and (text := fields.describe(model, name)):
                prop["description"] = text
    recorded = examples()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            operation.setdefault("security", [])  # no security dependency: a public operation
            _complete_errors(operation, path, method.upper())
            _add_examples(operation, recorded.get(f"{method.upper()} {path}"))
    return spec


@functools.cache
def examples() -> dict[str, Any]:
    """``"METHOD /path"`` -> ``{"request", "status", "response"}``, recorded from a run of the API."""
    loaded: dict[str, Any] = json.loads(EXAMPLES.read_text())
    return loaded


def _complete_errors(operation: dict[str, Any], path: str, method: str) -> None:
    """The router's catch-all ``4XX`` made into one response per status this operation can answer, each
    with the same body (a problem document, or Ordergroove's error on ``/webhook_targets``)."""
    responses = operation["responses"]
    generic = responses.pop("4XX", None)
    if generic is None:
        return
    content = generic.get("content", {})
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    authenticated = bool(operation["security"])
    statuses = problems.documented(
        authenticated=authenticated,
        names_objects="{" in path or "merchant" in query,
        changes=method in ("POST", "PUT", "PATCH", "DELETE"),
        # A key is looked up in the database (cached for seconds): every such operation may meet it away.
        uses_database=authenticated,
    )
    for status, (description, example) in statuses.items():
        if str(status) in responses:
            continue  # the route documents its own (``/readyz``'s 503)
        body = copy.deepcopy(content)
        if "application/problem+json" in body:
            body["application/problem+json"]["example"] = example
        responses[str(status)] = {"description": description, "content": body}


def _add_examples(operation: dict[str, Any], recorded: dict[str, Any] | None) -> None:
    if recorded is None:
        return
    request = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if request is not None and recorded.get("request") is not None:
        request["example"] = recorded["request"]
    answer = operation["responses"].get(str(recorded["status"]))
    if answer is not None and recorded.get("response") is not None:
        content = answer.setdefault("content", {})
        # An error recorded as the example goes under the error's own media type (a problem document).
        media = next(iter(content)) if recorded["status"] >= 400 and content else "application/json"
        content.setdefault(media, {})["example"] = recorded["response"]
