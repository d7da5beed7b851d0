"""The engine: builds and connects its parts, and serves them on one port with uvicorn.

``<state-dir>`` holds everything: ``s3/`` (its SeaweedFS's own data, unless the engine is given a store
that runs as a service of its own), one folder per resource kind (training jobs, models, endpoints...),
``logs/``, and the work trees of jobs and endpoints.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from include.local_sagemaker import forkserver
from include.local_sagemaker.endpoints import EndpointConfigs, Endpoints
from include.local_sagemaker.hosting import Hosting
from include.local_sagemaker.local_account import LocalAccount
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.model_registry import ModelRegistry
from include.local_sagemaker.models import Models
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.s3_proxy import S3Proxy
from include.local_sagemaker.sagemaker_api import SageMakerApi
from include.local_sagemaker.seaweedfs import SeaweedServer
from include.local_sagemaker.server import EngineApp, is_loopback
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.tags import Tags
from include.local_sagemaker.training import TrainingRunner
from include.local_sagemaker.training_jobs import TrainingJobs
from include.local_sagemaker.transform import TransformRunner
from include.local_sagemaker.transform_jobs import TransformJobs
from include.local_sagemaker.tuning import TuningRunner
from include.local_sagemaker.tuning_jobs import TuningJobs

_START_TIMEOUT_SECONDS = 30.0


class LocalSageMaker:
    """The engine, startable in-process: ``LocalSageMaker(state_dir).start()`` then ``.endpoint_url``.

    ``host`` must be a loopback address unless ``allow_remote=True``: the engine has no
    authentication, so listening beyond this machine would expose it. ``object_store`` is an S3 store
    running on its own (a SeaweedFS service); without one the engine runs its own SeaweedFS.
    """

    def __init__(
        self,
        state_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        object_store: ObjectStore | None = None,
    ):
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"Refusing to listen on {host!r}: it is not a loopback address and the engine has no "
                "authentication. Use 127.0.0.1, or pass allow_remote=True (--allow-remote) deliberately."
            )
        self.state_dir = Path(state_dir).resolve()
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        self.s3 = object_store
        self._seaweed: SeaweedServer | None = None
        self._started = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalSageMaker:
        """Start the object store, load state, recover resources, and serve in a background thread."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._started = True
        if self.s3 is None:
            self._seaweed = SeaweedServer(self.state_dir / "s3").start()
            self.s3 = self._seaweed.store
        try:
            self._start_services()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_services(self) -> None:
        root = self.state_dir
        forkserver.shared().start()  # its imports take seconds: done while the engine starts
        self.logs = LogStore(root / "logs")
        self.jobs = ResourceStore(root / "training-jobs")
        self.models = ResourceStore(root / "models")
        self.endpoint_configs = ResourceStore(root / "endpoint-configs")
        self.endpoints = ResourceStore(root / "endpoints")
        self.transform_jobs = ResourceStore(root / "transform-jobs")
        self.tuning_jobs = ResourceStore(root / "tuning-jobs")
        self.training = TrainingRunner(self.jobs, self.s3, self.logs, root / "jobs")
        self.hosting = Hosting(
            self.endpoints, self.endpoint_configs, self.models, self.s3, self.logs, root / "hosting"
        )
        self.transform = TransformRunner(
            self.transform_jobs, self.models, self.s3, self.logs, root / "transform"
        )
        # Children are created through the control plane itself, so they are validated like any job.
        self.tuning = TuningRunner(
            self.tuning_jobs,
            self.jobs,
            lambda request: self.sagemaker.handle("CreateTrainingJob", request),
            lambda name: self.sagemaker.handle("StopTrainingJob", {"TrainingJobName": name}),
        )
        self.model_registry = ModelRegistry(
            ResourceStore(root / "model-package-groups"), ResourceStore(root / "model-packages")
        )
        models = Models(self.models, self.model_registry.inference_container)
        endpoint_configs = EndpointConfigs(self.endpoint_configs, models)
        families = [
            TrainingJobs(self.jobs, self.training),
            models,
            endpoint_configs,
            Endpoints(self.endpoints, endpoint_configs, self.hosting),
            TransformJobs(self.transform_jobs, models, self.transform),
            TuningJobs(self.tuning_jobs, self.jobs, self.tuning),
            self.model_registry,
        ]
        tags = Tags(lambda: (entry for family in families for entry in family.tagged_stores()))
        self.sagemaker = SageMakerApi([*families, tags])
        self.training.recover()
        self.transform.recover()
        self.tuning.recover()
        listener = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        self.port = listener.getsockname()[1]
        self.app = EngineApp(
            self.sagemaker,
            self.logs,
            self.hosting,
            S3Proxy(self.s3.endpoint, self.s3.access_key, self.s3.secret_key),
            LocalAccount(),
            self.own_origins,
            self.allow_remote,
        )
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                lifespan="off",
                log_level="warning",
                access_log=False,
                server_header=False,
                timeout_keep_alive=60,
                timeout_graceful_shutdown=5,
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, name="local-sagemaker", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The engine's HTTP server did not start on {self.endpoint_url}")
            time.sleep(0.01)
        self.hosting.recover()

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def own_origins(self) -> set[str]:
        """The web origins of the engine itself (the only ones whose requests it answers)."""
        names = {self.host, "127.0.0.1", "localhost", "[::1]"}
        return {f"http://{name}:{self.port}" for name in names}

    def stop(self) -> None:
        """Stop serving, end running jobs, stop endpoint containers (endpoints come back on start),
        then the engine's own SeaweedFS. Safe to call on a partly started or a stopped engine."""
        if not self._started:
            return
        self._started = False
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(15)
            self._server = None
            self.app.executor.shutdown(wait=False, cancel_futures=True)
        for part in ("tuning", "training", "transform", "hosting"):
            if hasattr(self, part):
                getattr(self, part).shutdown()
        if self._seaweed is not None:
            self._seaweed.stop()
            self._seaweed = None
            self.s3 = None

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's main loop)."""
        if self._thread:
            self._thread.join()

    def __enter__(self) -> LocalSageMaker:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
