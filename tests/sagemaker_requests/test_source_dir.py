from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from include.sagemaker_requests.source_dir import pack_source_dir, source_files
from include.training_scripts import MNIST_CLASSIFIER, MNIST_CLASSIFIER_ENTRY_POINT


def _members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def _read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.extractfile(name).read()


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("print('training')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helpers.py").write_text("VALUE = 1\n")
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o755)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\x00")
    (tmp_path / ".env").write_text("SECRET=1\n")
    (tmp_path / "lib" / "stale.pyc").write_bytes(b"\x00")
    return tmp_path


def test_files_sit_at_their_relative_paths_and_caches_stay_out(source_dir: Path) -> None:
    archive = pack_source_dir(source_dir, "train.py")
    members = _members(archive)
    assert sorted(members) == ["lib/helpers.py", "run.sh", "train.py"]
    assert _read(archive, "lib/helpers.py") == b"VALUE = 1\n"
    assert members["run.sh"].mode == 0o755
    assert members["train.py"].mode == 0o644


def test_the_same_files_pack_to_the_same_bytes(source_dir: Path) -> None:
    first = pack_source_dir(source_dir, "train.py")
    os.utime(source_dir / "train.py", (1_000_000, 1_000_000))
    assert pack_source_dir(source_dir, "train.py") == first
    (source_dir / "train.py").write_text("print('changed')\n")
    assert pack_source_dir(source_dir, "train.py") != first


def test_a_missing_entry_point_or_directory_is_named(source_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'inference\.py'.*\['lib/helpers\.py', 'run\.sh', 'train\.py'\]"):
        pack_source_dir(source_dir, "inference.py")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        source_files(tmp_path / "nowhere")


def test_the_shipped_mnist_classifier_packs_with_its_entry_point() -> None:
    members = _members(pack_source_dir(MNIST_CLASSIFIER, MNIST_CLASSIFIER_ENTRY_POINT))
    assert MNIST_CLASSIFIER_ENTRY_POINT in members
    assert not [name for name in members if "__pycache__" in name]
