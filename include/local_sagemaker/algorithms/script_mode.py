"""Script mode: the user's own entry point, run and served the way SageMaker's framework images do.

Training follows the sagemaker-training-toolkit contract (``reference/sagemaker_formats.md`` §4.5): the
engine has extracted the ``sagemaker_submit_directory`` archive to ``<base>/code``; the entry point
``sagemaker_program`` runs there with the user's hyperparameters as command-line arguments
(``--epochs 10``) and in ``SM_HP_<NAME>``, the channels in ``SM_CHANNEL_<NAME>``, the model directory in
``SM_MODEL_DIR``; a non-zero exit writes ``output/failure`` in the toolkit's ``ExecuteUserScriptError``
wording. Serving follows the sagemaker-inference-toolkit handler contract (§4.6): ``model_fn`` once,
then ``transform_fn`` or ``input_fn`` -> ``predict_fn`` -> ``output_fn`` per request; a module without
``model_fn`` fails to load (:data:`NO_MODEL_FN`).

This runs the entry points of the images that have no framework environment of their own
(``include/local_sagemaker/frameworks`` runs MXNet, PyTorch and scikit-learn through AWS's toolkits):
the XGBoost image in script mode, whose container toolkit is not published. The script runs with the
interpreter and packages of the engine's own environment (xgboost, scikit-learn, numpy, pandas), and a
``requirements.txt`` in the source directory is not installed.
"""

from __future__ import annotations

import collections
import importlib.util
import inspect
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import numpy as np

from include.local_sagemaker import process_tree
from include.local_sagemaker.algorithms.base import InferenceError, TrainingContext
from include.local_sagemaker.failures import JobFailure

PROGRAM_HYPERPARAMETER = "sagemaker_program"
SUBMIT_DIRECTORY_HYPERPARAMETER = "sagemaker_submit_directory"
PROGRAM_VARIABLE = "SAGEMAKER_PROGRAM"
# The module a framework's model server imports when SAGEMAKER_PROGRAM is unset: the inference toolkit's
# default (``DEFAULT_MODULE_NAME`` in aws/sagemaker-inference-toolkit ``environment.py``), which the
# TensorFlow images serve through.
TOOLKIT_DEFAULT_PROGRAM = "inference.py"
# What the framework's default ``model_fn`` raises (NotImplementedError) when the user gave none:
# ``default_model_fn`` of aws/sagemaker-containers ``_transformer.py`` and of its
# ``handler_service.py``; one line here, as it becomes a FailureReason. The scikit-learn image's server
# (frameworks/container/sklearn_serving.py) words it the same.
NO_MODEL_FN = (
    "Please provide a model_fn implementation. "
    "See documentation for model_fn at https://github.com/aws/sagemaker-python-sdk"
)
_STDERR_TAIL_LINES = 20

JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"


def decode_hyperparameters(raw: dict[str, str]) -> dict:
    """Each value JSON-decoded, falling back to the raw string (the SDK JSON-encodes every value)."""
    decoded = {}
    for name, value in raw.items():
        try:
            decoded[name] = json.loads(value)
        except (TypeError, ValueError):
            decoded[name] = value
    return decoded


def split_hyperparameters(hyperparameters: dict) -> tuple[dict, dict]:
    """``(user hyperparameters, framework parameters)``: ``sagemaker_*`` keys belong to the framework."""
    user = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
    framework = {k: v for k, v in hyperparameters.items() if k.startswith("sagemaker_")}
    return user, framework


def _argument_value(value) -> str:
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in value.items())
    if isinstance(value, str):
        return value
    # The toolkit passes ``str(value)`` (``True``, ``0.1``); lists and dicts nested deeper stay JSON.
    return json.dumps(value) if isinstance(value, list) else str(value)


def command_line_arguments(user_hyperparameters: dict) -> list[str]:
    """The toolkit's ``to_cmd_args``: sorted ``--name value`` pairs (``-k value`` for one-letter names)."""
    arguments = []
    for name in sorted(user_hyperparameters):
        arguments += [
            f"-{name}" if len(name) == 1 else f"--{name}",
            _argument_value(user_hyperparameters[name]),
        ]
    return arguments


