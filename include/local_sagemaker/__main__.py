"""``python -m include.local_sagemaker serve --host 127.0.0.1 --port PORT --state-dir DIR``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from include.local_sagemaker.engine import LocalSageMaker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.local_sagemaker",
        description="Local SageMaker engine: S3, SageMaker, SageMaker runtime, CloudWatch Logs, STS and IAM "
        "on one port.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the engine until interrupted")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (loopback unless --allow-remote)"
    )
    serve.add_argument("--port", type=int, default=5000, help="port to listen on (0 picks a free one)")
    serve.add_argument(
        "--state-dir", required=True, help="directory holding S3 objects, jobs, models, endpoints, logs"
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the engine has no authentication)",
    )
    arguments = parser.parse_args(argv)
    try:
        engine = LocalSageMaker(arguments.state_dir, arguments.host, arguments.port, arguments.allow_remote)
    except ValueError as error:
        parser.error(str(error))
    # Engine bugs are logged with their tracebacks (the 500s they cause name only the operation).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine.start()
    print(
        f"local SageMaker engine listening on {engine.endpoint_url} (state in {engine.state_dir})", flush=True
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
