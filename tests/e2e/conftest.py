"""The end-to-end stack: a MiniStack of its own on a free loopback port, template.yaml built and
deployed to it with the SAM CLI, the demo data seeded, and the :3000-style proxy in front."""

from dataclasses import dataclass

import pytest

from etp_admin import demo
from etp_admin import stack as stacks
from etp_local import deploy
from etp_local.ministack import MiniStack, free_port
from etp_local.proxy import Proxy

STACK_NAME = "etp-e2e"


@dataclass
class Deployment:
    api: str  # the proxy, as a browser front end would use it
    endpoint: str  # MiniStack's AWS API endpoint
    stack: stacks.Stack


@pytest.fixture(scope="session")
def deployment(tmp_path_factory):
    logs = tmp_path_factory.mktemp("ministack")
    ministack = MiniStack(free_port(), log_path=logs / "ministack.log").start()
    proxy = None
    try:
        deploy.build(ministack.endpoint)
        deploy.deploy(ministack.endpoint, stack_name=STACK_NAME)
        stack = stacks.resolve("local", stack_name=STACK_NAME, endpoint_url=ministack.endpoint)
        stack.bind_data_layer()
        from etp.users_table import DynamoUserStore

        demo.seed_accounts(DynamoUserStore(), demo.DEFAULT_DEMO_PASSWORD)
        upstream = f"{ministack.endpoint}/_aws/execute-api/{stack.outputs['ApiId']}/{stack.outputs['ApiStage']}"
        proxy = Proxy(free_port(), upstream).start()
        yield Deployment(api=proxy.url, endpoint=ministack.endpoint, stack=stack)
    finally:
        if proxy is not None:
            proxy.stop()
        ministack.stop()
