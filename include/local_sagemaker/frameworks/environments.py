"""Framework environments: isolated virtual environments built with ``uv`` from the lock files in ``locks/``.

An environment lives in ``<frameworks dir>/<name>-<digest>``, where the digest covers the lock file and
the Python it is built for: a changed lock builds a new environment beside the old, and building one that
exists does nothing. A build happens in a temporary directory renamed into place when complete, so a
half-built environment is never used. The frameworks dir is ``$LOCAL_SAGEMAKER_FRAMEWORKS_DIR``, or
``.cache/frameworks`` in the project.

A job never changes an environment: it runs in an *overlay*, a throwaway virtual environment that sees the
framework environment's packages behind its own, so the ``pip install -r requirements.txt`` that the
toolkits run for a source directory installs into the overlay only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

LOCKS = Path(__file__).resolve().parent / "locks"
FRAMEWORKS_DIR_VARIABLE = "LOCAL_SAGEMAKER_FRAMEWORKS_DIR"
_PROJECT = Path(__file__).resolve().parents[3]
_COMPLETE = ".complete"
# The lock files are resolved for this interpreter and platform (`lock` below).
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-manylinux_2_28"


class EnvironmentNotBuilt(RuntimeError):
    """A job needs an environment that has not been built yet (building one needs the package index)."""


def names() -> list[str]:
    return sorted(path.stem for path in LOCKS.glob("*.txt"))


def build_command(name: str) -> str:
    return f"python -m include.local_sagemaker.frameworks build {name}"


def frameworks_dir() -> Path:
    return Path(os.environ.get(FRAMEWORKS_DIR_VARIABLE) or _PROJECT / ".cache" / "frameworks")


def _lock_file(name: str) -> Path:
    path = LOCKS / f"{name}.txt"
    if not path.is_file():
        raise ValueError(f"Unknown framework environment {name!r}; known: {', '.join(names())}")
    return path


def environment_dir(name: str) -> Path:
    digest = hashlib.sha256(_lock_file(name).read_bytes())
    digest.update(f"{sys.implementation.cache_tag} {sysconfig.get_platform()}".encode())
    return frameworks_dir() / f"{name}-{digest.hexdigest()[:16]}"


def _uv() -> str:
    # uv is a dependency of the project: it sits beside the interpreter running this.
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv") or "uv"


def build(name: str) -> Path:
    """Build the environment ``name`` unless it exists; returns its directory."""
    target = environment_dir(name)
    if (target / _COMPLETE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        # Relocatable, so that it still works once renamed from the staging directory.
        subprocess.run(
            [_uv(), "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)], check=True
        )
        subprocess.run(
            [
                _uv(),
                "pip",
                "sync",
                "--quiet",
                "--require-hashes",
                "--python",
                str(staging / "bin" / "python"),
                str(_lock_file(name)),
            ],
            check=True,
        )
        (staging / _COMPLETE).touch()
        try:
            staging.rename(target)
        except OSError:
            if not (target / _COMPLETE).exists():  # not another build's doing
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def lock(name: str) -> Path:
    """Resolve ``locks/<name>.in`` again into its pinned, hashed ``locks/<name>.txt``."""
    source = LOCKS / f"{name}.in"
    output = LOCKS / f"{name}.txt"
    subprocess.run(
        [
            _uv(),
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--emit-find-links",
            "--python-version",
            PYTHON_VERSION,
            "--python-platform",
            PLATFORM,
            "--no-header",
            "--output-file",
            str(output),
            str(source),
        ],
        check=True,
    )
    return output


def built(name: str) -> Path:
    """The directory of the built environment ``name``; raises :class:`EnvironmentNotBuilt`."""
    directory = environment_dir(name)
    if not (directory / _COMPLETE).exists():
        raise EnvironmentNotBuilt(
            f"The framework environment {name!r} is not built; build it with `{build_command(name)}` "
            "(or `make frameworks` for all of them)"
        )
    return directory


def _site_packages(environment: Path) -> Path:
    return next((environment / "lib").glob("python3*/site-packages"))


def overlay(name: str, directory: Path) -> Path:
    """A fresh overlay of the environment ``name`` in ``directory``; returns its ``python``."""
    environment = built(name)
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run(
        [str(environment / "bin" / "python"), "-m", "venv", "--without-pip", str(directory)], check=True
    )
    # addsitedir, not a plain path line, so that the environment's own .pth files are processed too.
    (_site_packages(directory) / "_framework_environment.pth").write_text(
        f"import site; site.addsitedir({str(_site_packages(environment))!r})\n"
    )
    return directory / "bin" / "python"
