"""OpenAPI JSON at /api/openapi.json, Swagger UI at /api/docs, ReDoc at /api/redoc.

Their assets are served by the app itself from /api/static: users run Cortex offline.
"""

from __future__ import annotations

from pathlib import Path

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

import cortex

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS = "/api/static"
FAVICON = "<link rel='icon' href='data:,'>"  # no request to a CDN for an icon


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Cortex",
        version=cortex.__version__,
        description="Event-sourced backend for an AI knowledge workspace.",
        path="/api",
        render_plugins=[
            JsonRenderPlugin(path="/openapi.json", favicon=FAVICON),
            SwaggerRenderPlugin(
                path="/docs",
                js_url=f"{ASSETS}/swagger-ui-bundle.js",
                css_url=f"{ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                favicon=FAVICON,
            ),
            RedocRenderPlugin(
                path="/redoc",
                js_url=f"{ASSETS}/redoc.standalone.js",
                favicon=FAVICON,
                google_fonts=False,
            ),
        ],
    )


def static_assets() -> ControllerRouterHandler:
    return create_static_files_router(
        path=ASSETS, directories=[STATIC_DIR], include_in_schema=False, name="static"
    )
