"""Tracing for every function, switched by the template's `XRayTracing` parameter.

The X-Ray SDK behind Powertools' Tracer costs ~150 ms at every cold start (more than everything
else a handler imports), so tracing is opt-in: with POWERTOOLS_TRACE_DISABLED=true, `make_tracer()`
returns a stand-in with the same decorators and the SDK is never imported. Logger and Metrics
are Powertools' own, configured by the POWERTOOLS_* variables of the template's Globals.
"""

import os
from collections.abc import Callable
from typing import Any


class _Untraced:
    """Tracer's decorator surface, doing nothing."""

    def capture_lambda_handler(self, handler: Callable | None = None, **_: Any) -> Any:
        return handler if handler is not None else (lambda function: function)

    def capture_method(self, method: Callable | None = None, **_: Any) -> Any:
        return method if method is not None else (lambda function: function)

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        pass


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() not in ("1", "true")


def make_tracer() -> Any:
    if not tracing_enabled():
        return _Untraced()
    from aws_lambda_powertools import Tracer

    return Tracer()
