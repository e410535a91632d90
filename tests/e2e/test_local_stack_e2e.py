"""The local stack's MiniStack (etp_local.ministack) as `make run` starts it, without the deployment:
a stop under load is quick, keeps the data and leaves no process behind; the state is saved on a
timer, so a crash loses at most the last interval; Lambda concurrency is capped, a burst past the cap
refused with a clean 429 instead of a worker process per request."""

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from processes import alive, descendants
from stack_client import eventually

from etp_local.ministack import LOCAL_AWS_ENV, MiniStack, free_port

TABLE = "local-stack-test"
SLEEPER = "sleeper"
HANDLER = """import time


def handler(event, context):
    time.sleep(event["seconds"])
    return {"slept": event["seconds"]}
"""


def client(ministack: MiniStack, service: str):
    config = Config(read_timeout=120, retries={"max_attempts": 1})  # a throttle must show, not be retried
    return boto3.client(service, endpoint_url=ministack.endpoint, config=config, **_credentials())


def _credentials() -> dict[str, str]:
    return {
        "region_name": LOCAL_AWS_ENV["AWS_DEFAULT_REGION"],
        "aws_access_key_id": LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    }


def prepare(ministack: MiniStack) -> None:
    """A table and a Lambda function that sleeps as long as its event says."""
    client(ministack, "dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", HANDLER)
    client(ministack, "lambda").create_function(
        FunctionName=SLEEPER,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/sleeper",
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=120,
    )


def put(ministack: MiniStack, key: str) -> None:
    client(ministack, "dynamodb").put_item(TableName=TABLE, Item={"k": {"S": key}})


def keys(ministack: MiniStack) -> set[str]:
    return {item["k"]["S"] for item in client(ministack, "dynamodb").scan(TableName=TABLE)["Items"]}


def invoke(ministack: MiniStack, seconds: float) -> str:
    """'ok', or the error code of a refused invocation."""
    try:
        client(ministack, "lambda").invoke(FunctionName=SLEEPER, Payload=json.dumps({"seconds": seconds}).encode())
    except ClientError as error:
        return error.response["Error"]["Code"]
    except BotoCoreError as error:  # the stack stopped under it
        return type(error).__name__
    return "ok"


@pytest.fixture
def state(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def started(tmp_path, state) -> Iterator[list[MiniStack]]:
    """Every MiniStack a test starts, stopped at its end whatever happened."""
    stacks: list[MiniStack] = []
    yield stacks
    for ministack in stacks:
        ministack.stop()


def start(started: list[MiniStack], state: Path, port: int, **options) -> MiniStack:
    ministack = MiniStack(port, state_dir=state, log_path=state.parent / "ministack.log", **options).start()
    started.append(ministack)
    return ministack


def test_a_stop_under_load_is_quick_keeps_the_data_and_ends_every_worker(started, state):
    port = free_port()
    ministack = start(started, state, port, save_every=3600, lambda_concurrency=4)
    prepare(ministack)
    put(ministack, "before")
    load = [threading.Thread(target=invoke, args=(ministack, 60), daemon=True) for _ in range(3)]
    for thread in load:
        thread.start()
    assert ministack.process is not None
    pid = ministack.process.pid
    workers = eventually(lambda: found if len(found := descendants(pid)) >= 3 else None, 60)
    put(ministack, "during")

    stopping = time.monotonic()
    ministack.stop()
    assert time.monotonic() - stopping < 10
    assert ministack.process.poll() is not None
    assert alive(workers) == set()

    assert keys(start(started, state, port)) == {"before", "during"}


def test_the_state_is_saved_on_a_timer_so_a_crash_keeps_it(started, state):
    port = free_port()
    ministack = start(started, state, port, save_every=1)
    prepare(ministack)
    put(ministack, "saved")
    saved = state / "dynamodb.json"
    eventually(lambda: (saved.exists() and '"saved"' in saved.read_text()) or None, 30)

    assert ministack.process is not None
    ministack.process.kill()  # a crash: no shutdown, no save
    ministack.process.wait()

    assert keys(start(started, state, port)) == {"saved"}


def test_a_burst_past_the_concurrency_cap_is_refused_cleanly_not_given_a_process_each(started, state):
    ministack = start(started, state, free_port(), lambda_concurrency=2)
    prepare(ministack)
    answers: list[str] = []
    burst = [threading.Thread(target=lambda: answers.append(invoke(ministack, 3))) for _ in range(6)]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join()

    assert set(answers) <= {"ok", "TooManyRequestsException"}
    assert answers.count("TooManyRequestsException") >= 1
    assert ministack.process is not None
    assert 1 <= len(descendants(ministack.process.pid)) <= 2  # a worker process for each invocation let run
