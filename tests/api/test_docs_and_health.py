"""Health probes, the OpenAPI document, and the Swagger UI / ReDoc pages with their local assets."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import schemathesis

from tests.api.conftest import Client
from tests.api.helpers import ok

URL_ATTRIBUTES = {"src", "href"}


class _References(HTMLParser):
    """Every src/href in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value for name, value in attrs if name in URL_ATTRIBUTES and value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def test_liveness_is_200(client: Client) -> None:
    assert ok(client.get("/healthz")) == {"status": "ok"}


def test_readiness_is_200_with_every_check_ok(client: Client) -> None:
    body = ok(client.get("/readyz"))

    assert body["ready"] is True
    assert {"event_store", "projection:projects", "projection:ideas"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values()), body
    assert body["checks"]["projection:ideas"]["lag"] == 0


def test_openapi_document_is_valid_openapi(client: Client) -> None:
    document = ok(client.get("/api/openapi.json"))

    assert document["openapi"].startswith("3.")
    schemathesis.openapi.from_dict(document).validate()  # the OpenAPI meta-schema
    assert {"/api/projects", "/api/ideas", "/api/events", "/healthz", "/readyz"} <= set(
        document["paths"]
    )


def test_every_operation_has_a_unique_operation_id(client: Client) -> None:
    document = ok(client.get("/api/openapi.json"))

    operation_ids = [
        (path, method, operation.get("operationId"))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete", "head", "options"}
    ]
    assert len(operation_ids) >= 15
    missing = [(path, method) for path, method, op_id in operation_ids if not op_id]
    assert missing == []
    ids = [op_id for _, _, op_id in operation_ids]
    assert len(ids) == len(set(ids))


def test_static_assets_are_not_in_the_openapi_document(client: Client) -> None:
    document = ok(client.get("/api/openapi.json"))

    assert not any(path.startswith("/api/static") for path in document["paths"])


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
def test_docs_page_loads_only_local_assets(client: Client, page: str) -> None:
    response = client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert re.findall(r"https?://[^\s\"'<>]+", html) == [], "no CDN (or any remote) URL"
    assert "//fonts.googleapis" not in html
    assert "cdn." not in html
    urls = references(html)
    assets = [url for url in urls if not url.startswith("data:")]
    assert assets, "the page references its script"
    assert all(url.startswith("/api/static/") for url in assets), assets
    assert any(url.endswith(".js") for url in assets)


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
def test_assets_the_docs_pages_reference_are_served(client: Client, page: str) -> None:
    assets = [url for url in references(client.get(page).text) if url.startswith("/api/static/")]

    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 1000, url
        kind = "css" if url.endswith(".css") else "javascript"
        assert kind in response.headers["content-type"], (url, response.headers["content-type"])


def test_unknown_static_asset_is_a_404(client: Client) -> None:
    assert client.get("/api/static/nothing-here.js").status_code == 404
    assert client.get("/api/static/../app.py").status_code in (400, 404)
