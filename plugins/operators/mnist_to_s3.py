"""``MnistToS3Operator``: fetch an MNIST source and put its splits on S3 in the algorithms' formats."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from include.mnist import DEFAULT_SOURCE, FORMATS, load_mnist, write_dataset
from include.mnist.dataset import NUM_FEATURES, PIXEL_TYPES, SPLIT_NAMES
from include.mnist.writers import DEFAULT_ROWS_PER_SHARD, WrittenSplit


class MnistToS3Operator(AwsBaseOperator[S3Hook]):
    """Load MNIST from ``source`` and upload its splits to ``s3://<s3_bucket>/<s3_prefix>/<format>/<split>/``.

    Each split is written as ``part-NNNNN.<ext>`` shards. Objects already under those split prefixes that
    this run did not write are removed afterwards, so a prefix never mixes two runs. If an upload fails,
    the objects this run uploaded are deleted before the error is raised.

    The XCom result is::

        {"source": ..., "split_rule": ..., "pixels": "float32", "sizes": {"train": n, ...},
         "outputs": {<format>: {<split>: {"s3_uri": "s3://b/p/<format>/<split>/", "keys": [...],
                                          "records": n, "feature_dim": 784, "content_type": ...}}}}

    Each split's ``s3_uri``, ``keys``, ``records`` and ``feature_dim`` are what every data operator answers.

    :param s3_bucket: destination bucket.
    :param s3_prefix: destination key prefix (no leading or trailing slash needed).
    :param source: MNIST source spec (see :mod:`include.mnist.sources`); defaults to the offline sample.
    :param formats: any of ``parquet``, ``libsvm``, ``csv``, ``csv-features``, ``recordio``.
    :param splits: which of ``train``, ``validation``, ``test`` to write.
    :param pixels: ``float32`` (values in [0, 1]) or ``uint8`` (0–255).
    :param rows_per_shard: maximum rows in one output file.
    :param min_shards: minimum files per split (fewer only if it has fewer rows): the training instances
        that read it ``ShardedByS3Key``, so that each receives data. Templated, e.g.
        ``"{{ params.instance_count }}"``.
    :param cache_dir: download cache; ``$MNIST_CACHE_DIR`` or the checkout's ``.cache/mnist`` if None.
    :param checksums: expected checksums by file name for a mirror with its own files
        (``{"mnist.pkl.gz": "sha256:<hex>"}``).
    :param create_bucket: create ``s3_bucket`` if it does not exist (handy in local mode).
    :param aws_conn_id: Airflow connection for S3; its endpoint_url is honoured (local mode). Also used to
        read ``s3://`` sources.
    """

    aws_hook_class = S3Hook
    template_fields: Sequence[str] = aws_template_fields(
        "source", "s3_bucket", "s3_prefix", "formats", "splits", "pixels", "checksums", "min_shards"
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"checksums": "json"}
    ui_color = "#d5e8d4"

    def __init__(
        self,
        *,
        s3_bucket: str,
        s3_prefix: str,
        source: str = DEFAULT_SOURCE,
        formats: Sequence[str] = ("recordio",),
        splits: Sequence[str] = SPLIT_NAMES,
        pixels: str = "float32",
        rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
        min_shards: int | str = 1,
        cache_dir: str | None = None,
        checksums: dict[str, str] | None = None,
        create_bucket: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be at least 1, got {rows_per_shard}")
        self.s3_bucket = s3_bucket
        self.s3_prefix = s3_prefix
        self.source = source
        self.formats = formats
        self.splits = splits
        self.pixels = pixels
        self.rows_per_shard = rows_per_shard
        self.min_shards = min_shards
        self.cache_dir = cache_dir
        self.checksums = checksums
        self.create_bucket = create_bucket

    def _validate_rendered(self) -> tuple[list[str], list[str]]:
        # Templated fields are only final at execute time, so they are checked here as well as typed.
        formats = [self.formats] if isinstance(self.formats, str) else list(self.formats)
        splits = [self.splits] if isinstance(self.splits, str) else list(self.splits)
        unknown = [name for name in formats if name not in FORMATS]
        if unknown or not formats:
            raise ValueError(f"formats {formats} must be a non-empty list of {sorted(FORMATS)}")
        if not splits or any(name not in SPLIT_NAMES for name in splits):
            raise ValueError(f"splits {splits} must be a non-empty list of {list(SPLIT_NAMES)}")
        if self.pixels not in PIXEL_TYPES:
            raise ValueError(f"pixels {self.pixels!r} must be one of {list(PIXEL_TYPES)}")
        if not self.s3_bucket:
            raise ValueError("s3_bucket must not be empty")
        if not str(self.min_shards).isdigit() or int(self.min_shards) < 1:
            raise ValueError(f"min_shards must be a whole number of at least 1, got {self.min_shards!r}")
        return formats, splits

    def _split_prefix(self, fmt: str, split: str) -> str:
        prefix = self.s3_prefix.strip("/")
        return f"{prefix}/{fmt}/{split}/" if prefix else f"{fmt}/{split}/"

    def execute(self, context: Any) -> dict[str, Any]:
        formats, splits = self._validate_rendered()
        dataset = load_mnist(
            self.source,
            pixels=self.pixels,
            cache_dir=self.cache_dir,
            s3_client=self.hook.get_conn(),
            checksums=self.checksums,
        )
        if self.create_bucket and not self.hook.check_for_bucket(self.s3_bucket):
            self.hook.create_bucket(bucket_name=self.s3_bucket)

        with tempfile.TemporaryDirectory(prefix="mnist-to-s3-") as scratch:
            written = write_dataset(
                dataset,
                Path(scratch),
                formats,
                splits=splits,
                rows_per_shard=self.rows_per_shard,
                min_shards=int(self.min_shards),
            )
            uploaded = self._upload_all(written)

        self._remove_stale_objects(uploaded)
        outputs: dict[str, dict[str, Any]] = {}
        for item in written:
            keys = uploaded[(item.format, item.split)]
            outputs.setdefault(item.format, {})[item.split] = {
                "s3_uri": f"s3://{self.s3_bucket}/{self._split_prefix(item.format, item.split)}",
                "keys": keys,
                "records": item.rows,
                "feature_dim": NUM_FEATURES,
                "content_type": FORMATS[item.format].content_type,
            }
        self.log.info(
            "Wrote MNIST from %s (%s) to s3://%s/%s",
            self.source,
            dataset.sizes,
            self.s3_bucket,
            self.s3_prefix,
        )
        return {
            "source": dataset.source,
            "split_rule": dataset.split_rule,
            "pixels": self.pixels,
            "sizes": {name: dataset.sizes[name] for name in splits},
            "outputs": outputs,
        }

    def _upload_all(self, written: list[WrittenSplit]) -> dict[tuple[str, str], list[str]]:
        uploaded: dict[tuple[str, str], list[str]] = {}
        done: list[str] = []
        try:
            for item in written:
                keys = uploaded.setdefault((item.format, item.split), [])
                for path in item.paths:
                    key = self._split_prefix(item.format, item.split) + path.name
                    self.hook.load_file(path, key, bucket_name=self.s3_bucket, replace=True)
                    keys.append(key)
                    done.append(key)
        except Exception:
            if done:
                self.log.error("Upload failed; deleting the %d objects this run uploaded", len(done))
                self.hook.delete_objects(self.s3_bucket, done)
            raise
        return uploaded

    def _remove_stale_objects(self, uploaded: dict[tuple[str, str], list[str]]) -> None:
        for (fmt, split), keys in uploaded.items():
            present = self.hook.list_keys(bucket_name=self.s3_bucket, prefix=self._split_prefix(fmt, split))
            stale = sorted(set(present) - set(keys))
            if stale:
                self.log.info("Removing %d objects of an earlier run under %s", len(stale), fmt + "/" + split)
                self.hook.delete_objects(self.s3_bucket, stale)
