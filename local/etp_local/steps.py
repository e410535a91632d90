"""Tell a newcomer what a long setup is doing: numbered steps with their elapsed time, and pip's
(and the SAM CLI's) progress as one compact status line instead of pages of their output.

Standard library only: the Makefile's setup recipe runs it as a script with the system Python,
before .venv exists (`python3.12 local/etp_local/steps.py --step 2/4 "title" -- command ...`).
`etp-local` (make run) uses `Steps` for its own steps.

A command that runs pip install is run with its output read here: the lines that say what pip is
at (Collecting, Downloading, Installing collected packages, ...) become one status line, redrawn
in place on a terminal and printed every few seconds (or when the phase changes) otherwise, e.g.
in CI logs; errors and warnings pass through, except the "Location '...' is ignored: it is neither
a file nor a directory" warnings a pip configuration with local file:// indexes prints for every
package; the last lines of pip's own output are printed if it fails.
"""

import argparse
import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

Clock = Callable[[], float]

# Printed by pip for every package when an extra index is a file:// URL without that project's folder.
IGNORED = re.compile(r"^WARNING: Location '[^']*' is ignored: it is neither a file nor a directory\.?$")
# Bookkeeping lines that say nothing about progress.
QUIET = (
    "━",
    "Looking in ",
    "Stored in directory",
    "Created wheel",
    "Successfully built",
    "Attempting uninstall",
    "Found existing",
    "Uninstalling",
    "Successfully uninstalled",
)
FAILURE_TAIL = 40


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


class Steps:
    """Numbered steps, each with a header and, once it ends, how long it took."""

    def __init__(self, total: int | None = None, *, out: TextIO | None = None, clock: Clock = time.monotonic):
        self.total = total
        self.out = out or sys.stdout
        self.clock = clock
        self.count = 0
        self.started = clock()

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def header(self, title: str, index: str | None = None) -> None:
        if index is None:
            self.count += 1
            index = f"{self.count}/{self.total}" if self.total else str(self.count)
        self._print(f"==> [{index}] {title}")

    @contextmanager
    def step(self, title: str, index: str | None = None) -> Iterator[None]:
        self.header(title, index)
        started = self.clock()
        try:
            yield
        except KeyboardInterrupt:
            self._print(f"    interrupted after {format_duration(self.clock() - started)}")
            raise
        except BaseException:
            self._print(f"    failed after {format_duration(self.clock() - started)}")
            raise
        self._print(f"    done in {format_duration(self.clock() - started)}")

    def elapsed(self) -> str:
        return format_duration(self.clock() - self.started)


def _package(spec: str) -> str:
    """`a<4,>=2 (from b)` -> `a<4,>=2`; `/path/a-1.0-py3-none-any.whl (25 kB)` -> `a-1.0 (25 kB)`."""
    spec = spec.split(" (from ", 1)[0].strip()
    name, _, size = spec.partition(" ")
    name = name.rstrip("/").rsplit("/", 1)[-1]
    wheel = re.match(r"([^-]+-[^-]+)-.*\.whl$", name)
    if wheel:
        name = wheel.group(1)
    return f"{name} {size}".strip()


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _count(listing: str) -> int:
    return len([name for name in re.split(r"[,\s]+", listing) if name])


