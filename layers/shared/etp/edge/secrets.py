"""The platform's secrets, read from Secrets Manager through Powertools (cached for five minutes).

Their ids come from the settings; their values never go to a log.
"""

import functools
import json

from etp.settings import settings

MAX_AGE_SECONDS = 300


def secret(secret_id: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(secret_id, max_age=MAX_AGE_SECONDS))


def jwt_secret() -> str:
    return secret(settings().jwt_secret_id)


def iota_seed() -> str:
    return secret(settings().iota_seed_secret_id)


def simulator_config() -> str:
    return secret(settings().simulator_secret_id)


@functools.cache
def _parsed(value: str) -> dict:
    return json.loads(value)


def platform_key() -> dict:
    """{"private_key_pem", "public_key_pem"} from the platform key secret (set by `etp-admin keys init`)."""
    document = _parsed(secret(settings().platform_key_secret_id))
    if "private_key_pem" not in document:
        raise RuntimeError("the platform key is not initialised: run `etp-admin keys init`")
    return document


def clear_caches() -> None:
    """Forget every secret read so far (tests, and the CLI when it switches stacks)."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    _parsed.cache_clear()
