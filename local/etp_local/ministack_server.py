"""The MiniStack server process of the local stack: MiniStack's ASGI app served by hypercorn, as the
`ministack` command serves it, plus its state saved on a timer and at once when it is told to stop.

    python -m etp_local.ministack_server        (etp_local.ministack.MiniStack starts it)

Why not the `ministack` command: MiniStack 1.5.33 saves its state (PERSIST_STATE=1, STATE_DIR) only in
its ASGI lifespan's shutdown (ministack/app.py, `_handle_lifespan`, "lifespan.shutdown":
`save_all(_build_persistence_save_dict())`), and offers no endpoint, signal or setting to save while it
runs (`/_ministack/config` takes a fixed whitelist, none of it about persistence). A kill, a crash or a
shutdown that does not finish (under load, hypercorn waits for the requests in flight, and those wait
for Lambda workers) loses everything since the start. So this process calls the same two functions
itself: every `ETP_STATE_SAVE_SECONDS` (default 60; 0: never), and first thing on SIGTERM/SIGINT, before
hypercorn's graceful shutdown (which then saves once more, as MiniStack always does, unless requests
still in flight hold it up: the starter bounds that wait and then ends the process group). Each save runs on
the event loop, where MiniStack's DynamoDB requests run too, so no write lands halfway through it.
The first timed save waits for MiniStack's startup to finish (its persisted state is loaded there):
saving earlier would overwrite the saved state with an empty one.

What the `ministack` command does beside serving and is left out here: its PID file in /tmp, the
detached mode, TLS (USE_SSL). The listen backlog is 1024 (hypercorn's default 100 drops connections
in a burst), the keep-alive 75 s as MiniStack's.
"""

import asyncio
import contextlib
import logging
import os
import resource
import signal
import time

from hypercorn.asyncio import serve
from hypercorn.config import Config
from ministack import app as ministack_app
from ministack.core import persistence

log = logging.getLogger("etp.ministack")
SAVE_EVERY_ENV = "ETP_STATE_SAVE_SECONDS"


def save_state(why: str) -> None:
    """MiniStack's own shutdown save, now (call it on the event loop)."""
    if not persistence.PERSIST_STATE:
        return
    started = time.monotonic()
    persistence.save_all(ministack_app._build_persistence_save_dict())
    log.info("state saved (%s) in %.0f ms", why, (time.monotonic() - started) * 1000)


class Server:
    def __init__(self, save_every: float):
        self.save_every = save_every
        self.started = asyncio.Event()
        self.stopping = asyncio.Event()

    async def app(self, scope, receive, send) -> None:
        """MiniStack's app; notes when its lifespan startup (the state's load) has completed."""
        if scope["type"] != "lifespan":
            await ministack_app.app(scope, receive, send)
            return

        async def watched(message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.started.set()
            await send(message)

        await ministack_app.app(scope, receive, watched)

    async def save_on_a_timer(self) -> None:
        await self.started.wait()
        logging.getLogger("persistence").setLevel(logging.WARNING)  # one line a save (below), not one a service
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.save_every)
            if not self.stopping.is_set():
                save_state("timer")

    async def shutdown_trigger(self) -> None:
        await self.stopping.wait()
        if self.started.is_set():
            save_state("stopping")

    async def run(self, config: Config) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        timer = asyncio.create_task(self.save_on_a_timer()) if self.save_every > 0 else None
        await serve(self.app, config, shutdown_trigger=self.shutdown_trigger)  # type: ignore[arg-type]
        if timer is not None:
            timer.cancel()


def config() -> Config:
    settings = Config()
    settings.bind = [f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{ministack_app._resolve_port()}"]
    settings.keep_alive_timeout = 75
    settings.backlog = 1024
    settings.loglevel = ministack_app.LOG_LEVEL
    return settings


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # as `ministack` does: bursts need sockets
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    save_every = float(os.environ.get(SAVE_EVERY_ENV) or 60)
    asyncio.run(Server(save_every).run(config()))
    # Saved and shut down. What asyncio.run would wait for now are threads still running Lambda
    # invocations whose callers are gone (up to their timeouts); the starter ends the workers.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
