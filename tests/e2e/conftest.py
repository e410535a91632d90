"""The end-to-end stack: a MiniStack of its own on a free loopback port, template.yaml built and
deployed to it with the SAM CLI, the pending data migrations run and the demo data seeded (as
`make run` does), and the :3000-style proxy in front."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from etp_admin import demo, migrations
from etp_admin import stack as stacks
from etp_devnode.server import DevNode
from etp_local import deploy
from etp_local.ministack import MiniStack, free_port
from etp_local.proxy import Proxy

STACK_NAME = "etp-e2e"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test in this folder is marked `e2e`, so that `-m "not e2e"` leaves the stack out. The
    contract fuzzer runs last: its random bids, offers and accounts would disturb the other tests."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.path.name == "test_openapi_fuzz_e2e.py")


@dataclass
class Deployment:
    api: str  # the proxy, as a browser front end would use it
    events: str  # the proxy's WebSocket URL of the real-time events (ws://.../events; add ?token=<bearer>)
    endpoint: str  # MiniStack's AWS API endpoint
    stack: stacks.Stack
    node: str  # the IOTA dev node
    meters: Path  # the demo meters' credentials


@pytest.fixture(scope="session")
def deployment(tmp_path_factory):
    state = tmp_path_factory.mktemp("e2e")
    ministack = MiniStack(free_port(), log_path=state / "ministack.log").start()
    node = DevNode("127.0.0.1", 0).start()
    proxy = None
    try:
        deploy.build(ministack.endpoint)
        deploy.deploy(
            ministack.endpoint,
            stack_name=STACK_NAME,
            parameter_overrides=deploy.local_parameters(node.url, ministack.endpoint),
        )
        stack = stacks.resolve("local", stack_name=STACK_NAME, endpoint_url=ministack.endpoint)
        stack.bind_data_layer()
        migrations.run_pending(by="e2e")  # as make run does, before its demo data
        demo.seed_stack(stack, state / "meters", node_url=node.url)
        outputs, base = stack.outputs, deploy.execute_api_base(ministack.endpoint)
        upstream = f"{base}/{outputs['ApiId']}/{outputs['ApiStage']}"
        events = f"{base.replace('http', 'ws', 1)}/{outputs['EventsApiId']}/{outputs['EventsStage']}"
        proxy = Proxy(free_port(), upstream, events=events).start()
        yield Deployment(
            api=proxy.url,
            events=proxy.url.replace("http", "ws", 1) + "/events",
            endpoint=ministack.endpoint,
            stack=stack,
            node=node.url,
            meters=state / "meters",
        )
    finally:
        if proxy is not None:
            proxy.stop()
        node.stop()
        ministack.stop()
