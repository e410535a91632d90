"""The platform's RSA key pair: meters encrypt readings to its public key; the tracker decrypts."""

import json

from etp.meters import envelope


class KeyNotInitialised(Exception):
    pass


def read(secrets_client, secret_id: str) -> dict:
    value = secrets_client.get_secret_value(SecretId=secret_id)["SecretString"]
    document = json.loads(value or "{}")
    return document if isinstance(document, dict) else {}


def init(secrets_client, secret_id: str, *, rotate: bool = False) -> tuple[str, bool]:
    """Create the key pair once (idempotent); returns (public PEM, created now?)."""
    current = read(secrets_client, secret_id)
    if "private_key_pem" in current and not rotate:
        return current["public_key_pem"], False
    private_pem, public_pem = envelope.new_key_pair()
    secrets_client.put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"private_key_pem": private_pem, "public_key_pem": public_pem})
    )
    return public_pem, True


def public_key(secrets_client, secret_id: str) -> str:
    current = read(secrets_client, secret_id)
    if "public_key_pem" not in current:
        raise KeyNotInitialised("the platform key is not initialised: run `etp-admin keys init`")
    return current["public_key_pem"]
