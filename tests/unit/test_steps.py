"""The setup reporter: numbered steps with elapsed times, and pip's output as one status line."""

import io
import sys

import pytest

from etp_local import steps
from etp_local.steps import PipProgress, Steps, format_duration, is_pip_install


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_durations_read_as_seconds_then_minutes():
    assert format_duration(0.04) == "0.0 s"
    assert format_duration(12.34) == "12.3 s"
    assert format_duration(59.9) == "59.9 s"
    assert format_duration(65) == "1 min 05 s"
    assert format_duration(754.6) == "12 min 35 s"


def test_steps_are_numbered_and_timed():
    out, clock = io.StringIO(), Clock()
    reporter = Steps(2, out=out, clock=clock)
    with reporter.step("starting MiniStack"):
        clock.now += 2.5
    with reporter.step("sam build"):
        clock.now += 61
    assert out.getvalue().splitlines() == [
        "==> [1/2] starting MiniStack",
        "    done in 2.5 s",
        "==> [2/2] sam build",
        "    done in 1 min 01 s",
    ]
    assert reporter.elapsed() == "1 min 04 s"


def test_a_failing_or_interrupted_step_says_so_and_propagates():
    out, clock = io.StringIO(), Clock()
    reporter = Steps(out=out, clock=clock)
    with pytest.raises(RuntimeError), reporter.step("sam deploy"):
        clock.now += 3
        raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt), reporter.step("seeding", index="5/6"):
        raise KeyboardInterrupt
    assert out.getvalue().splitlines() == [
        "==> [1] sam deploy",
        "    failed after 3.0 s",
        "==> [5/6] seeding",
        "    interrupted after 0.0 s",
    ]


PIP_OUTPUT = """\
Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple, file:///opt/pypi-more/simple
WARNING: Location 'file:///opt/pypi-more/simple/requests/' is ignored: it is neither a file nor a directory.
Processing /opt/pypi/files/requests-2.34.2-py3-none-any.whl
Collecting charset_normalizer<4,>=2 (from requests==2.34.2)
  Downloading charset_normalizer-3.5.3-cp312-cp312-manylinux1_x86_64.whl (257 kB)
Requirement already satisfied: pip in ./.venv/lib/python3.12/site-packages (23.2.1)
WARNING: The script normalizer is installed in '/x/bin' which is not on PATH.
Installing collected packages: urllib3, idna, charset_normalizer, certifi, requests
Successfully installed certifi-2026.10.19 charset_normalizer-3.5.3 idna-3.20 requests-2.34.2 urllib3-2.8.0
"""


def test_pip_output_becomes_phase_lines_without_the_location_warnings():
    out, clock = io.StringIO(), Clock()
    progress = PipProgress(out, tty=False, clock=clock, heartbeat=10)
    for line in PIP_OUTPUT.splitlines(keepends=True):
        clock.now += 1
        progress.feed(line)
    progress.finish(0)
    lines = out.getvalue().splitlines()
    assert lines == [
        "    [1.0 s] collecting (0 packages so far): starting pip",
        "    WARNING: The script normalizer is installed in '/x/bin' which is not on PATH.",
        "    [8.0 s] installing 5 packages (the longest, quiet part)",
        "    [9.0 s] 5 packages installed (1 downloaded, 1 already there)",
        "    5 packages installed (1 downloaded, 1 already there)",
    ]
    assert not any("is ignored" in line for line in lines)
    assert progress.packages == 2 and progress.downloads == 1 and progress.installed == 5


def test_without_a_terminal_a_long_phase_prints_a_heartbeat():
    out, clock = io.StringIO(), Clock()
    progress = PipProgress(out, tty=False, clock=clock, heartbeat=10)
    progress.feed("Collecting boto3==1.43.106\n")
    clock.now += 4
    progress.tick()
    clock.now += 7
    progress.feed("  Downloading botocore-1.43.106-py3-none-any.whl (13.2 MB)\n")
    assert out.getvalue().splitlines() == [
        "    [0.0 s] collecting (1 package so far): collecting boto3==1.43.106",
        "    [11.0 s] collecting (1 package so far, 1 downloaded): downloading botocore-1.43.106 (13.2 MB)",
    ]