def _env_value(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _program_command(program: str, arguments: list[str]) -> list[str]:
    if program.endswith(".py"):
        return [sys.executable, program, *arguments]
    if program.endswith(".sh"):
        return ["/bin/sh", "-c", " ".join([f"./{program}", *map(shlex.quote, arguments)])]
    return [sys.executable, "-m", program, *arguments]


def script_environment(context: TrainingContext, user: dict, framework: dict, arguments: list[str]) -> dict:
    """The ``SM_*`` variables of the toolkit for the user script, on top of the container's environment.

    The engine already set the platform's variables; here the framework parameters are taken out of
    the hyperparameter variables and the entry-point variables are added.
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SM_HP_SAGEMAKER_") and key not in {"SM_HPS", "SM_TRAINING_ENV"}
    }
    program = framework[PROGRAM_HYPERPARAMETER]
    module_name = program[: -len(".py")] if program.endswith(".py") else program
    code_dir = str(context.base_dir / "code")
    training_env = json.loads(os.environ.get("SM_TRAINING_ENV") or "{}")
    training_env.update(
        hyperparameters=user,
        hps=user,
        framework_params=framework,
        user_entry_point=program,
        module_name=module_name,
        module_dir=code_dir,
        user_args=arguments,
        log_level=int(framework.get("sagemaker_container_log_level", 20)),
    )
    additions = {
        "SM_HPS": user,
        "SM_USER_ENTRY_POINT": program,
        "SM_FRAMEWORK_PARAMS": framework,
        "SM_MODULE_NAME": module_name,
        "SM_MODULE_DIR": code_dir,
        "SM_USER_ARGS": arguments,
        "SM_LOG_LEVEL": training_env["log_level"],
        "SM_TRAINING_ENV": training_env,
        "SM_MODEL_DIR": str(context.model_dir),
        "SM_OUTPUT_DATA_DIR": str(context.output_data_dir),
    }
    environment.update({key: _env_value(value) for key, value in additions.items()})
    environment.update({f"SM_HP_{name.upper()}": _env_value(value) for name, value in user.items()})
    environment.update(
        {f"SM_CHANNEL_{name.upper()}": str(channel.path) for name, channel in context.channels.items()}
    )
    # The script imports its sibling modules the way it would from /opt/ml/code.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [code_dir, os.environ.get("PYTHONPATH")]))
    return environment


def _execute_user_script_error(return_code: int, stderr_tail: list[str], command: list[str]) -> str:
    message = "\n".join(stderr_tail).strip()
    reason = (
        f'ExecuteUserScriptError:\nExitCode {return_code}\nErrorMessage "{message}"\n'
        f'Command "{" ".join(command)}"'
    )
    if return_code in (137, -9):
        reason += '\nExtraInfo "OutOfMemory: Process killed by SIGKILL (signal 9)"'
    return reason


class ScriptModeAlgorithm:
    """The user's entry point in place of a built-in algorithm; its model server loads the module
    ``SAGEMAKER_PROGRAM`` names, or the toolkit's default one."""

    # SageMaker's framework images, which run the user's own script.
    image_repositories = (
        "sagemaker-scikit-learn",
        "pytorch-training",
        "pytorch-inference",
        "mxnet-training",
        "mxnet-inference",
        "tensorflow-training",
        "tensorflow-inference",
    )
    # The user's metrics come from the job's own AlgorithmSpecification.MetricDefinitions.
    metric_definitions: tuple[dict[str, str], ...] = ()

    def train(self, context: TrainingContext) -> None:
        user, framework = split_hyperparameters(decode_hyperparameters(context.hyperparameters))
        program = framework.get(PROGRAM_HYPERPARAMETER)
        if not program or not isinstance(program, str):
            raise JobFailure(
                f"ClientError: hyperparameter {PROGRAM_HYPERPARAMETER!r} (the entry point) is required to "
                "run a framework image in script mode; got "
                f"{context.hyperparameters.get(PROGRAM_HYPERPARAMETER)!r}"
            )
        code_dir = context.base_dir / "code"
        if not (code_dir / program).exists() and not (code_dir / program.replace(".", "/")).exists():
            found = sorted(p.name for p in code_dir.iterdir()) if code_dir.exists() else []
            raise JobFailure(
                f"ClientError: entry point {program!r} is not in the source directory "
                f"({framework.get(SUBMIT_DIRECTORY_HYPERPARAMETER)!r}); it holds {found}"
            )
        if (code_dir / "requirements.txt").exists():
            print(
                "local engine: requirements.txt is not installed; the script runs with the engine's own "
                f"Python environment ({sys.executable})",
                flush=True,
            )
        arguments = command_line_arguments(user)
        command = _program_command(program, arguments)
        print(f"Invoking script with the following command:\n{' '.join(command)}", flush=True)
        process = subprocess.Popen(
            command,
            cwd=code_dir,
            env=script_environment(context, user, framework, arguments),
            stdout=None,  # the container's stdout: the engine streams it to CloudWatch Logs
            stderr=subprocess.PIPE,
            # Even if the script leaves the container's process group, it dies with the container.
            preexec_fn=process_tree.dies_with_this_process(),
        )
        # The engine stops a job with SIGTERM to the container's process group, the script included,
        # then SIGKILL after a grace period in which the script may save its model, as SageMaker
        # treats a stopped container. This process waits for the script rather than dying first
        # (which would SIGKILL the script, see above).
        previous_handler = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)

        def relay_stderr() -> None:
            for raw in process.stderr:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                tail.append(line)
                print(line, file=sys.stderr, flush=True)

        relay = threading.Thread(target=relay_stderr, name="user-stderr", daemon=True)
        relay.start()
        try:
            return_code = process.wait()
        finally:
            signal.signal(signal.SIGTERM, previous_handler)
        # The container's job ends with the script's: what the script left running goes now (it
        # would also hold the stderr pipe open).
        process_tree.kill_descendants()
        relay.join(timeout=5)
        if return_code != 0:
            reason = _execute_user_script_error(return_code, list(tail), command)
            context.failure_file.parent.mkdir(parents=True, exist_ok=True)
            context.failure_file.write_text(reason)
            raise JobFailure(reason)

    def load(self, model_dir: Path) -> ScriptPredictor:
        program = os.environ.get(PROGRAM_VARIABLE) or TOOLKIT_DEFAULT_PROGRAM
        code_dir = model_dir / "code"
        path = code_dir / program
        if not path.exists():
            raise FileNotFoundError(
                f"The inference script {program!r} ({PROGRAM_VARIABLE}) is not in {code_dir}; package it "
                "in model.tar.gz under code/ or name a source directory in SAGEMAKER_SUBMIT_DIRECTORY"
            )
        sys.path.insert(0, str(code_dir))
        spec = importlib.util.spec_from_file_location(f"user_module_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return ScriptPredictor(module, model_dir)


class _Context:
    """The ``context`` argument handlers may accept (the toolkit passes the model server's)."""

    def __init__(self, model_dir: Path):
        self.system_properties = {"model_dir": str(model_dir), "gpu_id": None}


def _call(handler, *arguments, context: _Context):
    """Call a user handler, adding the trailing ``context`` argument if its signature takes one more."""
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return handler(*arguments)
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) == len(arguments) + 1:
        return handler(*arguments, context)
    return handler(*arguments)


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def default_input_fn(data, content_type: str):
    """The inference toolkit's decoder: JSON and CSV to NumPy arrays, NPY loaded."""
    media = _media_type(content_type)
    try:
        if media == JSON:
            return np.array(json.loads(data))
        if media == CSV:
            return np.genfromtxt(io.StringIO(data), delimiter=",", ndmin=2)
        if media == NPY:
            return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise InferenceError(400, f"Unable to decode the {media} payload: {error}") from error
    raise InferenceError(
        415, f"Content type {content_type} is not supported by this framework. Use {JSON}, {CSV} or {NPY}."
    )