class Progress:
    """A command's output, read line by line, kept as one status line: redrawn in place on a
    terminal, printed when the phase changes or every `heartbeat` seconds otherwise. Subclasses say
    what a line means (`interpret`); errors and warnings pass through; the last lines are printed
    if the command fails."""

    tool = "the command"
    passes_through: tuple[str, ...] = ("ERROR", "Error:", "WARNING", "DEPRECATION", "Traceback")

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        tty: bool | None = None,
        clock: Clock = time.monotonic,
        heartbeat: float = 10.0,
        width: int | None = None,
    ):
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.clock = clock
        self.heartbeat = heartbeat
        self.width = width or shutil.get_terminal_size((100, 24)).columns
        self.started = clock()
        self.phase = "starting"
        self.activity = f"starting {self.tool}"
        self.tail: collections.deque[str] = collections.deque(maxlen=FAILURE_TAIL)
        self._shown = ""  # what the status line shows on a terminal ("" once cleared)
        self._last_print = -float("inf")
        self._printed_phase = ""
        self._lock = threading.Lock()

    def feed(self, line: str) -> None:
        # A terminal-style progress bar may redraw with \r: the last frame counts.
        line = line.rstrip().rsplit("\r", 1)[-1].rstrip()
        with self._lock:
            if line:
                self.tail.append(line)
            if not line or IGNORED.match(line):
                return
            if line.strip().startswith(self.passes_through):
                self._write_line(line.strip())
                return
            self.interpret(line.strip())
            self._show()

    def interpret(self, text: str) -> None:
        self.activity = text

    def status(self) -> str:
        return f"    [{format_duration(self.clock() - self.started)}] {self.activity}"

    def summary(self) -> str:
        return "done"

    def tick(self) -> None:
        """Called every second or so: keeps the elapsed time moving while the command is silent."""
        with self._lock:
            self._show()

    def _show(self) -> None:
        status = self.status()
        if self.tty:
            status = status[: self.width - 1]
            self.out.write("\r\033[K" + status)
            self.out.flush()
            self._shown = status
            return
        now = self.clock()
        if self.phase != self._printed_phase or now - self._last_print >= self.heartbeat:
            print(status, file=self.out, flush=True)
            self._printed_phase, self._last_print = self.phase, now

    def _clear(self) -> None:
        if self.tty and self._shown:
            self.out.write("\r\033[K")
            self.out.flush()
            self._shown = ""

    def _write_line(self, line: str) -> None:
        self._clear()
        print(f"    {line}", file=self.out, flush=True)

    def finish(self, returncode: int) -> None:
        with self._lock:
            self._clear()
            if returncode == 0:
                print(f"    {self.summary()}", file=self.out, flush=True)
                return
            print(f"    {self.tool} failed (exit {returncode}); its last lines:", file=self.out)
            for line in self.tail:
                if not IGNORED.match(line):
                    print(f"      {line}", file=self.out)
            self.out.flush()


class PipProgress(Progress):
    """pip install: how many packages so far, what it fetches now, then the (silent) install."""

    tool = "pip"
    passes_through = (*Progress.passes_through, "error:", "note:", "hint:", "×", "╰─>")

    def __init__(self, out: TextIO | None = None, **options):
        super().__init__(out, **options)
        self.phase = "resolving"
        self.packages = 0  # Collecting / Processing / Obtaining lines
        self.downloads = 0
        self.satisfied = 0
        self.installed: int | None = None

    def interpret(self, text: str) -> None:
        if text.startswith(("Collecting ", "Processing ", "Obtaining ")):
            self.packages += 1
            verb, spec = text.split(" ", 1)
            self.activity = f"{verb.lower()} {_package(spec)}"
        elif text.startswith("Requirement already satisfied"):
            self.satisfied += 1
        elif text.startswith("Downloading "):
            self.downloads += 1
            self.activity = f"downloading {_package(text.removeprefix('Downloading '))}"
        elif text.startswith("Using cached "):
            self.activity = f"using cached {_package(text.removeprefix('Using cached '))}"
        elif text.startswith(
            (
                "Building wheel",
                "Building editable",
                "Preparing",
                "Getting requirements",
                "Installing build dependencies",
                "Checking if build backend",
            )
        ):
            self.activity = text.split(" ...", 1)[0].lower()
        elif text.startswith("Installing collected packages:"):
            self.phase = "installing"
            self.activity = f"{_plural(_count(text.split(':', 1)[1]), 'package')} (the longest, quiet part)"
        elif text.startswith("Successfully installed "):
            self.phase = "installed"
            self.installed = _count(text.removeprefix("Successfully installed "))
        elif not text.startswith(QUIET):
            self.activity = text

    def status(self) -> str:
        elapsed = format_duration(self.clock() - self.started)
        if self.phase == "resolving":
            counts = f"{_plural(self.packages, 'package')} so far"
            if self.downloads:
                counts += f", {self.downloads} downloaded"
            return f"    [{elapsed}] collecting ({counts}): {self.activity}"
        if self.phase == "installing":
            return f"    [{elapsed}] installing {self.activity}"
        return f"    [{elapsed}] {self.summary()}"

    def summary(self) -> str:
        installed = f"{_plural(self.installed, 'package')} installed" if self.installed else "nothing new installed"
        parts = [f"{self.downloads} downloaded"] if self.downloads else []
        if self.satisfied:
            parts.append(f"{self.satisfied} already there")
        return installed + (f" ({', '.join(parts)})" if parts else "")


