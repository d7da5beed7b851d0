"""How the SageMaker Python SDK v2 serves a script-mode model: which archive, which environment.

``MXNetModel`` (MXNet 1.4 and later, whose inference images run Multi Model Server) and ``PyTorchModel``
(PyTorch 1.2 and later) **repack**: they download the training job's ``model.tar.gz``, extract the source
directory into its ``code/``, upload the new archive to ``<code_location>/<model name>/model.tar.gz`` and
serve that, with ``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``; their inference containers do not
download a submit directory from S3. Other frameworks (scikit-learn) serve the training artifact as it is,
with ``SAGEMAKER_SUBMIT_DIRECTORY`` naming the ``sourcedir.tar.gz`` on S3.

Sources (sagemaker 2.x): ``MXNetModel.prepare_container_def`` and ``_is_mms_version``
(``sagemaker/mxnet/model.py``), ``PyTorchModel.prepare_container_def`` (``sagemaker/pytorch/model.py``),
``Model._upload_code`` and ``Model._script_mode_env_vars`` (``sagemaker/model.py``),
``fw_utils.model_code_key_prefix`` and ``utils.repack_model`` / ``_create_or_update_code_dir``.
"""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path, PurePosixPath

from packaging.version import Version

from include.sagemaker_requests import script_mode

__all__ = [
    "MODEL_ARCHIVE",
    "REPACKED_CODE_DIR",
    "repack_model",
    "repacked_model_uri",
    "repacks",
    "serving_environment",
]

MODEL_ARCHIVE = "model.tar.gz"
CODE_DIR = "code"
# Where a repacked model's code is in the serving container: /opt/ml/model is the extracted archive.
REPACKED_CODE_DIR = f"/opt/ml/model/{CODE_DIR}"
# The first release of each framework whose SDK model class repacks.
_FIRST_REPACKING_RELEASE = {"mxnet": Version("1.4.0"), "pytorch": Version("1.2.0")}


def repacks(framework: str, version: str) -> bool:
    """Whether the SDK serves ``framework`` ``version`` from a repacked archive (``mxnet`` 1.6.0: yes)."""
    first = _FIRST_REPACKING_RELEASE.get(framework)
    return first is not None and Version(version) >= first


def repacked_model_uri(code_location: str, model_name: str) -> str:
    """Where the SDK uploads the repacked archive: ``<code_location>/<model name>/model.tar.gz``."""
    if not code_location.startswith("s3://"):
        raise ValueError(f"The code location must be an s3:// URI, got {code_location!r}")
    return f"{code_location.rstrip('/')}/{model_name}/{MODEL_ARCHIVE}"


def serving_environment(
    entry_point: str, source_dir_uri: str, region: str, *, repacked: bool
) -> dict[str, str]:
    """The serving container's ``Environment``: the entry point's code in the repacked archive, or in
    ``source_dir_uri`` (the ``sourcedir.tar.gz`` on S3)."""
    if repacked:
        environment = script_mode.serving_environment(entry_point, source_dir_uri, region)
        return environment | {"SAGEMAKER_SUBMIT_DIRECTORY": REPACKED_CODE_DIR}
    return script_mode.serving_environment(entry_point, source_dir_uri, region)


def _checked_name(member: tarfile.TarInfo, archive: Path) -> str:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{archive} holds {member.name!r}, a path outside the archive's directory")
    if not (member.isfile() or member.isdir()):
        raise ValueError(f"{archive} holds {member.name!r}, which is neither a file nor a directory")
    return path.as_posix()


def repack_model(model_archive: Path, source_archive: Path, destination: Path) -> None:
    """Write to ``destination`` the training job's ``model_archive`` with ``source_archive`` (a
    ``sourcedir.tar.gz``) extracted into its ``code/``, as the SDK's ``repack_model`` does: a source file
    replaces the model's file of the same path; the model's other files stay. Members are copied one at
    a time, never held whole; the output's bytes depend only on the inputs' (no timestamps of its own)."""
    with tarfile.open(source_archive, "r:gz") as source:
        code = {f"{CODE_DIR}/{_checked_name(member, source_archive)}": member for member in source}
        with (
            tarfile.open(model_archive, "r:gz") as model,
            open(destination, "wb") as raw,
            # No name or time in the gzip header: the same inputs make the same bytes.
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as compressed,
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as repacked,
        ):
            for member in model:
                if _checked_name(member, model_archive) not in code:
                    repacked.addfile(member, model.extractfile(member) if member.isfile() else None)
            for name, member in code.items():
                renamed = tarfile.TarInfo(name)
                renamed.type, renamed.size, renamed.mode = member.type, member.size, member.mode
                renamed.mtime = member.mtime
                repacked.addfile(renamed, source.extractfile(member) if member.isfile() else None)
