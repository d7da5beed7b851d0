"""``python -m include.local_sagemaker serve --host 127.0.0.1 --port PORT --state-dir DIR``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from include.local_sagemaker.engine import LocalSageMaker
from include.local_sagemaker.frameworks import environments
from include.local_sagemaker.object_store import ObjectStore

STORE_ACCESS_KEY_VARIABLE = "LOCAL_SAGEMAKER_STORE_ACCESS_KEY_ID"
STORE_SECRET_KEY_VARIABLE = "LOCAL_SAGEMAKER_STORE_SECRET_ACCESS_KEY"


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
    serve.add_argument(
        "--object-store",
        metavar="URL",
        help="S3 endpoint of a SeaweedFS (or other S3 store) running as a service of its own, reached "
        f"with the credentials in ${STORE_ACCESS_KEY_VARIABLE} and ${STORE_SECRET_KEY_VARIABLE}; "
        "without it the engine runs its own SeaweedFS under --state-dir",
    )
    serve.add_argument(
        "--build-frameworks",
        metavar="NAME",
        nargs="+",
        default=[],
        help="framework environments to build (or find built) before serving, e.g. mxnet-1.6 sklearn-1.2 "
        f"(of {', '.join(environments.names())}); building needs the package index the first time",
    )
    arguments = parser.parse_args(argv)
    unknown = sorted(set(arguments.build_frameworks) - set(environments.names()))
    if unknown:
        parser.error(f"--build-frameworks: unknown environments {unknown}; known: {environments.names()}")
    for name in arguments.build_frameworks:
        print(f"framework environment {name}: {environments.build(name)}", flush=True)
    store = None
    if arguments.object_store:
        credentials = [
            os.environ.get(name) for name in (STORE_ACCESS_KEY_VARIABLE, STORE_SECRET_KEY_VARIABLE)
        ]
        if not all(credentials):
            parser.error(
                f"--object-store needs the store's credentials in ${STORE_ACCESS_KEY_VARIABLE} and "
                f"${STORE_SECRET_KEY_VARIABLE}"
            )
        store = ObjectStore(arguments.object_store, *credentials)
    try:
        engine = LocalSageMaker(
            arguments.state_dir, arguments.host, arguments.port, arguments.allow_remote, object_store=store
        )
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
