"""Cold-start cost of each function: the time to import its handler module in a fresh interpreter,
as a ratio to `import boto3; boto3.client("dynamodb")` measured right beside it.

    make bench            (target: ratio <= 1.3 for every function)

Robust against machine load. Absolute import times move with whatever else the machine does, so
the verdict rests on ratios taken in pairs: each round runs, for every function, the baseline and
the function's import back to back in fresh interpreters (the order alternates from round to round,
so a slow drift does not favour either side), and the ratio of that pair is one sample. A
function's ratio is the median of its BENCH_RUNS pair ratios (default 9); the absolute times
printed beside it are medians too, for context only. A load change between two pairs moves both
halves of the later pair and leaves the ratio alone; a burst inside one pair is one sample out of
nine and the median drops it. The range of the pair ratios is printed so a noisy run shows.

Which functions: every AWS::Serverless::Function in template.yaml, with its CodeUri folder and the
module of its Handler (`app.lambda_handler` -> `app`); nothing names the layer's modules, so
moving modules inside `etp` needs no change here.

The import path is Lambda's: the function's folder, then the built shared layer
(.aws-sam/build/SharedLayer/python, from `sam build`, when its copy of the layer's sources is
current; layers/shared otherwise, so a stale build is never measured), then the venv.
The environment is a Lambda's, with the template's default (XRayTracing=PassThrough); the same
figures with the X-Ray SDK loaded (XRayTracing=Active) are printed beside them.

Bytecode. Every measured import reads compiled bytecode and compiles nothing, on both sides of
the ratio: boto3 and botocore in the Lambda runtime ship compiled, and compiling is a one-off
cost of whoever packages the code (a layer or function zip can ship its .pyc too), not what this
benchmark compares; counting it on one side only would make the ratio measure the compiler.
The bytecode lives in a temporary directory (PYTHONPYCACHEPREFIX), never beside the sources:
one warm-up run per probe compiles into it, the measured runs only read it
(PYTHONDONTWRITEBYTECODE=1), and it is deleted at the end. Nothing is written into the
repository, which other people may be reorganising while this runs.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
TARGET = 1.3

PROBE = """
import sys, time, json
sys.path[:0] = {paths!r}
started = time.perf_counter()
{statement}
print(json.dumps(time.perf_counter() - started))
"""
BASELINE = 'import boto3\nboto3.client("dynamodb")'


class _CfnLoader(yaml.SafeLoader):
    """template.yaml with its CloudFormation tags (!Ref, !GetAtt, ...) read as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@dataclass(frozen=True)
class Function:
    name: str  # the folder under functions/, as printed
    folder: Path
    module: str


def _function(logical_id: str, properties: dict, default_handler: str | None) -> Function:
    """A function of the template, from its properties: its folder (CodeUri) and handler's module."""
    code_uri, handler = properties.get("CodeUri"), properties.get("Handler") or default_handler
    if not isinstance(code_uri, str) or not isinstance(handler, str):
        raise SystemExit(f"coldstart: {logical_id} has no local CodeUri/Handler in template.yaml")
    folder = (ROOT / code_uri).resolve()
    return Function(os.path.relpath(folder, ROOT), folder, handler.rsplit(".", 1)[0])


