"""A container forked by the fork server starts as ``python -m include.local_sagemaker.container`` started
afresh would, reports its exit code, and ends with the process that started the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from include.local_sagemaker.algorithms.registry import EXTRA_ALGORITHMS_VARIABLE
from include.local_sagemaker.forkserver import CONTAINER_MODULE, ForkServer
from include.local_sagemaker.frameworks.container.model_server import READY_PREFIX
from include.local_sagemaker.process_tree import PARENT_PID_VARIABLE
from tests.support.engine import REPO, living, wait_for

PROBE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/process-probe:1"


@pytest.fixture(scope="module")
def server():
    server = ForkServer()
    server.start()
    yield server
    server.close()


def _environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    extra_path = tmp_path / "extra-path"
    extra_path.mkdir(exist_ok=True)
    search_path = [
        str(extra_path),
        str(REPO),
        *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
    ]
    return {
        **os.environ,
        EXTRA_ALGORITHMS_VARIABLE: "process-probe=tests.local_sagemaker.process_probe",
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(search_path)),
        "PYTHONUNBUFFERED": "1",
        **variables,
    }


def _serve_arguments(model_dir: Path) -> list[str]:
    model_dir.mkdir()
    return ["serve", "--model-dir", str(model_dir), "--image", PROBE_IMAGE, "--port", "0"]


def _until_serving(process) -> None:
    output = []
    for raw in process.stdout:
        if raw.decode().startswith(READY_PREFIX):
            return
        output.append(raw.decode())
    raise AssertionError(f"the container exited with {process.wait()} before it served: {''.join(output)}")


def _stopped(process) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    return process.wait(timeout=10)


def _fresh(arguments: list[str], environment: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", CONTAINER_MODULE, *arguments],
        env={**environment, PARENT_PID_VARIABLE: str(os.getpid())},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _report(process, model_dir: Path) -> dict:
    _until_serving(process)
    assert _stopped(process) == 0
    report = json.loads((model_dir / "process.json").read_text())
    report["cmdline"] = report["cmdline"].replace(str(model_dir), "<model dir>")
    report["argv"] = [argument.replace(str(model_dir), "<model dir>") for argument in report["argv"]]
    return report


@pytest.mark.parametrize(
    "threads",
    [{}, {"OMP_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2"}],
    ids=["defaults", "omp", "omp-and-openblas"],
)
def test_a_forked_container_starts_as_a_fresh_interpreter_would(server, tmp_path: Path, threads):
    workdir = tmp_path / "work"
    workdir.mkdir()
    environment = _environment(tmp_path, PROBE="forked or not", **threads)

    fresh = _report(_fresh(_serve_arguments(tmp_path / "fresh"), environment, workdir), tmp_path / "fresh")
    forked = _report(
        server.spawn(_serve_arguments(tmp_path / "forked"), environment, workdir), tmp_path / "forked"
    )

    assert fresh.pop("random draw") != forked.pop("random draw")
    assert forked == fresh
    assert forked["cwd"] == str(workdir)
    assert forked["sys.path"][:2] == [str(workdir), str(tmp_path / "extra-path")]
    assert forked["own session and group"]
    assert forked["parent watched"]
    assert forked["stdin"] == os.devnull
    assert forked["cmdline"].startswith(
        f"{sys.executable} -m {CONTAINER_MODULE} serve --model-dir <model dir>"
    )


def test_forked_containers_draw_different_random_numbers(server, tmp_path: Path):
    draws = []
    for name in ("first", "second"):
        process = server.spawn(_serve_arguments(tmp_path / name), _environment(tmp_path), tmp_path)
        draws.append(_report(process, tmp_path / name)["random draw"])
    assert draws[0] != draws[1]


def test_exit_codes_and_waiting_are_those_of_a_process(server, tmp_path: Path):
    process = server.spawn(_serve_arguments(tmp_path / "model"), _environment(tmp_path), tmp_path)
    _until_serving(process)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.2)
    assert process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL

    failing = server.spawn(
        ["serve", "--model-dir", str(tmp_path / "missing"), "--image", "no/such:1"], _environment(tmp_path)
    )
    output = failing.stdout.read().decode()
    assert failing.wait(timeout=10) == 3
    assert "Failed to load model" in output


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def test_the_server_and_its_containers_end_with_the_process_that_started_it(tmp_path: Path):
    model_dir = tmp_path / "model"
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import json, os, sys
                from pathlib import Path
                from include.local_sagemaker.forkserver import ForkServer
                environment = json.loads(sys.argv[1])
                process = ForkServer().spawn({_serve_arguments(model_dir)!r}, environment)
                for line in process.stdout:
                    if line.startswith(b"serving port="):
                        break
                print(process.pid, flush=True)
                sys.stdin.read()
                """
            ),
            json.dumps(_environment(tmp_path)),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        container = int(starter.stdout.readline())
        server = _parent_of(container)
        assert _parent_of(server) == starter.pid
        starter.kill()
        starter.wait(timeout=10)
        wait_for(lambda: not living(container) and not living(server), timeout=5)
    finally:
        starter.kill()
        starter.wait()


def test_a_broken_extra_algorithm_fails_its_container_not_the_server(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(EXTRA_ALGORITHMS_VARIABLE, "broken=tests.local_sagemaker.no_such_algorithm")
    server = ForkServer()
    try:
        broken = server.spawn(_serve_arguments(tmp_path / "broken"), dict(os.environ))
        output = broken.stdout.read().decode()
        assert broken.wait(timeout=30) == 3
        assert "No module named 'tests.local_sagemaker.no_such_algorithm'" in output
        healthy = server.spawn(_serve_arguments(tmp_path / "healthy"), _environment(tmp_path))
        _until_serving(healthy)
        assert _stopped(healthy) == 0
    finally:
        server.close()