# sam deploy's change set and event tables: one row per resource and status, in fixed-width columns.
_SAM_EVENT = re.compile(r"^(CREATE|UPDATE|DELETE)_(IN_PROGRESS|COMPLETE)\s+(\S+)\s+(\S+)")
_SAM_CHANGE = re.compile(r"^[+*-] (Add|Modify|Delete)\s+(\S+)")
_SAM_SUMMARY = ("Build Succeeded", "Successfully created/updated stack", "No changes to deploy", "Error: No changes")


class SamProgress(Progress):
    """sam build / sam deploy: which function it builds, what it uploads, how many resources are done."""

    tool = "sam"
    passes_through = (
        *Progress.passes_through,
        "Failed",
        "CREATE_FAILED",
        "UPDATE_FAILED",
        "DELETE_FAILED",
        "ROLLBACK_",
        "UPDATE_ROLLBACK_",
    )

    def __init__(self, out: TextIO | None = None, **options):
        super().__init__(out, **options)
        self.built: list[str] = []
        self.uploads = 0
        self.changes = 0
        self.completed = 0
        self.result = ""

    def interpret(self, text: str) -> None:
        if text.startswith("Building codeuri:"):
            self.phase = "building"
            self.built.append(text.rsplit("functions:", 1)[-1].strip())
            self.activity = f"building {self.built[-1]} ({len(self.built)} so far)"
        elif text.startswith("Building layer"):
            self.phase = "building"
            self.activity = text.lower()
        elif text.startswith("Uploading to"):
            self.phase = "uploading"
            if text.endswith("(100.00%)"):
                self.uploads += 1
            self.activity = f"uploading the packages ({self.uploads} done)"
        elif match := _SAM_CHANGE.match(text):
            self.phase = "change set"
            self.changes += 1
            self.activity = f"change set: {self.changes} resource changes"
        elif match := _SAM_EVENT.match(text):
            self.phase = "deploying"
            if match.group(2) == "COMPLETE":
                self.completed += 1
            self.activity = f"{self.completed} resources done; {match.group(1)}_{match.group(2)} {match.group(4)}"
        elif text.startswith(_SAM_SUMMARY):
            self.result = text

    def summary(self) -> str:
        parts = [self.result or "done"]
        if self.built:
            parts.append(f"{_plural(len(self.built), 'function')} built")
        if self.changes:
            parts.append(f"{_plural(self.changes, 'change')} in the change set, {self.completed} resources complete")
        return "; ".join(parts)


def is_pip_install(command: Sequence[str]) -> bool:
    words = [os.path.basename(word) for word in command]
    return any(word.startswith("pip") and words[i + 1 : i + 2] == ["install"] for i, word in enumerate(words))


def run_with_progress(command: Sequence[str], progress: Progress, *, cwd=None, env=None) -> int:
    """Run `command`, its output (stdout and stderr) read by `progress`; the exit code."""
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env, cwd=cwd
    )
    assert process.stdout is not None
    done = threading.Event()

    def ticker() -> None:
        while not done.wait(1.0):
            progress.tick()

    thread = threading.Thread(target=ticker, name="progress", daemon=True)
    thread.start()
    try:
        for line in process.stdout:
            progress.feed(line)
        returncode = process.wait()
    except BaseException:
        process.terminate()
        process.wait()
        raise
    finally:
        done.set()
        thread.join()
    progress.finish(returncode)
    return returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="steps.py", description="Run one setup step: a header, the command, its elapsed time."
    )
    parser.add_argument("--step", help="the step's number, e.g. 2/4")
    parser.add_argument("title")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    steps = Steps()
    try:
        with steps.step(args.title, args.step):
            print(f"    $ {shlex.join(command)}", flush=True)
            if is_pip_install(command):
                returncode = run_with_progress(command, PipProgress())
            else:
                returncode = subprocess.run(command, check=False).returncode
            if returncode:
                raise SystemExit(returncode)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exit_:
        return int(exit_.code or 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
