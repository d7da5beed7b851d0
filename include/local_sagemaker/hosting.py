"""Endpoints: one model-server subprocess per production variant, and InvokeEndpoint proxied to it.

Deploying a variant downloads and extracts the model's ``model.tar.gz``, starts
``python -m include.local_sagemaker.container serve`` on an ephemeral loopback port and waits for
``/ping``; the endpoint goes ``Creating -> InService``, or ``Failed`` with the container's error if the
model cannot load. Invocations reuse keep-alive connections to the container, so the proxy adds
little latency. The extracted model and its image are recorded in the endpoint's document, so after a
restart the engine brings InService endpoints back even if their model resource was deleted since.

As SageMaker replaces an unhealthy instance, a monitor thread restarts a model server that exited on
its already-staged model, writing the event to the endpoint's log group. Meanwhile invocations go to
the endpoint's other variants, or wait for the replacement (those that target it, or if there is no
other). A variant whose servers keep exiting or failing to start (``RESTART_LIMIT`` times in a row)
fails the endpoint with the container's last error instead.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
import uuid
from pathlib import Path

from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.failures import JobFailure, failure_reason
from include.local_sagemaker.logs import LogStore
from include.local_sagemaker.model_servers import (
    STARTUP_TIMEOUT_SECONDS,
    ModelServer,
    ServerGone,
    serving_container,
    stage_model,
)
from include.local_sagemaker.names import ACCOUNT_ID
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.state import ResourceStore

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Statuses in which an endpoint serves, and a model server that exits is replaced.
SERVING_STATUSES = frozenset({"InService", "Updating", "SystemUpdating"})
MONITOR_INTERVAL_SECONDS = 0.5
# A variant whose server exits or fails to start this many times in a row is in a crash loop, and its
# endpoint fails. An exit after HEALTHY_UPTIME_SECONDS of service starts the count afresh.
RESTART_LIMIT = 3
HEALTHY_UPTIME_SECONDS = 60.0
# Internal bookkeeping kept in an endpoint's document but never returned by DescribeEndpoint.
DEPLOYMENT_FIELD = "_Deployment"


def _endpoint_not_found(name: str) -> ServiceError:
    return ServiceError("ValidationError", f"Endpoint {name} of account {ACCOUNT_ID} not found.")


def payload_too_large(size: int) -> ServiceError:
    """The refusal of an InvokeEndpoint body above SageMaker's 6 MB real-time limit (HTTP 413)."""
    return ServiceError(
        "ValidationError",
        f"Request payload of {size} bytes exceeds the InvokeEndpoint limit of {MAX_PAYLOAD_BYTES} bytes "
        "(6 MB). Send fewer records per request, or use batch transform.",
        status=413,
    )


class _LiveEndpoint:
    """The serving side of one endpoint: its variants' servers, once ready (empty until then)."""

    def __init__(self):
        self.servers: dict[str, ModelServer] = {}
        self.weights: dict[str, float] = {}
        # Per variant: how many times in a row its server exited or failed to start.
        self.crashes: dict[str, int] = {}


