"""The API's interactive docs at ``/docs``: Swagger UI served from the package.

The assets are copied from ``swagger-ui-dist`` into the built UI by the web build
(``web/vite.config.ts``), so the page renders offline, and its Content-Security-Policy lets it
load nothing from any other origin. The page's settings live in a script of its own, because
the policy allows no inline script.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from modeltrail.server import ui

SWAGGER_DIR = ui.UI_DIR / "swagger"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# No validator badge: Swagger UI would send the document to a public validator.
INIT_JS = """\
const settings = document.currentScript.dataset;
window.ui = SwaggerUIBundle({
  url: settings.openapiUrl,
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""

router = APIRouter(include_in_schema=False)


def _page(root: str, openapi_url: str) -> str:
    docs = f"{root}/docs"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>modeltrail API</title>
<link rel="stylesheet" href="{docs}/swagger-ui.css">
<link rel="icon" type="image/png" href="{docs}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{docs}/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js" data-openapi-url="{root}{openapi_url}"></script>
</body>
</html>
"""


@router.get("/docs")
def docs_page(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    openapi_url = request.app.openapi_url or "/openapi.json"
    return HTMLResponse(_page(root, openapi_url), headers=HEADERS)


@router.get("/docs/init.js")
def docs_init() -> Response:
    return Response(INIT_JS, media_type="text/javascript; charset=utf-8", headers=HEADERS)


@router.get("/docs/{name}")
def docs_asset(name: str, request: Request) -> Response:
    path: Path = SWAGGER_DIR / name
    if name not in ASSETS or not path.is_file():
        # The same answer as for any path that no route answers.
        raise StarletteHTTPException(404)
    return ui.file_answer(path, request, headers=dict(HEADERS), media_type=ASSETS[name])
