"""What a smart meter in the field does to publish one reading (used by the operator CLI and the
simulators): fetch today's address with its token, seal the payload, send it to the IOTA node."""

import json
import urllib.request
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from etp.meters import envelope, readings


class PublishError(Exception):
    pass


def payload_for(
    kind: str, account: str, values: dict[str, float], taken_at: datetime, zone: ZoneInfo, reading_id: str | None = None
) -> bytes:
    """The payload JSON; `updated_at` is naive local time, as the meters in the field send it."""
    fields = readings.TYPES[kind][1]
    body: dict = {"id": reading_id or str(uuid.uuid4()), "field": account}
    body.update({name: float(values.get(name, 0.0)) for name in fields})
    if kind != "Demand":
        body["cluster"] = 1
    body["updated_at"] = taken_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def fetch_address(api_url: str, meter_token: str, timeout: float = 10.0) -> str:
    if not api_url.startswith(("http://", "https://")):
        raise PublishError(f"API URL {api_url!r} is not http(s)")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        f"{api_url.rstrip('/')}/address",
        headers={"Authorization": f"Bearer {meter_token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (scheme checked above)
            address = json.loads(answer.read()).get("address")
    except urllib.error.HTTPError as error:
        raise PublishError(f"GET /address answered {error.code}") from None
    except (OSError, ValueError) as error:
        raise PublishError(f"GET /address failed: {error}") from None
    if not isinstance(address, str) or len(address) != 81:
        raise PublishError("GET /address answered no address")
    return address


def publish(
    *,
    api_url: str,
    node_url: str,
    meter_token: str,
    meter_private_pem: str,
    platform_public_pem: str,
    payload: bytes,
    kind: str,
    taken_at: datetime,
) -> str:
    """Publish one sealed reading; returns the transaction hash."""
    from etp.iota.node import IotaNodeError, NodeClient
    from etp.iota.send import send

    address = fetch_address(api_url, meter_token)
    message = envelope.seal(payload, platform_public_pem=platform_public_pem, meter_private_pem=meter_private_pem)
    try:
        return send(NodeClient(node_url), address, readings.tag_for(kind, taken_at), message)
    except IotaNodeError as error:
        raise PublishError(f"IOTA node: {error}") from None
