"""`make run`: MiniStack on loopback, the SAM app deployed to it, its data migrations, demo data,
and the API on :3000.

Stays in the foreground with logs; Ctrl-C (or SIGTERM) stops everything it started within 10 s, under
load too: the proxy, the dev node, then MiniStack, which saves its state first and is then given 5 s
before its process group (it and its Lambda workers) is ended. State lives in .local/ (git-ignored),
so a second run reuses the deployed stack and the data. MiniStack also saves its state every
ETP_STATE_SAVE_SECONDS (60), so a kill or a crash loses at most that much; the dev node writes each
transaction as it comes.
"""

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from etp_admin import demo, migrations
from etp_admin import stack as stacks
from etp_admin.cli.common import Progress
from etp_devnode.server import DevNode
from etp_local import deploy
from etp_local.logtail import LogTail
from etp_local.ministack import MiniStack, default_lambda_concurrency
from etp_local.proxy import Proxy
from etp_local.steps import Steps

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local"
STOP_WAIT = 5  # seconds MiniStack gets to shut down after its state is saved, before its group is killed


def upstream_limit(lambda_concurrency: int) -> int:
    """Requests the proxy lets through at once: one Lambda slot fewer than the cap (at least one), kept
    for the scheduled jobs and the WebSocket handshakes, which do not pass through the proxy."""
    return max(1, lambda_concurrency - 1)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="etp-local", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=3000, help="API port on 127.0.0.1 (default 3000)")
    parser.add_argument("--ministack-port", type=int, default=4566)
    parser.add_argument("--node-port", type=int, default=14265, help="IOTA dev node port (default 14265)")
    parser.add_argument(
        "--lambda-concurrency",
        type=int,
        default=None,
        help="Lambda invocations at once (default ETP_LAMBDA_CONCURRENCY, else twice the cores, at least 4)",
    )
    parser.add_argument(
        "--save-every",
        type=float,
        default=float(os.environ.get("ETP_STATE_SAVE_SECONDS") or 60),
        help="seconds between MiniStack's state saves (default ETP_STATE_SAVE_SECONDS, else 60; 0: only on stop)",
    )
    parser.add_argument("--state-dir", type=Path, default=STATE, help="where the state lives (default .local/)")
    return parser.parse_args(argv)


def run_migrations() -> None:
    """The pending data migrations, as `etp-admin migrate` runs them after every deployment."""
    done = migrations.run_pending(by="make run", counter=Progress)
    for entry in done:
        counts = ", ".join(f"{name} {value}" for name, value in entry["result"].items())
        print(f"    {entry['id']:<28} {counts}", flush=True)
    if not done:
        print("    none pending", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    state = args.state_dir.resolve()
    shown = state.relative_to(ROOT) if state.is_relative_to(ROOT) else state  # .local, as the messages say it
    # The proxy's request lines (etp.*) at INFO; libraries (botocore, pynamodb) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("etp").setLevel(logging.INFO)

    state.mkdir(exist_ok=True)
    # MiniStack's own log (its banner, every Lambda's raw output, state saves) goes to a file: the
    # functions' logs are followed below the summary, and the step lines stay readable.
    concurrency = args.lambda_concurrency or default_lambda_concurrency()
    ministack = MiniStack(
        args.ministack_port,
        state_dir=state / "ministack-state",
        log_path=state / "ministack.log",
        save_every=args.save_every,
        lambda_concurrency=concurrency,
    )
    node = DevNode("127.0.0.1", args.node_port, state_path=state / "devnode.trytes")
    proxy = None
    tail = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    steps = Steps(7)
    try:
        with steps.step(f"starting MiniStack on {ministack.endpoint} (its log: {shown}/ministack.log)"):
            ministack.start()
        with steps.step(f"starting the IOTA dev node on 127.0.0.1:{args.node_port}"):
            node.start()
        with steps.step("sam build --cached --parallel (the first build takes a minute or two)"):
            deploy.build(ministack.endpoint)
        with steps.step("sam deploy --config-env local (to MiniStack)"):
            deploy.deploy(ministack.endpoint, parameter_overrides=deploy.local_parameters(node.url, ministack.endpoint))
            stack = stacks.resolve("local", endpoint_url=ministack.endpoint)
            stack.bind_data_layer()
        with steps.step("data migrations (etp-admin migrate, as after every deployment)"):
            run_migrations()
        with steps.step("demo data (accounts' password from DEMO_PASSWORD)"):
            for name, outcome in demo.seed_stack(stack, state / "meters", node_url=node.url):
                print(f"    {name:<16} {outcome}", flush=True)
        with steps.step(f"API proxy on 127.0.0.1:{args.port}, following the functions' logs"):
            outputs = stack.outputs
            base = deploy.execute_api_base(ministack.endpoint)
            upstream = f"{base}/{outputs['ApiId']}/{outputs['ApiStage']}"
            events = f"{base.replace('http', 'ws', 1)}/{outputs['EventsApiId']}/{outputs['EventsStage']}"
            proxy = Proxy(args.port, upstream, events=events, max_upstream=upstream_limit(concurrency)).start()
            tail = LogTail(stack, prefix=f"/aws/lambda/{stack.name}-").start()
        print(f"==> ready in {steps.elapsed()}", flush=True)
        login = '{"account": "Aggregator", "password": "<DEMO_PASSWORD>"}'
        print(
            f"""
  API           {proxy.url}  (proxy to {upstream})
  Events        {proxy.url.replace("http", "ws", 1)}/events?token=<bearer>  (WebSocket, proxy to {events})
  MiniStack     {ministack.endpoint}  (stack {stack.name}; state in {shown}/ministack-state, saved every
                {args.save_every:g} s and on stop; {concurrency} Lambda invocations at once, the API's requests
                past {upstream_limit(concurrency)} wait in the proxy)
  IOTA dev node {node.url}  (transactions in {shown}/devnode.trytes)
  demo meters   {shown}/meters/<account>.json (token and private key, for the simulators)
  operator CLI  .venv/bin/etp-admin --env local accounts list
  try           curl -s -X POST {proxy.url}/login -H 'Content-Type: application/json' -d '{login}'

  Function logs follow below. Ctrl-C stops everything.
""",
            flush=True,
        )
        assert ministack.process is not None
        ministack.process.wait()
        print(f"MiniStack exited with {ministack.process.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n==> stopping (MiniStack saves its state; at most 10 s)", flush=True)
        return 0
    except Exception as error:
        print(f"etp-local: {error}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the stop short: it would leave MiniStack and its workers running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if tail is not None:
            tail.stop()
        if proxy is not None:
            proxy.stop()
        node.stop()
        ministack.stop(timeout=STOP_WAIT)


if __name__ == "__main__":
    sys.exit(main())
