"""Input channels: which S3 objects a training host receives and where they land.

SageMaker resolves a channel's ``S3DataSource`` to a list of objects (every key under an
``S3Prefix``, or the entries of a ``ManifestFile``), gives each host all of them
(``FullyReplicated``) or every n-th one (``ShardedByS3Key``), and copies them to
``/opt/ml/input/data/<channel>/`` keeping their paths relative to the prefix.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from include.local_sagemaker.names import REGION, split_s3_uri
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.paths import PathEscapeError, confined


class ChannelError(Exception):
    """The channel's data cannot be fetched; the message is the job's ``FailureReason``."""


@dataclass(frozen=True)
class ChannelObject:
    bucket: str
    key: str
    relative_path: str
    size: int | None = None  # bytes, as the listing gives it


def _no_objects(uri: str, bucket: str, role: str) -> ChannelError:
    return ChannelError(
        f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please '
        f"ensure that the bucket exists in the selected region ({REGION}), that objects exist under "
        f'that S3 prefix, and that the role "{role}" has "s3:ListBucket" permissions on bucket "{bucket}".'
    )


def _prefix_objects(store: ObjectStore, uri: str, role: str) -> list[ChannelObject]:
    bucket, prefix = split_s3_uri(uri)
    listed = [(key, size) for key, size in store.list_objects(bucket, prefix) if not key.endswith("/")]
    if not listed:
        raise _no_objects(uri, bucket, role)
    objects = []
    for key, size in listed:
        relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
        objects.append(ChannelObject(bucket, key, relative, size))
    return objects


def _manifest_objects(store: ObjectStore, uri: str, role: str) -> list[ChannelObject]:
    bucket, key = split_s3_uri(uri)
    raw = store.get(bucket, key)
    if raw is None:
        raise _no_objects(uri, bucket, role)
    try:
        manifest = json.loads(raw)
        prefix_uri = manifest[0]["prefix"]
        entries = [str(entry) for entry in manifest[1:]]
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise ChannelError(
            f"ClientError: Unable to parse manifest file {uri}: expected "
            f'[{{"prefix": "s3://bucket/prefix/"}}, "relative/key", ...] ({error})'
        ) from error
    prefix_bucket, prefix = split_s3_uri(prefix_uri)
    objects = []
    for entry in entries:
        object_key = prefix + entry
        size = store.size(prefix_bucket, object_key)
        if size is None:
            raise ChannelError(
                f"ClientError: Manifest file {uri} lists s3://{prefix_bucket}/{object_key}, "
                "which does not exist"
            )
        objects.append(ChannelObject(prefix_bucket, object_key, entry, size))
    return objects


def channel_objects(store: ObjectStore, s3_data_source: dict, role: str = "") -> list[ChannelObject]:
    """All objects a channel's ``S3DataSource`` names, in key order."""
    data_type = s3_data_source.get("S3DataType", "S3Prefix")
    uri = s3_data_source["S3Uri"]
    if data_type == "ManifestFile":
        return _manifest_objects(store, uri, role)
    if data_type == "S3Prefix":
        return _prefix_objects(store, uri, role)
    raise ChannelError(f"ClientError: S3DataType {data_type} is not supported by the local engine")


def shard(objects: list[ChannelObject], host_index: int, host_count: int) -> list[ChannelObject]:
    """``ShardedByS3Key``: host ``i`` of ``n`` receives objects ``i, i+n, i+2n...`` in key order."""
    return sorted(objects, key=lambda item: item.key)[host_index::host_count]


def host_objects(
    store: ObjectStore, channel: dict, role: str = "", host_index: int = 0, host_count: int = 1
) -> list[ChannelObject]:
    """The objects of ``channel`` that host ``host_index`` of ``host_count`` receives, in key order."""
    source = channel["DataSource"]["S3DataSource"]
    objects = channel_objects(store, source, role)
    if source.get("S3DataDistributionType") == "ShardedByS3Key":
        objects = shard(objects, host_index, host_count)
    return objects


def object_path(directory: Path, item: ChannelObject) -> Path:
    """Where ``item`` lies in a channel's ``directory``; a key naming a path outside it is refused."""
    try:
        return confined(directory, item.relative_path)
    except PathEscapeError:
        raise ChannelError(
            f"ClientError: Data download failed: the key s3://{item.bucket}/{item.key} names the file "
            f"{item.relative_path!r}, which lies outside the channel's directory."
        ) from None


def download_channel(
    store: ObjectStore,
    channel: dict,
    destination: Path,
    role: str = "",
    host_index: int = 0,
    host_count: int = 1,
) -> int:
    """Copy a channel's objects for one host into ``destination``; returns the bytes written."""
    return download_objects(store, host_objects(store, channel, role, host_index, host_count), destination)


def download_objects(store: ObjectStore, objects: list[ChannelObject], destination: Path) -> int:
    """Copy ``objects`` into ``destination`` at their relative paths; returns the bytes written."""
    destination.mkdir(parents=True, exist_ok=True)
    targets = []
    for item in objects:
        target = object_path(destination, item)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _unwritable(item, error) from error
        targets.append((item.bucket, item.key, target))
    written = 0
    # Closed on the way out, so a failure cancels the downloads still under way at once.
    with contextlib.closing(store.download_all(targets)) as sizes:
        for item in objects:
            try:
                size = next(sizes)
            except OSError as error:
                raise _unwritable(item, error) from error
            if size is None:  # deleted between listing and copying
                raise ChannelError(
                    f"ClientError: Data download failed: s3://{item.bucket}/{item.key} was deleted"
                )
            written += size
    return written


def _unwritable(item: ChannelObject, error: OSError) -> ChannelError:
    # e.g. keys "a" and "a/b": a file where a directory must go
    return ChannelError(
        f"ClientError: Data download failed: s3://{item.bucket}/{item.key} cannot be written as "
        f"{item.relative_path!r} in the channel's directory: {error.strerror}"
    )
