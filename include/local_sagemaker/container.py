"""The algorithm container, without Docker: ``python -m include.local_sagemaker.container train|serve``.

``train`` follows SageMaker's training contract: it reads the ``/opt/ml``-style tree under
``SAGEMAKER_BASE_DIR`` (the engine prepared it), runs what the image URI selects (a built-in algorithm,
or a framework image's own training toolkit in its environment, ``frameworks``), writes
``output/success`` or ``output/failure`` (whose first 1024 characters become the job's ``FailureReason``)
and exits 0 or non-zero.

``serve`` follows the hosting contract: it loads the model once (or starts a framework image's own model
server in its environment), then answers ``GET /ping`` and ``POST /invocations`` over HTTP. The server
prints ``serving port=<port>`` once it listens, so the engine can bind it to port 0 and learn the port
without a race.

Both die with the engine that started them (even by SIGKILL), as a SageMaker instance would be torn
down, and take every process they started with them when they end (``process_tree``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path

from include.local_sagemaker import process_tree
from include.local_sagemaker.algorithms import registry
from include.local_sagemaker.algorithms.base import (
    Algorithm,
    InferenceError,
    Predictor,
    TrainingContext,
)
from include.local_sagemaker.failures import JobFailure
from include.local_sagemaker.frameworks import launch
from include.local_sagemaker.frameworks.catalog import UnsupportedFrameworkVersion, framework_image
from include.local_sagemaker.frameworks.container.model_server import serve_http
from include.local_sagemaker.frameworks.environments import EnvironmentNotBuilt

IMAGE_VARIABLE = "LOCAL_SAGEMAKER_IMAGE"
# Script mode is chosen by these, whatever the image (an XGBoost image runs either way).
SCRIPT_MODE_HYPERPARAMETER = "sagemaker_program"
SCRIPT_MODE_VARIABLE = "SAGEMAKER_PROGRAM"


def _write_failure(context_failure_file: Path, reason: str) -> None:
    # As the training toolkit does: an algorithm that wrote its own failure file keeps its words.
    if not context_failure_file.exists():
        context_failure_file.parent.mkdir(parents=True, exist_ok=True)
        context_failure_file.write_text(reason)


def training_algorithm(image: str, hyperparameters: dict) -> Algorithm:
    """The algorithm a training job runs: script mode if it names an entry point, else the image's."""
    if SCRIPT_MODE_HYPERPARAMETER in hyperparameters:
        return registry.script_mode_algorithm()
    return registry.lookup(image)


def serving_algorithm(image: str, environment: dict | None = None) -> Algorithm:
    """The algorithm a model container serves with: script mode if its environment names a program."""
    if (environment if environment is not None else os.environ).get(SCRIPT_MODE_VARIABLE):
        return registry.script_mode_algorithm()
    return registry.lookup(image)


def _run_framework(argv: list[str], environment: dict[str, str], *, stop_gracefully: bool) -> int:
    """Run a framework image's own process (its training toolkit or model server) as this container's
    child, which dies with it (``process_tree`` rule 3); returns its exit code.

    ``stop_gracefully``: a SIGTERM (StopTrainingJob) reaches the whole process group, the user's script
    included, which may save its state; this container outlives the toolkit until the script is done
    (or the engine's SIGKILL ends the grace period), rather than killing it early on its way out.
    """
    process = subprocess.Popen(argv, env=environment, preexec_fn=process_tree.dies_with_this_process())
    if not stop_gracefully:
        return process.wait()
    stopping = threading.Event()
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        return_code = process.wait()
        if stopping.is_set():
            process_tree.wait_for_group()
        return return_code
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def train(base_dir: Path, image: str, job_name: str) -> int:
    """Run one training job in ``base_dir``; returns the process exit code."""
    context = TrainingContext.from_base_dir(base_dir, job_name=job_name)
    context.model_dir.mkdir(parents=True, exist_ok=True)
    context.output_data_dir.mkdir(parents=True, exist_ok=True)
    try:
        framework = framework_image(image)
        if framework is not None:
            return _run_framework(*launch.training_command(framework, base_dir), stop_gracefully=True)
        algorithm = training_algorithm(image, context.hyperparameters)
        algorithm.train(context)
    except JobFailure as failure:
        print(f"Training failed: {failure}", file=sys.stderr, flush=True)
        _write_failure(context.failure_file, str(failure))
        return 1
    except (registry.UnknownImage, UnsupportedFrameworkVersion, EnvironmentNotBuilt) as unknown:
        print(str(unknown), file=sys.stderr, flush=True)
        _write_failure(context.failure_file, f"ClientError: {unknown}")
        return 1
    except Exception as error:
        traceback.print_exc()
        sys.stderr.flush()
        _write_failure(context.failure_file, f"AlgorithmError: {error} (caused by {type(error).__name__})")
        return 2
    (base_dir / "output" / "success").touch()
    return 0


def _invoke_predictor(predictor: Predictor):
    def invoke(body: bytes, headers) -> tuple[int, bytes, str]:
        try:
            answer, content_type = predictor.invoke(body, headers.get("Content-Type"), headers.get("Accept"))
        except InferenceError as error:
            return error.status, error.message.encode(), "text/plain"
        return 200, answer, content_type

    return invoke


def serve(model_dir: Path, image: str, host: str, port: int) -> int:
    """Load the model and answer invocations until killed; returns non-zero if the model cannot load."""
    try:
        framework = framework_image(image)
        if framework is not None:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # main() then ends the model server
            return _run_framework(*launch.serving_command(framework, model_dir, port), stop_gracefully=False)
        predictor = serving_algorithm(image).load(model_dir)
    except Exception as error:
        traceback.print_exc()
        print(f"Failed to load model: {error}", file=sys.stderr, flush=True)
        return 3
    # The engine stops a model server with SIGTERM: end through ``main`` so that the processes the
    # user's inference code may have started go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve_http(_invoke_predictor(predictor), port, host)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.local_sagemaker.container")
    commands = parser.add_subparsers(dest="command", required=True)
    train_command = commands.add_parser("train", help="run a training job in SAGEMAKER_BASE_DIR")
    train_command.add_argument("--base-dir", default=os.environ.get("SAGEMAKER_BASE_DIR", "."))
    train_command.add_argument("--image", default=os.environ.get(IMAGE_VARIABLE, ""))
    train_command.add_argument("--job-name", default=os.environ.get("TRAINING_JOB_NAME", ""))
    serve_command = commands.add_parser("serve", help="serve a model over the container HTTP contract")
    serve_command.add_argument("--model-dir", required=True)
    serve_command.add_argument("--image", default=os.environ.get(IMAGE_VARIABLE, ""))
    serve_command.add_argument("--host", default="127.0.0.1")
    serve_command.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args(argv)
    process_tree.become_container()
    try:
        if arguments.command == "train":
            return train(Path(arguments.base_dir).resolve(), arguments.image, arguments.job_name)
        return serve(Path(arguments.model_dir), arguments.image, arguments.host, arguments.port)
    finally:
        process_tree.kill_descendants()


if __name__ == "__main__":
    sys.exit(main())
