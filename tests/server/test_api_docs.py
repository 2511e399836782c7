"""/docs is Swagger UI served from the package under a policy that allows no other origin."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from modeltrail.server import apidocs


def test_docs_page_names_only_its_own_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert "<script>" not in page.text, "an inline script would be refused by the policy"
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/docs/") for u in urls), urls
    assert 'data-openapi-url="/openapi.json"' in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        assert asset.headers["content-security-policy"] == policy
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert (
        client.get("/docs/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert "validatorUrl: null" in client.get("/docs/init.js").text


def test_the_bundled_swagger_ui_loads_nothing_from_elsewhere() -> None:
    css = (apidocs.SWAGGER_DIR / "swagger-ui.css").read_text()
    assert not re.search(r"url\((['\"]?)https?:", css)
    assert "@import" not in css
    assert (apidocs.SWAGGER_DIR / "LICENSE").is_file()


def test_only_the_bundled_assets_are_served(client: TestClient) -> None:
    for path in ("/docs/LICENSE", "/docs/index.html", "/docs/..%2fui.py", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_redoc_is_not_reserved_for_a_page_that_is_not_served(client: TestClient) -> None:
    response = client.get("/redoc")
    assert response.status_code == 200
    assert '<div id="root">' in response.text  # the UI's own not-found view
