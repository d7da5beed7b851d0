"""``ParquetToRecordIOOperator``: the seeds' Parquet → recordIO-protobuf conversion step, for any DAG."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk import Asset

if TYPE_CHECKING:
    from include.recordio.parquet import Shard

SHARD_SUFFIX = ".pbr"
DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024


class ParquetToRecordIOOperator(AwsBaseOperator[S3Hook]):
    """Convert a Parquet table to recordIO-protobuf shards under an S3 prefix.

    The Parquet file (the seeds' layout: one numeric column per feature plus a label column) is read with
    fastparquet one row group at a time; features are cast to float32, labels (optionally mapped, e.g. the
    linear-learner seed's "is it a zero" ``{0: 1}`` with ``label_default=0``) to float32, and written as
    ``part-NNNNN.pbr`` shards of at most ``max_shard_bytes`` each. Each shard is uploaded as soon as it is
    complete (the S3 transfer manager uses a multipart upload for large shards), so memory and scratch disk
    hold one row group and one shard at most. The output is byte-identical to the SageMaker SDK's writer.

    Bad input fails with an error naming the file, column or row, and leaves no object under the
    destination: schema problems are found before anything is written, and if anything fails later the
    shards this run uploaded are deleted. After a successful run, ``part-*.pbr`` objects of an earlier run
    under the prefix are removed, so a retry never mixes two runs.

    The XCom result is ``{"s3_uri": "s3://bucket/prefix/", "keys": [...], "records": n, "feature_dim": d,
    "label_column": name}``: the shards' prefix and keys in the vocabulary every data operator answers in.

    Lineage: unless ``inlets`` / ``outlets`` are given, the input file and the output prefix are declared as
    Airflow Assets (when they are not templated).

    :param source: the Parquet file: a local path or an ``s3://bucket/key`` URI (read through the connection).
    :param s3_prefix: destination ``s3://bucket/prefix/``.
    :param label_column: name of the label column.
    :param feature_columns: feature columns in order; all columns but the label if None.
    :param label_mapping: label value → new label (keys compared as numbers); None keeps labels as they are.
    :param label_default: label for values ``label_mapping`` does not name; None makes them an error.
    :param allow_nan: write NaN features instead of failing (NaN labels always fail).
    :param max_shard_bytes: upper bound of one shard object's size.
    :param aws_conn_id: Airflow connection for S3; its endpoint_url is honoured (local mode).
    """

    aws_hook_class = S3Hook
    template_fields: Sequence[str] = aws_template_fields(
        "source", "s3_prefix", "label_column", "feature_columns", "label_mapping", "label_default"
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"label_mapping": "json"}
    ui_color = "#dae8fc"

    def __init__(
        self,
        *,
        source: str,
        s3_prefix: str,
        label_column: str,
        feature_columns: Sequence[str] | None = None,
        label_mapping: Mapping[Any, float] | None = None,
        label_default: float | None = None,
        allow_nan: bool = False,
        max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("inlets", _assets(_asset_uri(source)))
        kwargs.setdefault("outlets", _assets(s3_prefix))
        super().__init__(**kwargs)
        if max_shard_bytes < 1:
            raise ValueError(f"max_shard_bytes must be positive, got {max_shard_bytes}")
        self.source = source
        self.s3_prefix = s3_prefix
        self.label_column = label_column
        self.feature_columns = feature_columns
        self.label_mapping = label_mapping
        self.label_default = label_default
        self.allow_nan = allow_nan
        self.max_shard_bytes = max_shard_bytes

    def execute(self, context: Any) -> dict[str, Any]:
        # fastparquet and pandas load when the task runs, not when the dag-processor parses a DAG.
        from include.recordio.parquet import inspect_table, iter_batches, write_shards

        bucket, prefix = self._destination()
        uploaded: list[str] = []

        def upload(shard: Shard) -> None:
            key = prefix + shard.path.name
            self.hook.load_file(str(shard.path), key, bucket_name=bucket, replace=True)
            uploaded.append(key)
            shard.path.unlink()
            self.log.info(
                "Uploaded s3://%s/%s (%d records, %d bytes)", bucket, key, shard.records, shard.size
            )

        with tempfile.TemporaryDirectory(prefix="parquet-to-recordio-") as scratch:
            try:
                table = inspect_table(
                    self._local_source(Path(scratch)), self.label_column, self.feature_columns
                )
                batches = iter_batches(
                    table,
                    label_mapping=self.label_mapping,
                    label_default=None if self.label_default is None else float(self.label_default),
                    allow_nan=self.allow_nan,
                )
                shards = Path(scratch) / "shards"
                shards.mkdir()
                records = write_shards(
                    batches,
                    shards,
                    feature_dim=len(table.feature_columns),
                    max_shard_bytes=self.max_shard_bytes,
                    on_shard=upload,
                )
            except BaseException:
                if uploaded:
                    self.log.error(
                        "Conversion failed; deleting the %d shards this run uploaded", len(uploaded)
                    )
                    self.hook.delete_objects(bucket, uploaded)
                raise
        self._remove_stale_shards(bucket, prefix, uploaded)
        self.log.info(
            "Wrote %d records of %d features to s3://%s/%s",
            records,
            len(table.feature_columns),
            bucket,
            prefix,
        )
        return {
            "s3_uri": f"s3://{bucket}/{prefix}",
            "keys": uploaded,
            "records": records,
            "feature_dim": len(table.feature_columns),
            "label_column": self.label_column,
        }

    def _destination(self) -> tuple[str, str]:
        if not self.s3_prefix.startswith("s3://"):
            raise ValueError(f"s3_prefix must be an s3://bucket/prefix/ URI, got {self.s3_prefix!r}")
        bucket, prefix = S3Hook.parse_s3_url(self.s3_prefix)
        prefix = prefix.strip("/")
        return bucket, f"{prefix}/" if prefix else ""

    def _local_source(self, scratch: Path) -> str:
        if not self.source.startswith("s3://"):
            if not os.path.isfile(self.source):
                raise FileNotFoundError(f"Parquet source {self.source!r} does not exist")
            return self.source
        bucket, key = S3Hook.parse_s3_url(self.source)
        if not self.hook.check_for_key(key, bucket_name=bucket):
            raise FileNotFoundError(f"Parquet source {self.source} does not exist")
        return self.hook.download_file(key, bucket_name=bucket, local_path=str(scratch))

    def _remove_stale_shards(self, bucket: str, prefix: str, written: list[str]) -> None:
        present = self.hook.list_keys(bucket_name=bucket, prefix=prefix + "part-")
        stale = sorted(key for key in set(present) - set(written) if key.endswith(SHARD_SUFFIX))
        if stale:
            self.log.info("Removing %d shards of an earlier run under s3://%s/%s", len(stale), bucket, prefix)
            self.hook.delete_objects(bucket, stale)


def _asset_uri(source: object) -> object:
    if not isinstance(source, str) or "://" in source or "{{" in source:
        return source
    return Path(source).resolve().as_uri()


def _assets(uri: object) -> list[Asset]:
    # A templated or XCom-fed location is only known at run time; lineage is then left to the DAG author.
    return [Asset(uri)] if isinstance(uri, str) and "{{" not in uri else []