class Hosting:
    """Deploys, updates, deletes and invokes endpoints whose documents live in ``endpoints``."""

    def __init__(
        self,
        endpoints: ResourceStore,
        endpoint_configs: ResourceStore,
        models: ResourceStore,
        s3: ObjectStore,
        logs: LogStore,
        work_root: Path,
    ):
        self.endpoints = endpoints
        self.endpoint_configs = endpoint_configs
        self.models = models
        self.s3 = s3
        self.logs = logs
        self.work_root = work_root
        self._live: dict[str, _LiveEndpoint] = {}
        self._lock = threading.Lock()
        # Notified whenever servers are attached to or detached from an endpoint: invocations wait
        # on it for a server that is starting or being replaced.
        self._servers_changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._monitor_servers, name="endpoint-monitor", daemon=True)
        self._monitor.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def recover(self) -> None:
        """Bring endpoints back after a restart: InService and Updating ones on their deployed
        models, Creating ones by deploying again."""
        for endpoint in self.endpoints.all():
            name = endpoint["EndpointName"]
            status = endpoint["EndpointStatus"]
            if status in SERVING_STATUSES and endpoint.get(DEPLOYMENT_FIELD):
                if status != "InService":
                    self.endpoints.update(name, EndpointStatus="InService", LastModifiedTime=time.time())
                self._spawn(self._redeploy, name)
            elif status == "Creating":
                self._spawn(self._create, name)
            elif status == "Deleting":
                self._remove(name)

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            live = list(self._live.values())
            self._live.clear()
            self._servers_changed.notify_all()
        # A replacement the monitor is starting is stopped by it once up, as its endpoint is gone.
        self._monitor.join(timeout=30)
        for endpoint in live:
            for server in endpoint.servers.values():
                server.stop()

    def server_process_ids(self, name: str) -> dict[str, int]:
        """The pids of an endpoint's running model servers by variant (for diagnostics and tests)."""
        with self._lock:
            live = self._live.get(name)
            servers = live.servers if live else {}
            return {variant: server.process.pid for variant, server in servers.items() if server.running()}

    @staticmethod
    def _spawn(target, name: str) -> None:
        threading.Thread(target=target, args=(name,), name=f"endpoint-{name}", daemon=True).start()

    # -- API entry points (documents already validated and written by the control plane) -----
    def create(self, name: str) -> None:
        with self._lock:
            self._live[name] = _LiveEndpoint()
        self._spawn(self._create, name)

    def update(self, name: str) -> None:
        self._spawn(self._update, name)

    def delete(self, name: str) -> None:
        self._remove(name)

    # -- deployment ---------------------------------------------------------------------------
    def _deploy(self, name: str, config: dict) -> tuple[dict[str, ModelServer], dict]:
        """Start every variant of ``config``; returns the servers and the deployment record."""
        deployment_id = uuid.uuid4().hex[:8]
        servers: dict[str, ModelServer] = {}
        record: dict[str, dict] = {}
        try:
            for variant in config["ProductionVariants"]:
                model = self.models.get(variant["ModelName"])
                if model is None:
                    raise JobFailure(f'Could not find model "{variant["ModelName"]}".')
                container = serving_container(model)
                model_dir = self.work_root / name / f"{variant['VariantName']}-{deployment_id}" / "model"
                stage_model(self.s3, container, model_dir)
                record[variant["VariantName"]] = {
                    "Image": container["Image"],
                    "ModelDir": str(model_dir),
                    "Weight": float(variant.get("InitialVariantWeight", 1.0)),
                    "Environment": container.get("Environment") or {},
                }
                servers[variant["VariantName"]] = self._start_server(name, variant["VariantName"], record)
        except BaseException:
            for server in servers.values():
                server.stop()
            for directory in (self.work_root / name).glob(f"*-{deployment_id}"):
                shutil.rmtree(directory, ignore_errors=True)
            raise
        return servers, record

    def _start_server(self, name: str, variant: str, record: dict) -> ModelServer:
        server = ModelServer(
            variant,
            record[variant]["Image"],
            Path(record[variant]["ModelDir"]),
            self.logs,
            f"/aws/sagemaker/Endpoints/{name}",
            record[variant].get("Environment"),
        )
        server.start()
        return server

    def _go_live(self, name: str, servers: dict[str, ModelServer], record: dict) -> bool:
        """Attach started servers to the endpoint; False (servers stopped) if it was deleted meanwhile."""
        with self._lock:
            live = self._live.get(name)
            if live is None or name not in self.endpoints:
                for server in servers.values():
                    server.stop()
                return False
            old = live.servers
            live.servers = servers
            live.weights = {variant: entry["Weight"] for variant, entry in record.items()}
            live.crashes = {}
            self._servers_changed.notify_all()
        for server in old.values():
            server.stop()
        return True

    def _create(self, name: str) -> None:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return
        with self._lock:
            self._live.setdefault(name, _LiveEndpoint())
        config = self.endpoint_configs.get(endpoint["EndpointConfigName"])
        try:
            if config is None:
                raise JobFailure(f'Could not find endpoint configuration "{endpoint["EndpointConfigName"]}".')
            servers, record = self._deploy(name, config)
        except JobFailure as failure:
            self._set_status(name, "Failed", FailureReason=failure.reason)
            return
        if self._go_live(name, servers, record):
            self._set_status(
                name,
                "InService",
                ProductionVariants=self._variants(config, record),
                **{DEPLOYMENT_FIELD: record},
            )

    def _redeploy(self, name: str) -> None:
        with self._lock:
            self._live.setdefault(name, _LiveEndpoint())
        record = self.endpoints.get(name)[DEPLOYMENT_FIELD]
        servers: dict[str, ModelServer] = {}
        try:
            for variant in record:
                servers[variant] = self._start_server(name, variant, record)
        except JobFailure as failure:
            for server in servers.values():
                server.stop()
            self._set_status(name, "Failed", FailureReason=failure.reason)
            return
        self._go_live(name, servers, record)

    def _update(self, name: str) -> None:
        endpoint = self.endpoints.get(name)
        config = self.endpoint_configs.get(endpoint["_PendingEndpointConfigName"])
        try:
            if config is None:
                raise JobFailure(
                    f'Could not find endpoint configuration "{endpoint["_PendingEndpointConfigName"]}".'
                )
            servers, record = self._deploy(name, config)
        except JobFailure as failure:
            # SageMaker rolls a failed update back: the endpoint keeps serving its previous config.
            self._set_status(name, "InService", FailureReason=failure.reason, _PendingEndpointConfigName=None)
            return
        old_record = endpoint.get(DEPLOYMENT_FIELD) or {}
        if self._go_live(name, servers, record):
            self._set_status(
                name,
                "InService",
                EndpointConfigName=config["EndpointConfigName"],
                ProductionVariants=self._variants(config, record),
                _PendingEndpointConfigName=None,
                **{DEPLOYMENT_FIELD: record},
            )
            for entry in old_record.values():
                shutil.rmtree(Path(entry["ModelDir"]).parent, ignore_errors=True)

    def _remove(self, name: str) -> None:
        with self._lock:
            live = self._live.pop(name, None)
            self._servers_changed.notify_all()
        if live:
            for server in live.servers.values():
                server.stop()
        self.endpoints.delete(name)
        shutil.rmtree(self.work_root / name, ignore_errors=True)

    def _set_status(self, name: str, status: str, **fields) -> None:
        with self.endpoints.lock:
            if name not in self.endpoints:
                return
            self.endpoints.update(name, EndpointStatus=status, LastModifiedTime=time.time(), **fields)

    @staticmethod
    def _variants(config: dict, record: dict) -> list[dict]:
        now = time.time()
        return [
            {
                "VariantName": variant["VariantName"],
                "DeployedImages": [
                    {
                        "SpecifiedImage": record[variant["VariantName"]]["Image"],
                        "ResolvedImage": record[variant["VariantName"]]["Image"],
                        "ResolutionTime": now,
                    }
                ],
                "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "CurrentInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                "DesiredInstanceCount": int(variant.get("InitialInstanceCount", 1)),
            }
            for variant in config["ProductionVariants"]
        ]

    # -- replacing servers that exited ----------------------------------------------------------
    def _monitor_servers(self) -> None:
        """Replace every attached model server that exited, until the engine stops."""
        while not self._stopping.wait(MONITOR_INTERVAL_SECONDS):
            with self._lock:
                exited = [
                    (name, live, variant, server)
                    for name, live in self._live.items()
                    for variant, server in live.servers.items()
                    if not server.running()
                ]
            for name, live, variant, server in exited:
                try:
                    self._replace(name, live, variant, server)
                except Exception as error:  # an engine bug must not end the monitoring of every endpoint
                    failure = f"{type(error).__name__}: {error}"
                    message = f"local engine: replacing the model server failed: {failure}"
                    self.logs.append(server.log_group, server.log_stream, [message])

    def _attached(self, name: str, live: _LiveEndpoint, variant: str, server: ModelServer) -> bool:
        """Whether ``server`` still serves ``variant`` of endpoint ``name`` (hold ``_lock`` to act on it):
        not if the endpoint was deleted or updated meanwhile, or the engine is stopping."""
        if self._stopping.is_set() or self._live.get(name) is not live:
            return False
        return live.servers.get(variant) is server

    def _replace(self, name: str, live: _LiveEndpoint, variant: str, exited: ModelServer) -> None:
        """Restart ``variant``'s server on its staged model, or fail the endpoint if it keeps crashing."""
        endpoint = self.endpoints.get(name)
        if endpoint is None or endpoint["EndpointStatus"] not in SERVING_STATUSES:
            return  # being deleted, or attached a moment before its status becomes InService
        exited.stop()  # its connections, and whatever is left of its process group
        healthy = time.monotonic() - exited.started >= HEALTHY_UPTIME_SECONDS
        crashes = (0 if healthy else live.crashes.get(variant, 0)) + 1
        code = exited.process.returncode
        error = f"the model server exited with code {code}; its last output: {exited.last_output()}"
        self.logs.append(
            exited.log_group,
            exited.log_stream,
            [f"Model server for variant {variant} exited with code {code}; restarting"],
        )
        while crashes < RESTART_LIMIT:
            if not self._attached(name, live, variant, exited):
                return
            replacement = ModelServer(
                variant, exited.image, exited.model_dir, self.logs, exited.log_group, exited.environment
            )
            try:
                replacement.start()
            except (JobFailure, OSError) as failure:
                error = str(failure)
                crashes += 1
                self.logs.append(
                    exited.log_group,
                    exited.log_stream,
                    [f"Model server for variant {variant} did not restart: {failure}"],
                )
                continue
            with self._lock:
                attached = self._attached(name, live, variant, exited)
                if attached:
                    live.servers = {**live.servers, variant: replacement}
                    live.crashes[variant] = crashes
                    self._servers_changed.notify_all()
            if not attached:  # deleted or updated while the replacement started: it must not linger
                replacement.stop()
                return
            self.logs.append(
                exited.log_group,
                exited.log_stream,
                [f"Model server for variant {variant} restarted (log stream {replacement.log_stream})"],
            )
            return
        with self._lock:
            if not self._attached(name, live, variant, exited):
                return
            del self._live[name]
            self._servers_changed.notify_all()
            reason = (
                f"The primary container for production variant {variant} exited or failed to start "
                f"{crashes} times in a row, so it is no longer restarted. Last error: {error}"
            )
            self._set_status(name, "Failed", FailureReason=failure_reason(reason))
        for server in live.servers.values():
            server.stop()
        self.logs.append(exited.log_group, exited.log_stream, [f"Endpoint {name} failed: {reason}"])

    # -- invocation ---------------------------------------------------------------------------
    def invoke(
        self, name: str, body: bytes, content_type: str | None, accept: str | None, target_variant: str | None
    ) -> tuple[bytes, str, str]:
        """Answer ``InvokeEndpoint``: ``(body, content type, invoked variant)``."""
        if self.endpoints.get(name) is None:
            raise _endpoint_not_found(name)
        if len(body) > MAX_PAYLOAD_BYTES:
            raise payload_too_large(len(body))
        for _ in range(2):
            server = self._await_server(name, target_variant)
            try:
                data, response_type = server.invoke(body, content_type, accept)
                return data, response_type, server.variant
            except ServerGone:
                continue  # sent to a server that had just died: once more, to its replacement
        raise ServiceError(
            "ModelError",
            f"Received server error (500) from primary: the container of endpoint {name} exited twice "
            "while answering this request. See its CloudWatch log.",
            status=424,
        )

    def _await_server(self, name: str, target_variant: str | None) -> ModelServer:
        """The running server an invocation goes to, waiting (bounded) while it starts or is replaced."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            endpoint = self.endpoints.get(name)  # again: it may be deleted or fail while we wait
            if endpoint is None:
                raise _endpoint_not_found(name)
            if endpoint["EndpointStatus"] not in SERVING_STATUSES:
                raise ServiceError(
                    "ValidationError",
                    f"Endpoint {name} of account {ACCOUNT_ID} is not in service "
                    f"(status {endpoint['EndpointStatus']}).",
                )
            with self._servers_changed:
                server = self._running_server(name, target_variant)
                if server is not None:
                    return server
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    raise ServiceError(
                        "ModelNotReadyException", f"Model for endpoint {name} is not ready yet.", status=429
                    )
                # Bounded, as a server's exit is noticed by polling rather than notified.
                self._servers_changed.wait(min(remaining, MONITOR_INTERVAL_SECONDS))

    def _running_server(self, name: str, target_variant: str | None) -> ModelServer | None:
        """Under ``_lock``: ``target_variant``'s server, or one picked by weight among the variants whose
        server runs; None while there is none."""
        live = self._live.get(name)
        if live is None or not live.servers:
            return None
        if target_variant and target_variant not in live.servers:
            raise ServiceError("ValidationError", f"Variant {target_variant} not found for endpoint {name}.")
        candidates = [target_variant] if target_variant else list(live.servers)
        running = [variant for variant in candidates if live.servers[variant].running()]
        if len(running) <= 1:
            return live.servers[running[0]] if running else None
        weights = [live.weights.get(variant, 1.0) for variant in running]
        return live.servers[random.choices(running, weights=weights)[0]]