def default_predict_fn(data, model):
    """The scikit-learn container's default: ``model.predict``."""
    if not hasattr(model, "predict"):
        raise InferenceError(
            500, f"The model ({type(model).__name__}) has no predict method; define predict_fn in the script"
        )
    return model.predict(data)


def default_output_fn(prediction, accept: str):
    """The inference toolkit's encoder: the first of the accepted types among JSON, CSV and NPY."""
    array = np.asarray(prediction)
    for media in (_media_type(part) for part in accept.split(",")):
        if media == JSON:
            return json.dumps(array.tolist()), JSON
        if media == CSV:
            buffer = io.StringIO()
            np.savetxt(buffer, array if array.ndim else array.reshape(1), fmt="%s", delimiter=",")
            return buffer.getvalue(), CSV
        if media == NPY:
            buffer = io.BytesIO()
            np.save(buffer, array)
            return buffer.getvalue(), NPY
    raise InferenceError(
        406, f"Accept {accept} is not supported by this framework. Use {JSON}, {CSV} or {NPY}."
    )


class ScriptPredictor:
    """A user module's handlers around the model its ``model_fn`` loaded."""

    def __init__(self, module, model_dir: Path):
        self.context = _Context(model_dir)
        self.transform_fn = getattr(module, "transform_fn", None)
        self.input_fn = getattr(module, "input_fn", default_input_fn)
        self.predict_fn = getattr(module, "predict_fn", default_predict_fn)
        self.output_fn = getattr(module, "output_fn", default_output_fn)
        if self.transform_fn and any(hasattr(module, h) for h in ("input_fn", "predict_fn", "output_fn")):
            raise ValueError(
                "transform_fn cannot be used together with input_fn, predict_fn or output_fn "
                f"(module {module.__file__})"
            )
        model_fn = getattr(module, "model_fn", None)
        if model_fn is None:
            raise NotImplementedError(f"{NO_MODEL_FN} ({module.__file__} defines none)")
        self.model = _call(model_fn, str(model_dir), context=self.context)
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        if not accept or accept.strip() == "*/*":
            accept = self.default_accept
        content_type = content_type or JSON
        data = body.decode("utf-8", errors="replace") if _media_type(content_type) in (JSON, CSV) else body
        try:
            if self.transform_fn:
                result = _call(
                    self.transform_fn, self.model, data, content_type, accept, context=self.context
                )
            else:
                features = _call(self.input_fn, data, content_type, context=self.context)
                prediction = _call(self.predict_fn, features, self.model, context=self.context)
                result = _call(self.output_fn, prediction, accept, context=self.context)
        except InferenceError:
            raise
        except Exception as error:
            status = getattr(error, "status_code", 500)
            raise InferenceError(
                status if isinstance(status, int) else 500, f"{error}\n{traceback.format_exc()}"
            ) from error
        response, response_type = result if isinstance(result, tuple) else (result, accept)
        if isinstance(response, str):
            response = response.encode("utf-8")
        return bytes(response), response_type


ALGORITHM = ScriptModeAlgorithm()
