"""Cold-start cost of each function: median time to import its handler module in a fresh interpreter,
beside (and as a ratio to) `import boto3; boto3.client("dynamodb")` measured in the same run.

    make bench            (target: ratio <= 1.3 for every function)

The import path is Lambda's: the function's folder, then the built shared layer
(.aws-sam/build/SharedLayer/python, from `sam build`; layers/shared otherwise), then the venv.
The environment is a Lambda's, with the template's default (XRayTracing=PassThrough); the same
figures with the X-Ray SDK loaded (XRayTracing=Active) are printed beside them.
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

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


def lambda_like_env(tracing: bool) -> dict[str, str]:
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
        "PYTHONDONTWRITEBYTECODE": "",
    }


def layer_path() -> Path:
    built = ROOT / ".aws-sam" / "build" / "SharedLayer" / "python"
    return built if built.is_dir() else ROOT / "layers" / "shared"


def measure(statement: str, paths: list[str], tracing: bool = False) -> float:
    code = PROBE.format(paths=paths, statement=statement)
    env = lambda_like_env(tracing)
    # One warm-up run so every measured run reads compiled bytecode, as a deployed function does.
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> int:
    layer = str(layer_path())
    baseline = measure(BASELINE, [layer])
    print(f"cold start: median of {RUNS} fresh interpreters; layer from {os.path.relpath(layer, ROOT)}")
    print(f"{'module':<28}{'import (ms)':>12}{'ratio':>8}   {'with X-Ray (ms)':>16}{'ratio':>8}")
    print(f"{'boto3 + dynamodb client':<28}{baseline * 1000:>12.1f}{1:>8.2f}")
    worst = 0.0
    for app_py in sorted((ROOT / "functions").glob("*/app.py")):
        paths = [str(app_py.parent), layer]
        seconds = measure("import app", paths)
        traced = measure("import app", paths, tracing=True)
        worst = max(worst, seconds / baseline)
        print(f"{'functions/' + app_py.parent.name:<28}{seconds * 1000:>12.1f}{seconds / baseline:>8.2f}   "
              f"{traced * 1000:>16.1f}{traced / baseline:>8.2f}")
    print(f"worst ratio {worst:.2f} (target <= {TARGET}, default XRayTracing=PassThrough)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