def test_on_a_terminal_the_status_line_is_redrawn_in_place_and_cleared():
    out, clock = io.StringIO(), Clock()
    progress = PipProgress(out, tty=True, clock=clock, width=60)
    progress.feed("Collecting moto[server]==5.2.5\n")
    clock.now += 1
    progress.tick()
    progress.feed("ERROR: No matching distribution found for nothing\n")
    progress.finish(1)
    text = out.getvalue()
    assert text.startswith("\r\033[K    [0.0 s] collecting (1 package so far): collecting moto")
    assert "\r\033[K    [1.0 s] collecting" in text
    assert all(len(frame) <= 59 for frame in text.replace("\r\033[K", "\n").splitlines())
    after = text.rsplit("\r\033[K", 1)[-1].splitlines()
    assert after == [
        "    ERROR: No matching distribution found for nothing",  # passed through at once
        "    pip failed (exit 1); its last lines:",
        "      Collecting moto[server]==5.2.5",
        "      ERROR: No matching distribution found for nothing",
    ]


def test_pip_installs_are_recognised():
    assert is_pip_install([".venv/bin/python", "-m", "pip", "install", "-r", "requirements-dev.txt"])
    assert is_pip_install(["/x/bin/pip3", "install", "ruff"])
    assert not is_pip_install(["python3.12", "-m", "venv", ".venv"])
    assert not is_pip_install(["pip", "freeze"])


def test_the_command_line_runs_one_step_and_returns_its_exit_code(capfd):
    assert steps.main(["--step", "1/4", "a step", "--", sys.executable, "-c", "print('hi')"]) == 0
    assert steps.main(["a failing step", "--", sys.executable, "-c", "raise SystemExit(3)"]) == 3
    lines = capfd.readouterr().out.splitlines()
    assert lines[0] == "==> [1/4] a step"
    assert lines[1].startswith("    $ ") and lines[2] == "hi" and lines[3].startswith("    done in ")
    assert lines[4] == "==> [1] a failing step" and lines[-1].startswith("    failed after ")


SAM_OUTPUT = """\
Starting Build use cache
Building layer 'SharedLayer'
Building codeuri: /w/functions/accounts runtime: python3.12 architecture: x86_64 functions: AccountsFunction
requirements.txt file not found. Continuing the build without dependencies.
Building codeuri: /w/functions/meters runtime: python3.12 architecture: x86_64 functions: MetersFunction
Build Succeeded
\tUploading to 4e6981f67952e1cef1a5fe8a103abd43  262144 / 25779092  (1.02%)\
\tUploading to 4e6981f67952e1cef1a5fe8a103abd43  25779092 / 25779092  (100.00%)
Waiting for changeset to be created..
+ Add                    AccountsFunction         AWS::Lambda::Function    N/A
+ Add                    UsersTable               AWS::DynamoDB::Table     N/A
CREATE_IN_PROGRESS       AWS::DynamoDB::Table     UsersTable               -
CREATE_COMPLETE          AWS::DynamoDB::Table     UsersTable               -
CREATE_FAILED            AWS::Lambda::Function    AccountsFunction         Resource handler returned message
Successfully created/updated stack - etp-local in us-east-1
"""


def test_sam_output_becomes_a_status_line_and_a_summary_with_failures_passed_through():
    out, clock = io.StringIO(), Clock()
    progress = steps.SamProgress(out, tty=True, clock=clock, width=200)
    for line in SAM_OUTPUT.splitlines(keepends=True):
        progress.feed(line)
    assert progress.status() == "    [0.0 s] 1 resources done; CREATE_COMPLETE UsersTable"
    progress.finish(0)
    text = out.getvalue()
    assert "building AccountsFunction (1 so far)" in text and "uploading the packages (1 done)" in text
    assert "requirements.txt" not in text and "\n" in text
    printed = [line for line in text.replace("\r\033[K", "\n").splitlines() if not line.startswith("    [")]
    assert [line for line in printed if line] == [
        "    CREATE_FAILED            AWS::Lambda::Function    AccountsFunction         "
        "Resource handler returned message",
        "    Successfully created/updated stack - etp-local in us-east-1; 2 functions built; "
        "2 changes in the change set, 1 resources complete",
    ]
