"""Find a deployed stack's resources from its CloudFormation outputs and point the data layer at them.

A stack is named by a `samconfig.toml` environment (`--env local|localstack|dev|prod`), or
explicitly with `--stack`/`--region`. The endpoint is `--endpoint-url`, else `AWS_ENDPOINT_URL`,
else MiniStack on 127.0.0.1:4566 for `local`, else LocalStack's own conventions for `localstack`
(`LOCALSTACK_HOST`, `USE_SSL`, default http://localhost:4566, as the localstack-client package
resolves them), else real AWS.
"""

import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
EMULATED = ("local", "localstack")  # environments whose endpoint is an emulator (dummy credentials do)


# stack output -> the environment variable the shared code reads it from (as the template sets it)
OUTPUT_ENVIRONMENT = {
    "UsersTableName": "USERS_TABLE",
    "MetersTableName": "METERS_TABLE",
    "AddressesTableName": "ADDRESSES_TABLE",
    "ReadingsTableName": "READINGS_TABLE",
    "RollupsTableName": "ROLLUPS_TABLE",
    "LedgerTableName": "LEDGER_TABLE",
    "BidsTableName": "BIDS_TABLE",
    "NewsTableName": "NEWS_TABLE",
    "DrTableName": "DR_TABLE",
    "AuditTableName": "AUDIT_TABLE",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
    "LoginAttemptsTableName": "LOGIN_ATTEMPTS_TABLE",
    "JwtSecretArn": "JWT_SECRET_ID",
    "IotaSeedSecretArn": "IOTA_SEED_SECRET_ID",
    "PlatformKeySecretArn": "PLATFORM_KEY_SECRET_ID",
    "SimulatorSecretArn": "SIMULATOR_SECRET_ID",
}


class StackNotFound(Exception):
    pass


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    endpoint_url: str | None
    outputs: dict[str, str]

    @property
    def local(self) -> bool:
        """On an emulator on this machine: the endpoint is a loopback address (never real AWS)."""
        return is_loopback_endpoint(self.endpoint_url)

    def client(self, service: str):
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def bind_data_layer(self) -> None:
        """Point the data layer at this stack: the environment the shared code reads (the table names
        and the rest), then every PynamoDB model of etp.dynamo's registry, those imported later too."""
        from etp import dynamo, settings

        for output, variable in OUTPUT_ENVIRONMENT.items():
            if output in self.outputs:
                os.environ[variable] = self.outputs[output]
        settings.cache_clear()  # the secret ids and the rest now come from this stack
        dynamo.point_models(self.region, self.endpoint_url)


def is_loopback_endpoint(endpoint_url: str | None) -> bool:
    """An endpoint on this machine: localhost or a loopback address (no name is looked up)."""
    host = urlsplit(endpoint_url or "").hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_samconfig(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "samconfig.toml"
        if candidate.is_file():
            return candidate
    return None


def deploy_parameters(env: str, samconfig: Path | None = None) -> dict:
    path = samconfig or find_samconfig()
    if path is None:
        return {}
    config = tomllib.loads(path.read_text())
    merged: dict = {}
    for section in ("default", env):
        merged.update(config.get(section, {}).get("global", {}).get("parameters", {}))
        merged.update(config.get(section, {}).get("deploy", {}).get("parameters", {}))
    return merged


def endpoint_for(env: str, explicit: str | None = None) -> str | None:
    """The AWS API endpoint of an environment; None means real AWS."""
    if explicit:
        return explicit
    if os.environ.get("AWS_ENDPOINT_URL", "").strip():
        return os.environ["AWS_ENDPOINT_URL"].strip()
    if env == "local":
        return LOCAL_ENDPOINT
    if env == "localstack":
        from localstack_client.config import get_service_endpoint

        return get_service_endpoint("cloudformation")
    return None


def _set_credentials(env: str, region: str) -> None:
    """The environment's defaults for boto3: an emulator's fixed credentials, and the region."""
    if env in EMULATED:
        for key, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)


def _described(name: str, region: str, endpoint_url: str | None) -> dict:
    """CloudFormation's description of stack `name` (StackNotFound if there is none)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    cloudformation = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except (ClientError, BotoCoreError, IndexError) as error:
        where = endpoint_url or f"AWS {region}"
        raise StackNotFound(f"stack {name!r} not found at {where}: {error}") from None


def resolve(
    env: str = "local",
    *,
    stack_name: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Stack:
    params = deploy_parameters(env)
    name = stack_name or params.get("stack_name") or f"etp-{env}"
    region = region or params.get("region") or os.environ.get("AWS_REGION") or "us-east-1"
    endpoint_url = endpoint_for(env, endpoint_url)
    _set_credentials(env, region)
    described = _described(name, region, endpoint_url)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return Stack(name=name, region=region, endpoint_url=endpoint_url, outputs=outputs)
