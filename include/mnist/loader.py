"""``load_mnist(source)``: any supported source, fetched, verified and split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from include.mnist.checksums import CANONICAL_IDX, Digest, matching_digest
from include.mnist.dataset import (
    PIXEL_TYPES,
    MnistDataset,
    PixelType,
    from_single_pool,
    from_three_splits,
    from_train_test,
)
from include.mnist.errors import ChecksumMismatchError, DataFormatError, DownloadError, MnistError
from include.mnist.fetch import DownloadCache, RetryPolicy
from include.mnist.idx import read_images, read_labels
from include.mnist.pickle_format import read_mnist_pickle
from include.mnist.sample import read_sample
from include.mnist.sources import (
    IdxDirectorySource,
    IdxMirrorSource,
    PickleSource,
    SampleSource,
    Source,
    parse_source,
)

log = logging.getLogger(__name__)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _read_idx_set(spec: str, paths: dict[str, Path], pixels: PixelType) -> MnistDataset:
    try:
        arrays = {
            role: read_images(path) if role.endswith("images") else read_labels(path)
            for role, path in paths.items()
        }
    except DataFormatError as exc:
        raise DataFormatError(f"MNIST source {spec!r}: {exc}") from exc
    for part in ("train", "test"):
        n_images, n_labels = len(arrays[f"{part}_images"]), len(arrays[f"{part}_labels"])
        if n_images != n_labels:
            raise DataFormatError(
                f"MNIST source {spec!r}: {paths[f'{part}_images'].name} holds {n_images} images but "
                f"{paths[f'{part}_labels'].name} holds {n_labels} labels; the counts must match"
            )
    return from_train_test(
        spec,
        (arrays["train_images"], arrays["train_labels"]),
        (arrays["test_images"], arrays["test_labels"]),
        pixels,
    )


def _load_mirror(
    source: IdxMirrorSource, cache: DownloadCache, checksums: dict[str, Digest], pixels: PixelType
) -> MnistDataset:
    paths = {}
    for role, filename in IDX_FILES.items():
        digest = checksums.get(filename, CANONICAL_IDX[filename])
        paths[role] = cache.fetch(source.base_url + filename, digest, source=source.spec)
    try:
        return _read_idx_set(source.spec, paths, pixels)
    except DataFormatError:
        # Bytes that matched their checksum but are not MNIST (a user-supplied checksum) leave the cache.
        for path in paths.values():
            path.unlink(missing_ok=True)
        raise


def _find_idx_file(directory: Path, filename: str, spec: str) -> Path:
    for candidate in (directory / filename, directory / filename.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    raise DownloadError(
        f"MNIST source {spec!r}: {directory} has no {filename} (nor its uncompressed form); "
        f"expected the four IDX files {sorted(IDX_FILES.values())}"
    )


def _load_directory(source: IdxDirectorySource, pixels: PixelType) -> MnistDataset:
    if not source.directory.is_dir():
        hint = ""
        if source.spec == "fashion-mnist":
            hint = " (apt-get install dataset-fashion-mnist provides it)"
        raise DownloadError(
            f"MNIST source {source.spec!r}: directory {source.directory} does not exist{hint}"
        )
    paths = {role: _find_idx_file(source.directory, name, source.spec) for role, name in IDX_FILES.items()}
    if source.known_digests is not None:
        for role, path in paths.items():
            accepted = source.known_digests[IDX_FILES[role]]
            if matching_digest(path, accepted) is None:
                raise ChecksumMismatchError(
                    f"MNIST source {source.spec!r}: {path} matches none of its published checksums "
                    f"({', '.join(map(str, accepted))})"
                )
    return _read_idx_set(source.spec, paths, pixels)


def _load_pickle(
    source: PickleSource, cache: DownloadCache, checksums: dict[str, Digest], pixels: PixelType
) -> MnistDataset:
    digest = checksums.get(source.filename, source.digest)
    path = cache.fetch(source.url, digest, source=source.spec)
    try:
        splits = read_mnist_pickle(path)
    except DataFormatError as exc:
        path.unlink(missing_ok=True)
        raise DataFormatError(f"MNIST source {source.spec!r}: {exc}") from exc
    return from_three_splits(source.spec, splits, pixels)


def load_mnist(
    source: str | Source = "sample",
    *,
    pixels: PixelType = "float32",
    cache_dir: Path | str | None = None,
    s3_client: Any = None,
    retry: RetryPolicy | None = None,
    checksums: dict[str, str] | None = None,
) -> MnistDataset:
    """Load MNIST from a source spec into train / validation / test splits.

    Args:
        source: a spec string (see :mod:`include.mnist.sources`) or a parsed source. ``"sample"`` (the
            default) needs no network.
        pixels: ``"float32"`` for values in [0, 1] (what the SageMaker examples use) or ``"uint8"``.
        cache_dir: where downloads are cached by checksum; ``$MNIST_CACHE_DIR`` or ``.cache/mnist``.
        s3_client: boto3 S3 client for ``s3://`` sources (e.g. ``S3Hook(aws_conn_id).get_conn()``).
        retry: backoff policy for transient HTTP errors.
        checksums: expected checksums by file name (``{"train-images-idx3-ubyte.gz": "sha256:<hex>"}``)
            for a mirror whose files are not the published ones.

    Raises:
        MnistError: every failure (bad spec, unreachable source, checksum mismatch, bad file) is a subclass.
    """
    if pixels not in PIXEL_TYPES:
        raise ValueError(f"pixels={pixels!r} is not one of {PIXEL_TYPES}")
    parsed = parse_source(source) if isinstance(source, str) else source
    overrides = {name: Digest.parse(text) for name, text in (checksums or {}).items()}
    cache = DownloadCache(cache_dir, retry=retry, s3_client=s3_client)
    match parsed:
        case SampleSource():
            images, labels = read_sample()
            dataset = from_single_pool(parsed.spec, images, labels, pixels)
        case IdxMirrorSource():
            dataset = _load_mirror(parsed, cache, overrides, pixels)
        case PickleSource():
            dataset = _load_pickle(parsed, cache, overrides, pixels)
        case IdxDirectorySource():
            dataset = _load_directory(parsed, pixels)
        case _:
            raise MnistError(f"unsupported source object {parsed!r}")
    log.info("Loaded MNIST from %s: %s (%s)", parsed.spec, dataset.sizes, dataset.split_rule)
    return dataset
