"""`sam build` and `sam deploy` of template.yaml against a local endpoint, exactly as for AWS.

Their output is condensed to a status line and a summary (etp_local.steps.SamProgress; errors,
failed resources and, on failure, the last lines come through); ETP_LOCAL_VERBOSE=1 shows all of it.
"""

import os
import subprocess
import sys
from pathlib import Path

from etp_local.ministack import LOCAL_AWS_ENV
from etp_local.steps import SamProgress, run_with_progress

ROOT = Path(__file__).resolve().parents[2]


def _sam() -> str:
    return str(Path(sys.executable).with_name("sam"))


def sam_env(endpoint: str) -> dict[str, str]:
    return {**os.environ, **LOCAL_AWS_ENV, "AWS_ENDPOINT_URL": endpoint, "SAM_CLI_TELEMETRY": "0"}


def _run(command: list[str], endpoint: str) -> None:
    if os.environ.get("ETP_LOCAL_VERBOSE"):
        subprocess.run(command, cwd=ROOT, env=sam_env(endpoint), check=True)
        return
    returncode = run_with_progress(command, SamProgress(), cwd=ROOT, env=sam_env(endpoint))
    if returncode:
        raise subprocess.CalledProcessError(returncode, command)


def build(endpoint: str) -> None:
    _run([_sam(), "build", "--cached", "--parallel"], endpoint)


def deploy(endpoint: str, *, stack_name: str | None = None, parameter_overrides: str | None = None) -> None:
    command = [_sam(), "deploy", "--config-env", "local"]
    if stack_name:
        command += ["--stack-name", stack_name]
    if parameter_overrides:
        command += ["--parameter-overrides", parameter_overrides]
    _run(command, endpoint)


def local_parameters(node_url: str, endpoint: str) -> str:
    """Template parameters of a local stack: the dev node, and its explorer page as the link target; and
    MiniStack's path-form execute-api base, where the functions reach the WebSocket API's @connections
    (EVENTS_ENDPOINT = <endpoint>/_aws/execute-api/<api id>/Prod: they run on this host, beside MiniStack)."""
    return (
        f"IotaNodeUrl={node_url} ExplorerUrlTemplate={node_url}/explorer/transaction/{{hash}} SimulatorsEnabled=true"
        f" ExecuteApiBaseUrl={execute_api_base(endpoint)}"
    )


def execute_api_base(endpoint: str) -> str:
    """MiniStack's execute-api URLs by path: <this>/<api id>/<stage> (http, or ws for a WebSocket API)."""
    return f"{endpoint.rstrip('/')}/_aws/execute-api"
