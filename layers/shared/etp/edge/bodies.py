"""What a request's body must be before routing sees it: a Content-Type of JSON in UTF-8, nesting
no deeper than MAX_JSON_DEPTH (checked without recursion, before any parsing), no integer longer than
MAX_NUMBER_DIGITS, and an object when it is JSON. `body_problem` names the first thing wrong."""

import base64
import binascii
import json
import re
from typing import Any

from etp.edge.contract import JSON_MEDIA_TYPE

# Every body of the contract is an object of scalars or of one list: nesting deeper than this is an
# attack on the parser (json's C scanner recurses, so 30,000 brackets raise RecursionError).
MAX_JSON_DEPTH = 32
# Integers are converted before validation: bound their length first (Python refuses more than 4,300
# digits with a ValueError, and conversion is quadratic in the length).
MAX_NUMBER_DIGITS = 32


class BodyRefused(ValueError):
    """Why a request's body cannot be read: the 400's description."""


# A JSON string (closed or not), unrolled so that matching it is linear and never recursive.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (JSON or not), without recursion:
    brackets inside strings do not count."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def media_type_problem(content_type: str | None) -> str | None:
    """Why a body's Content-Type is not the contract's (absent, or JSON in UTF-8), or None."""
    if content_type is None or not content_type.strip():
        return None
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charsets = {value.strip('"') for name, _, value in (p.partition("=") for p in parameters) if name == "charset"}
    if media_type != JSON_MEDIA_TYPE or not charsets <= {"utf-8", "utf8"}:
        return f"body: Content-Type must be {JSON_MEDIA_TYPE} (UTF-8), not {content_type.strip()[:80]!r}"
    return None


def _body_text(event: dict) -> str:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error):
        raise BodyRefused("body: not base64 of UTF-8 text") from None


class _TooLong:
    """Stands in, while parsing, for an integer literal of more than MAX_NUMBER_DIGITS digits."""


def _object(pairs: list[tuple[str, Any]]) -> dict:
    """An object of the body, refused when one of its fields is (a list holding) an over-long integer."""
    for name, value in pairs:
        if isinstance(value, _TooLong) or (isinstance(value, list) and any(isinstance(v, _TooLong) for v in value)):
            raise BodyRefused(f"{name}: a number of more than {MAX_NUMBER_DIGITS} digits")
    return dict(pairs)


def check_body(text: str) -> None:
    """Refuse (BodyRefused) a body that is nested too deep, holds an over-long integer or is JSON but
    not an object. Malformed JSON passes: validation names it as the contract does."""
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
        raise BodyRefused(f"body: nested deeper than {MAX_JSON_DEPTH} levels")
    too_long: list[str] = []

    def bounded_int(literal: str) -> int | _TooLong:
        if len(literal.lstrip("-")) <= MAX_NUMBER_DIGITS:
            return int(literal)
        too_long.append(literal[:8])
        return _TooLong()

    try:
        parsed = json.loads(text, parse_int=bounded_int, object_pairs_hook=_object)
    except BodyRefused:
        raise
    except ValueError:
        return
    if too_long:  # not directly a field's (a list's in a list, or the whole body): no field to name
        raise BodyRefused(f"body: a number of more than {MAX_NUMBER_DIGITS} digits")
    if not isinstance(parsed, dict):
        # Powertools' validation would take a list's first element for an object body
        raise BodyRefused("body: must be a JSON object")


def _header(event: dict, name: str) -> str | None:
    return next((v for k, v in (event.get("headers") or {}).items() if k.lower() == name), None)


def body_problem(event: dict, method: str) -> str | None:
    """Why the request's body cannot be handed to routing (the 400's description), or None. A GET's
    body has no meaning (RFC 9110) and no route reads one: it is ignored, so a GET answers as documented."""
    if method in ("GET", "HEAD"):
        return None
    try:
        text = _body_text(event)
        if wrong_type := media_type_problem(_header(event, "content-type")):
            return wrong_type
        if text:
            check_body(text)
    except BodyRefused as refused:
        return str(refused)
    return None
