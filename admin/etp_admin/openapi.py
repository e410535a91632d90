"""Generate the one OpenAPI document of the whole API from the functions' Powertools routers.

    python -m etp_admin.openapi > docs/openapi.json      (what `make openapi` runs)

Every functions/<name>/app.py exposes `router`; they are combined into one resolver so the
document covers every route, and a test keeps docs/openapi.json equal to this output.
"""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Energy trading platform API"
VERSION = "1.0.0"
DESCRIPTION = (
    "HTTP API of the peer-to-peer green-energy market. Times in requests and responses are local "
    "wall-clock time of the platform time zone; docs/api.md gives the exact formats."
)


def _load(path: Path):
    name = f"openapi_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def document() -> dict:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    combined = APIGatewayRestResolver(enable_validation=True)
    for app_py in sorted((ROOT / "functions").glob("*/app.py")):
        router = getattr(_load(app_py), "router", None)
        if router is not None:
            combined.include_router(router)
    schema = combined.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT")},
        security=[{"bearer": []}],
    )
    return without_422(json.loads(schema))


VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"


def without_422(document: dict) -> dict:
    """Powertools declares a 422 on every operation once validation is on; this API answers every
    invalid request with its contract's 400 (web.make_resolver), so that 422 and its schemas go. A
    route's own 422 (a reused Idempotency-Key) stays."""
    for operations in document["paths"].values():
        for operation in operations.values():
            schema = operation["responses"].get("422", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema == {"$ref": VALIDATION_ERROR}:
                del operation["responses"]["422"]
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    return document


def main() -> None:
    print(json.dumps(document(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
