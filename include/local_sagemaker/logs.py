"""CloudWatch Logs, the part SageMaker and the Airflow provider use.

Training jobs write their container output here (group ``/aws/sagemaker/TrainingJobs``, stream
``<job>/algo-1-<epoch>``), and the provider's ``print_log`` reads it back with ``DescribeLogStreams``
and ``GetLogEvents``. Each stream is also appended to a JSON-lines file under the state directory,
so logs survive a restart; a line torn by a crash is skipped on load.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import unquote

from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.names import ACCOUNT_ID, REGION
from include.local_sagemaker.paths import file_name

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
_DEFAULT_EVENT_LIMIT = 10_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _not_found(what: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"The specified {what} does not exist.")


class _Stream:
    def __init__(self, name: str, created: int, path: Path):
        self.name = name
        self.created = created
        self.path = path
        self.events: list[dict] = []

    def describe(self, group: str) -> dict:
        described = {
            "logStreamName": self.name,
            "creationTime": self.created,
            "arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}:log-stream:{self.name}",
            "storedBytes": 0,
        }
        if self.events:
            described.update(
                firstEventTimestamp=self.events[0]["timestamp"],
                lastEventTimestamp=self.events[-1]["timestamp"],
                lastIngestionTime=self.events[-1]["ingestionTime"],
            )
        return described


class LogStore:
    """Log groups and streams, in memory and appended to ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._groups: dict[str, dict] = {}
        self._load()

    # -- the engine's interface ---------------------------------------------------------------
    def append(self, group: str, stream: str, messages: list[str], timestamp_ms: int | None = None) -> None:
        """Append messages to a stream, creating the group and stream on first use."""
        with self._lock:
            self._ensure_group(group)
            target = self._groups[group]["streams"].get(stream) or self._create_stream(group, stream)
            now = _now_ms()
            events = [
                {"timestamp": timestamp_ms or now, "message": message, "ingestionTime": now}
                for message in messages
            ]
            target.events.extend(events)
            with target.path.open("a") as handle:
                handle.writelines(json.dumps(event) + "\n" for event in events)

    def messages(self, group: str, stream: str) -> list[str]:
        with self._lock:
            found = self._groups.get(group, {}).get("streams", {}).get(stream)
            return [event["message"] for event in found.events] if found else []

    # -- the Logs_20140328 API ----------------------------------------------------------------
    def handle(self, operation: str, request: dict) -> dict:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise ServiceError("UnknownOperationException", f"Unknown operation {operation}")
        with self._lock:
            return handler(request)

    def _op_CreateLogGroup(self, request: dict) -> dict:
        name = request["logGroupName"]
        if name in self._groups:
            raise ServiceError("ResourceAlreadyExistsException", "The specified log group already exists")
        self._ensure_group(name)
        return {}

    def _op_CreateLogStream(self, request: dict) -> dict:
        group = self._group(request["logGroupName"])
        if request["logStreamName"] in group["streams"]:
            raise ServiceError("ResourceAlreadyExistsException", "The specified log stream already exists")
        self._create_stream(request["logGroupName"], request["logStreamName"])
        return {}

    def _op_DescribeLogGroups(self, request: dict) -> dict:
        prefix = request.get("logGroupNamePrefix", "")
        return {
            "logGroups": [
                {
                    "logGroupName": name,
                    "creationTime": group["creationTime"],
                    "arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
                    "storedBytes": 0,
                }
                for name, group in sorted(self._groups.items())
                if name.startswith(prefix)
            ]
        }

    def _op_DescribeLogStreams(self, request: dict) -> dict:
        group_name = request["logGroupName"]
        group = self._group(group_name)
        prefix = request.get("logStreamNamePrefix", "")
        streams = [stream for name, stream in group["streams"].items() if name.startswith(prefix)]
        if request.get("orderBy") == "LastEventTime":
            streams.sort(key=lambda s: s.events[-1]["timestamp"] if s.events else 0)
        else:
            streams.sort(key=lambda s: s.name)
        if request.get("descending"):
            streams.reverse()
        start = int(request.get("nextToken") or 0)
        limit = int(request.get("limit") or 50)
        page = streams[start : start + limit]
        response = {"logStreams": [stream.describe(group_name) for stream in page]}
        if start + limit < len(streams):
            response["nextToken"] = str(start + limit)
        return response

    def _op_PutLogEvents(self, request: dict) -> dict:
        stream = self._group(request["logGroupName"])["streams"].get(request["logStreamName"])
        if stream is None:
            raise _not_found("log stream")
        for event in request.get("logEvents", []):
            self.append(request["logGroupName"], stream.name, [event["message"]], int(event["timestamp"]))
        return {"nextSequenceToken": str(len(stream.events))}

    def _op_GetLogEvents(self, request: dict) -> dict:
        stream = self._group(request["logGroupName"])["streams"].get(request["logStreamName"])
        if stream is None:
            raise _not_found("log stream")
        start_time = request.get("startTime")
        end_time = request.get("endTime")
        limit = int(request.get("limit") or _DEFAULT_EVENT_LIMIT)

        def selected(event: dict) -> bool:
            return (start_time is None or event["timestamp"] >= start_time) and (
                end_time is None or event["timestamp"] < end_time
            )

        token = request.get("nextToken")
        events = stream.events
        if token and token.startswith("b/"):
            end = int(token[2:])
            indices = [i for i in range(end) if selected(events[i])][-limit:]
            first, last = (indices[0], indices[-1] + 1) if indices else (end, end)
        elif token or request.get("startFromHead"):
            begin = int(token[2:]) if token else 0
            indices = []
            last = begin
            for i in range(begin, len(events)):
                last = i + 1
                if selected(events[i]):
                    indices.append(i)
                    if len(indices) == limit:
                        break
            first = indices[0] if indices else begin
        else:
            indices = [i for i in range(len(events)) if selected(events[i])][-limit:]
            first, last = (indices[0], indices[-1] + 1) if indices else (len(events), len(events))
        return {
            "events": [dict(events[i]) for i in indices],
            "nextForwardToken": f"f/{last:020d}",
            "nextBackwardToken": f"b/{first:020d}",
        }

    def _op_FilterLogEvents(self, request: dict) -> dict:
        group = self._group(request["logGroupName"])
        prefix = request.get("logStreamNamePrefix", "")
        wanted = set(request.get("logStreamNames") or [])
        pattern = request.get("filterPattern", "")
        found = []
        for name, stream in sorted(group["streams"].items()):
            if not name.startswith(prefix) or (wanted and name not in wanted):
                continue
            for event in stream.events:
                if pattern and pattern.strip('"') not in event["message"]:
                    continue
                if request.get("startTime") is not None and event["timestamp"] < request["startTime"]:
                    continue
                if request.get("endTime") is not None and event["timestamp"] > request["endTime"]:
                    continue
                found.append({"logStreamName": name, **event})
        found.sort(key=lambda event: event["timestamp"])
        return {
            "events": found[: int(request.get("limit") or _DEFAULT_EVENT_LIMIT)],
            "searchedLogStreams": [],
        }

    def _op_DeleteLogGroup(self, request: dict) -> dict:
        name = request["logGroupName"]
        self._group(name)
        for stream in self._groups.pop(name)["streams"].values():
            stream.path.unlink(missing_ok=True)
        directory = self._group_dir(name)
        (directory / ".group.json").unlink(missing_ok=True)
        directory.rmdir()
        return {}

    def _op_DeleteLogStream(self, request: dict) -> dict:
        group = self._group(request["logGroupName"])
        stream = group["streams"].pop(request["logStreamName"], None)
        if stream is None:
            raise _not_found("log stream")
        stream.path.unlink(missing_ok=True)
        return {}

    # -- internals ----------------------------------------------------------------------------
    def _group(self, name: str) -> dict:
        if name not in self._groups:
            raise _not_found("log group")
        return self._groups[name]

    def _group_dir(self, name: str) -> Path:
        return self.root / file_name(name)

    def _ensure_group(self, name: str) -> None:
        if name in self._groups:
            return
        directory = self._group_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        created = _now_ms()
        (directory / ".group.json").write_text(json.dumps({"name": name, "creationTime": created}))
        self._groups[name] = {"creationTime": created, "streams": {}}

    def _create_stream(self, group: str, name: str) -> _Stream:
        path = self._group_dir(group) / f"{file_name(name)}.jsonl"
        path.touch()
        stream = _Stream(name, _now_ms(), path)
        self._groups[group]["streams"][name] = stream
        return stream

    def _load(self) -> None:
        for marker in sorted(self.root.glob("*/.group.json")):
            try:
                group = json.loads(marker.read_text())
            except ValueError:
                continue
            streams = {}
            for path in sorted(marker.parent.glob("*.jsonl")):
                stream = _Stream(unquote(path.stem), int(path.stat().st_mtime * 1000), path)
                for line in path.read_text().splitlines():
                    try:
                        stream.events.append(json.loads(line))
                    except ValueError:
                        continue  # the last line of a stream a crash interrupted
                if stream.events:
                    stream.created = stream.events[0]["ingestionTime"]
                streams[stream.name] = stream
            self._groups[group["name"]] = {"creationTime": group["creationTime"], "streams": streams}
