"""The commands that run a framework image's training and serving in its environment.

Training is the training toolkit's own entry (``sagemaker_training.cli.train``, the ``train`` command of
every framework image): it reads the job from ``SAGEMAKER_BASE_DIR``, hands it to the image's
``SAGEMAKER_TRAINING_MODULE``, installs the source directory's ``requirements.txt``, runs the entry point
with the ``SM_*`` variables and hyperparameters as arguments, and writes ``output/success`` or
``output/failure``. Serving is ``container/model_server.py`` around the image's serving entry.

Both run in a fresh overlay of the environment (:func:`environments.overlay`) and see nothing of the
engine's Python: not its packages, its ``PYTHONPATH`` or its virtual environment's ``bin``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from include.local_sagemaker.frameworks import environments
from include.local_sagemaker.frameworks.catalog import FrameworkImage

MODEL_SERVER = Path(__file__).resolve().parent / "container" / "model_server.py"
_TRAIN = "from sagemaker_training.cli.train import main; main()"


def _environment(python: Path, extra: dict[str, str]) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    engine_bin = os.path.dirname(os.path.abspath(sys.executable))
    path = [entry for entry in inherited.get("PATH", "").split(os.pathsep) if entry and entry != engine_bin]
    return {
        **inherited,
        "PATH": os.pathsep.join([str(python.parent), *path]),
        "VIRTUAL_ENV": str(python.parent.parent),
        **extra,
    }


def training_command(image: FrameworkImage, base_dir: Path) -> tuple[list[str], dict[str, str]]:
    """``(argv, environment)`` of the training toolkit for a job prepared in ``base_dir`` (``/opt/ml``)."""
    python = environments.overlay(image.environment, base_dir.parent.parent / "python")
    extra = {
        "SAGEMAKER_BASE_DIR": str(base_dir),
        # The toolkit waits until every host's name resolves, as a cluster's do once it is up; the
        # toolkit's local mode (SageMaker Studio's) skips that, as there is no cluster here.
        "SM_STUDIO_LOCAL_MODE": "true",
    }
    if image.framework.training_module:
        extra["SAGEMAKER_TRAINING_MODULE"] = image.framework.training_module
    return [str(python), "-c", _TRAIN], _environment(python, extra)


def serving_command(image: FrameworkImage, model_dir: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """``(argv, environment)`` of the image's model server for a model staged in ``model_dir``."""
    # The inference toolkit finds the model in $SAGEMAKER_BASE_DIR/model, and its code in model/code.
    if model_dir.name != "model":
        raise ValueError(f"A model directory is named 'model', as /opt/ml/model is; got {model_dir}")
    python = environments.overlay(image.environment, model_dir.parent / "python")
    argv = [
        str(python),
        str(MODEL_SERVER),
        "--serving-entry",
        image.framework.serving_entry,
        "--replacing",
        image.framework.model_server_start,
        "--port",
        str(port),
    ]
    return argv, _environment(python, {"SAGEMAKER_BASE_DIR": str(model_dir.parent)})
