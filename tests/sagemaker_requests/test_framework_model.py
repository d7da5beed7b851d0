"""The SDK's framework models: which repack, where the repacked archive goes, what it holds."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from include.sagemaker_requests import framework_model
from include.sagemaker_requests.source_dir import pack_source_dir

SOURCE_DIR = "s3://bucket/run/code/sourcedir.tar.gz"


@pytest.mark.parametrize(
    ("framework", "version", "repacks"),
    [
        ("mxnet", "1.6.0", True),
        ("mxnet", "1.4.0", True),
        ("mxnet", "1.3.0", False),
        ("pytorch", "2.6.0", True),
        ("pytorch", "1.1.0", False),
        ("sklearn", "1.2-1", False),
    ],
)
def test_mxnet_from_1_4_and_pytorch_from_1_2_repack(framework: str, version: str, repacks: bool) -> None:
    assert framework_model.repacks(framework, version) is repacks


def test_the_repacked_archive_goes_under_the_code_location_by_model_name() -> None:
    uri = framework_model.repacked_model_uri("s3://bucket/run/code/", "model-1")
    assert uri == "s3://bucket/run/code/model-1/model.tar.gz"
    with pytest.raises(ValueError, match="'/tmp/code'"):
        framework_model.repacked_model_uri("/tmp/code", "model-1")


def test_a_repacked_model_serves_its_code_from_the_model_directory() -> None:
    repacked = framework_model.serving_environment("mnist.py", SOURCE_DIR, "eu-west-1", repacked=True)
    downloaded = framework_model.serving_environment("mnist.py", SOURCE_DIR, "eu-west-1", repacked=False)
    assert repacked == {
        "SAGEMAKER_PROGRAM": "mnist.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "eu-west-1",
    }
    assert downloaded == {**repacked, "SAGEMAKER_SUBMIT_DIRECTORY": SOURCE_DIR}


def _archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _files(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {member.name: archive.extractfile(member).read() for member in archive if member.isfile()}


def test_repack_puts_the_source_dir_under_code_beside_the_model(tmp_path: Path) -> None:
    model = _archive(
        tmp_path / "model.tar.gz",
        {
            "./model-symbol.json": b"{}",
            "model-0000.params": b"w",
            "code/mnist.py": b"old",
            "code/keep.py": b"k",
        },
    )
    script = tmp_path / "src"
    script.mkdir()
    (script / "mnist.py").write_text("new")
    (script / "requirements.txt").write_text("numpy\n")
    source = tmp_path / "sourcedir.tar.gz"
    source.write_bytes(pack_source_dir(script, "mnist.py"))

    framework_model.repack_model(model, source, tmp_path / "first.tar.gz")
    framework_model.repack_model(model, source, tmp_path / "second.tar.gz")

    # As the SDK's repack from an S3 source dir: its files replace the model's, the model's others stay.
    assert _files(tmp_path / "first.tar.gz") == {
        "./model-symbol.json": b"{}",
        "model-0000.params": b"w",
        "code/keep.py": b"k",
        "code/mnist.py": b"new",
        "code/requirements.txt": b"numpy\n",
    }
    assert (tmp_path / "first.tar.gz").read_bytes() == (tmp_path / "second.tar.gz").read_bytes()


def test_repack_refuses_members_outside_the_archive(tmp_path: Path) -> None:
    model = _archive(tmp_path / "model.tar.gz", {"../escape": b"x"})
    source = _archive(tmp_path / "sourcedir.tar.gz", {"mnist.py": b""})
    with pytest.raises(ValueError, match=r"'\.\./escape'"):
        framework_model.repack_model(model, source, tmp_path / "out.tar.gz")
