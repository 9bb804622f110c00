"""The four services' apps as their `create_app()` builds them, without entering the
lifespan: enough for the OpenAPI document and the docs pages, with no server running."""

import importlib
from typing import Any

import pytest
from fastapi import FastAPI

from services.catalog import SERVICES
from shared.runtime import logs

NAMES = tuple(SERVICES)


def build(name: str) -> FastAPI:
    module = importlib.import_module(SERVICES[name].app.partition(":")[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOTLINE_DATABASE_URL", "postgresql+asyncpg://unused@127.0.0.1:1/unused")
        patch.delenv("HOTLINE_SECRETS_DIR", raising=False)
        patch.setenv("HOTLINE_ENVIRONMENT", "test")  # unset is production: no built-in key
        # configure() replaces the root handlers with one on the stderr pytest captures now.
        patch.setattr(logs, "configure", lambda *_: None)
        app: FastAPI = module.create_app()
    return app


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation the document lists."""
    return [
        (method.upper(), path, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    ]