def template_functions() -> list[Function]:
    """The functions template.yaml declares (Globals supply a Handler a function leaves out)."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 (SafeLoader)
    default_handler = ((template.get("Globals") or {}).get("Function") or {}).get("Handler")
    functions = [
        _function(logical_id, resource.get("Properties") or {}, default_handler)
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    if not functions:
        raise SystemExit("coldstart: template.yaml declares no AWS::Serverless::Function")
    return sorted(functions, key=lambda function: function.name)


def lambda_like_env(tracing: bool, pycache: str) -> dict[str, str]:
    return {
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_SERVICE_NAME": "energy-trading-platform",
        "POWERTOOLS_METRICS_NAMESPACE": "EnergyTradingPlatform",
        "USERS_TABLE": "bench-users",
        "JWT_SECRET_ID": "bench-jwt",
        "PYTHONPYCACHEPREFIX": pycache,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def stale_files(built: Path, source: Path) -> list[str]:
    """The layer's Python sources the build lacks or holds in another version, and modules only the build has."""
    stale = []
    for path in sorted(source.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        copy = built / path.relative_to(source)
        if not copy.is_file() or copy.read_bytes() != path.read_bytes():
            stale.append(str(path.relative_to(source)))
    for package in (entry.name for entry in source.iterdir() if entry.is_dir()):  # modules moved or deleted since
        for copy in sorted((built / package).rglob("*.py")):
            if not (source / copy.relative_to(built)).is_file():
                stale.append(str(copy.relative_to(built)))
    return stale


def layer_path() -> tuple[Path, str]:
    """The built layer when it matches the sources, else the sources; and a note saying which."""
    built, source = ROOT / ".aws-sam" / "build" / "SharedLayer" / "python", ROOT / "layers" / "shared"
    if not built.is_dir():
        return source, "no sam build"
    stale = stale_files(built, source)
    if stale:
        return source, f"the sam build is stale ({len(stale)} files differ, e.g. {stale[0]})"
    return built, "the sam build matches the sources"


class Probe:
    """One statement run in fresh interpreters, with bytecode from a private cache."""

    def __init__(self, label: str, statement: str, paths: list[str], pycache: str, tracing: bool = False):
        self.label = label
        self.code = PROBE.format(paths=paths, statement=statement)
        self.env = lambda_like_env(tracing, pycache)
        # The warm-up writes the bytecode (into the private cache only); measured runs just read it.
        self._run({**self.env, "PYTHONDONTWRITEBYTECODE": ""})

    def _run(self, env: dict[str, str]) -> str:
        out = subprocess.run([sys.executable, "-c", self.code], env=env, check=False, capture_output=True, text=True)
        if out.returncode:
            last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SystemExit(f"coldstart: {self.label}: the import fails: {last}")
        return out.stdout

    def run(self) -> float:
        return json.loads(self._run(self.env).strip().splitlines()[-1])


@dataclass
class Pairs:
    """(baseline, module) seconds, one pair per round."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def measure(self, baseline: Probe, probe: Probe, module_first: bool) -> None:
        if module_first:
            seconds = probe.run()
            self.samples.append((baseline.run(), seconds))
        else:
            base = baseline.run()
            self.samples.append((base, probe.run()))

    @property
    def ratios(self) -> list[float]:
        return [seconds / base for base, seconds in self.samples]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def seconds(self) -> float:
        return statistics.median(seconds for _, seconds in self.samples)

    @property
    def baseline(self) -> float:
        return statistics.median(base for base, _ in self.samples)


def _measure(functions: list[Function], layer: str, pycache: str) -> tuple[dict[str, Pairs], dict[str, Pairs]]:
    """(without, with X-Ray) each function's pairs of RUNS rounds, the module first every other round."""
    baseline = Probe("baseline", BASELINE, [layer], pycache)
    probes = {}
    for function in functions:
        paths = [str(function.folder), layer]
        statement = f"import {function.module}"
        probes[function.name] = (
            Probe(function.name, statement, paths, pycache),
            Probe(f"{function.name} (X-Ray)", statement, paths, pycache, tracing=True),
        )
    plain = {name: Pairs() for name in probes}
    traced = {name: Pairs() for name in probes}
    for round_ in range(RUNS):
        for name, (probe, traced_probe) in probes.items():
            plain[name].measure(baseline, probe, module_first=round_ % 2 == 1)
            traced[name].measure(baseline, traced_probe, module_first=round_ % 2 == 0)
    return plain, traced


def _print_row(name: str, pairs: Pairs, xray: Pairs) -> None:
    spread = f"{min(pairs.ratios):.2f}-{max(pairs.ratios):.2f}"
    print(
        f"{name:<28}{pairs.seconds * 1000:>12.1f}{pairs.baseline * 1000:>11.1f}{pairs.ratio:>8.2f}{spread:>13}"
        f"   {xray.seconds * 1000:>16.1f}{xray.ratio:>8.2f}"
    )


def main() -> int:
    layer_dir, layer_note = layer_path()
    layer = str(layer_dir)
    functions = template_functions()
    with tempfile.TemporaryDirectory(prefix="etp-coldstart-pycache-") as pycache:
        plain, traced = _measure(functions, layer, pycache)

    all_baselines = [base for pairs in (*plain.values(), *traced.values()) for base, _ in pairs.samples]
    print(
        f"cold start: {RUNS} rounds of (baseline, module) pairs in fresh interpreters; ratio = median of the "
        f"pair ratios; layer from {os.path.relpath(layer, ROOT)} ({layer_note})"
    )
    print(
        f"{'module':<28}{'import (ms)':>12}{'base (ms)':>11}{'ratio':>8}{'range':>13}"
        f"   {'with X-Ray (ms)':>16}{'ratio':>8}"
    )
    print(
        f"{'boto3 + dynamodb client':<28}{statistics.median(all_baselines) * 1000:>12.1f}{'':>11}{1:>8.2f}"
        f"{min(all_baselines) * 1000:>6.0f}-{max(all_baselines) * 1000:.0f} ms"
    )
    worst_name, worst = "", 0.0
    for name in plain:
        pairs, xray = plain[name], traced[name]
        if pairs.ratio > worst:
            worst_name, worst = name, pairs.ratio
        _print_row(name, pairs, xray)
    verdict = "OK" if worst <= TARGET else "OVER TARGET"
    print(f"worst ratio {worst:.2f} ({worst_name}; target <= {TARGET}, default XRayTracing=PassThrough): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
