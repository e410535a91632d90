"""`etp-devnode [--host 127.0.0.1] [--port 14265] [--state FILE] [--max-find-transactions N]`: run the dev
node until interrupted."""

import argparse
import signal
import threading

from etp_devnode.server import MAX_FIND_TRANSACTIONS, DevNode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="etp-devnode", description="IRI-compatible IOTA dev node (no PoW).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=14265, help="port (default: 14265, IRI's; 0 = any free)")
    parser.add_argument("--state", metavar="FILE", help="keep the tangle in FILE (append-only) across restarts")
    parser.add_argument(
        "--max-find-transactions",
        type=int,
        default=MAX_FIND_TRANSACTIONS,
        metavar="N",
        help=f"refuse a findTransactions answer of more than N hashes, as IRI (default: {MAX_FIND_TRANSACTIONS:,})",
    )
    args = parser.parse_args(argv)
    if args.max_find_transactions < 1:
        parser.error("--max-find-transactions must be positive")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    node = DevNode(args.host, args.port, args.state, max_find_transactions=args.max_find_transactions).start()
    print(f"etp-devnode listening on {node.url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


if __name__ == "__main__":
    main()
