"""etp-admin piped into a reader that closes early (`| head -1`): it ends quietly, as a real process."""

import os
import subprocess
import sys

from helpers import ROOT

# The CLI in a process of its own, against moto in that process: a stack and a slot of 150 bids,
# more text than the pipe holds (its buffer is cut to one page), so the CLI still writes when the
# reader has gone.
CLI_AGAINST_MOTO = """
import fcntl, json, sys, uuid
from datetime import UTC, datetime

import boto3
from moto import mock_aws

from aws_fixtures import create_tables

with mock_aws():
    create_tables()
    outputs = {"BidsTableName": {"Value": "etp-test-bids"}}
    template = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs}
    boto3.client("cloudformation").create_stack(StackName="etp-pipe", TemplateBody=json.dumps(template))
    from etp.market import bids
    from etp.market.bid_items import BidModel

    slot = datetime(2030, 1, 1, 2, tzinfo=UTC)
    with BidModel.batch_write() as batch:
        for i in range(150):
            batch.save(BidModel(id=str(uuid.uuid4()), user_id=f"u-{i}", account=f"u-{i}_BEMS", side="buy",
                                slot=slot.isoformat().replace("+00:00", "Z"), volume_wh=5000, price_milli=2000 + i,
                                status=bids.SUBMITTED, uploaded_at="2030-01-01T01:00:00Z", version=0))
    fcntl.fcntl(sys.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
    from etp_admin import cli

    code = cli.main(["--env", "dev", "--stack", "etp-pipe", "--region", "us-east-1", *sys.argv[1:]])
sys.exit(code)
"""


def test_a_pipe_closed_early_ends_the_command_quietly():
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    argv = [sys.executable, "-c", CLI_AGAINST_MOTO, "market", "show", "--slot", "2030-01-01T10:00"]
    writer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    reader = subprocess.Popen(["head", "-1"], stdin=writer.stdout, stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.close()  # head holds the pipe's only reading end: it closes it after one line
    first, _ = reader.communicate(timeout=120)
    errors = writer.stderr.read().decode()
    assert writer.wait(timeout=120) == 1, errors
    assert first.decode() == "slot 2030/01/01 10:00 (local)  150 bids\n"
    assert errors == "", "no traceback, no 'Exception ignored' at exit"
