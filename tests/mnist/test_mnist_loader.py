"""load_mnist from every source, offline: the shipped sample, an HTTP mirror, local dirs, HTTP/S3 pickles."""

from __future__ import annotations

import gzip
import hashlib
import pickle

import boto3
import numpy as np
import pytest

from include.mnist import load_mnist
from include.mnist.checksums import Digest
from include.mnist.errors import ChecksumMismatchError, DataFormatError, DownloadError, SourceSpecError
from include.mnist.fetch import RetryPolicy
from include.mnist.idx import encode_idx
from include.mnist.sources import FASHION_IDX, IdxDirectorySource
from tests.mnist.mnist_testdata import IDX_NAMES, cached_files, sha256_spec

FAST_RETRY = RetryPolicy(attempts=2, initial_delay=0.01, timeout=5)


def serve_idx(file_server, files: dict[str, bytes]) -> dict[str, str]:
    """Put IDX files on the server; return the checksum overrides a test mirror needs."""
    file_server.files.update(files)
    return {name: sha256_spec(data) for name, data in files.items()}


def write_dir(directory, files: dict[str, bytes]):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


# --- the shipped sample ------------------------------------------------------------------------


def test_sample_is_5000_real_digits_split_80_10_10():
    dataset = load_mnist("sample")
    assert dataset.sizes == {"train": 4000, "validation": 500, "test": 500}
    assert "stratified" in dataset.split_rule
    for split in dataset.splits.values():
        assert split.images.dtype == np.float32
        assert split.images.shape[1] == 784
        assert split.images.min() >= 0.0
        assert split.images.max() <= 1.0
        # stratified: every digit is present in the same proportion (500 of each digit in the sample)
        np.testing.assert_array_equal(np.bincount(split.labels, minlength=10), [len(split) // 10] * 10)
    # Real handwriting, not noise: on average about a fifth of the pixels of an MNIST digit are inked.
    assert 0.1 < (dataset.train.images > 0).mean() < 0.3


def test_sample_split_is_deterministic_and_uint8_is_available():
    first, second = load_mnist("sample", pixels="uint8"), load_mnist("sample", pixels="float32")
    assert first.train.images.dtype == np.uint8
    np.testing.assert_array_equal(first.test.labels, second.test.labels)
    np.testing.assert_allclose(first.test.images / 255, second.test.images, atol=1e-7)


def test_a_tampered_sample_is_refused(monkeypatch, tmp_path):
    import include.mnist.sample as sample_module

    fake = tmp_path / "mnist_5k.csv.gz"
    fake.write_bytes(gzip.compress(b"0," * 784 + b"3\n"))
    monkeypatch.setattr(sample_module, "sample_path", lambda: fake)
    with pytest.raises(ChecksumMismatchError, match=r"MNIST source 'sample'.*expected 846f6cad"):
        load_mnist("sample")


# --- the canonical IDX files from a mirror ------------------------------------------------------


def test_idx_mirror_over_http_is_verified_split_and_cached(file_server, cache_dir, tiny):
    checksums = serve_idx(file_server, tiny.idx_bytes())
    dataset = load_mnist(file_server.base_url, cache_dir=cache_dir, checksums=checksums, retry=FAST_RETRY)

    assert dataset.sizes == {"train": 10, "validation": 2, "test": 4}
    np.testing.assert_array_equal(dataset.train.labels, tiny.train_labels[:10])
    np.testing.assert_array_equal(dataset.validation.labels, tiny.train_labels[10:])
    np.testing.assert_allclose(dataset.test.images, tiny.test_images / 255, atol=1e-7)
    assert len(cached_files(cache_dir)) == 4

    load_mnist(file_server.base_url, cache_dir=cache_dir, checksums=checksums)
    assert all(count == 1 for count in file_server.requests.values()), "second load comes from the cache"


def test_idx_mirror_files_are_checked_against_the_published_sha256(file_server, cache_dir, tiny):
    serve_idx(file_server, tiny.idx_bytes())  # tiny files, but no overrides: the canonical digests apply
    with pytest.raises(ChecksumMismatchError, match=r"expected 440fcabf73cc.*9912422 bytes"):
        load_mnist(file_server.base_url, cache_dir=cache_dir, retry=FAST_RETRY)
    assert cached_files(cache_dir) == []


def test_wrong_magic_from_a_mirror_is_an_error_and_leaves_no_cache(file_server, cache_dir, tiny):
    files = tiny.idx_bytes()
    files[IDX_NAMES["train_labels"]] = gzip.compress(b"\x00\x00\x08\x03" + bytes(100))
    checksums = serve_idx(file_server, files)
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte\.gz: magic number 0x00000803"):
        load_mnist(file_server.base_url, cache_dir=cache_dir, checksums=checksums)
    assert cached_files(cache_dir) == []


def test_mismatched_image_and_label_counts(file_server, cache_dir, tiny):
    files = tiny.idx_bytes()
    files[IDX_NAMES["test_labels"]] = gzip.compress(encode_idx(tiny.test_labels[:3]))
    checksums = serve_idx(file_server, files)
    with pytest.raises(
        DataFormatError, match=r"t10k-images-idx3-ubyte.gz holds 4 images but .* holds 3 labels"
    ):
        load_mnist(file_server.base_url, cache_dir=cache_dir, checksums=checksums)


def test_truncated_gzip_that_matches_a_user_checksum_is_still_refused(file_server, cache_dir, tiny):
    files = tiny.idx_bytes()
    name = IDX_NAMES["train_images"]
    files[name] = files[name][:-200]
    checksums = serve_idx(file_server, files)
    with pytest.raises(
        DataFormatError, match=rf"MNIST source '{file_server.base_url}'.*{name}: truncated gzip"
    ):
        load_mnist(file_server.base_url, cache_dir=cache_dir, checksums=checksums)
    assert cached_files(cache_dir) == []


def test_missing_file_on_the_mirror(file_server, cache_dir, tiny):
    files = tiny.idx_bytes()
    del files[IDX_NAMES["test_labels"]]
    checksums = serve_idx(file_server, files)
    checksums[IDX_NAMES["test_labels"]] = "sha256:" + "0" * 64
    with pytest.raises(DownloadError, match=r"t10k-labels-idx1-ubyte\.gz failed with HTTP 404"):
        load_mnist(file_server.base_url, cache_dir=cache_dir, checksums=checksums)


# --- a local directory of IDX files ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["path", "file-url", "uncompressed"])
def test_local_directory_of_idx_files(tmp_path, tiny, form):
    files = tiny.idx_bytes()
    if form == "uncompressed":
        files = {name.removesuffix(".gz"): gzip.decompress(data) for name, data in files.items()}
    directory = write_dir(tmp_path / "idx dir", files)
    spec = directory.as_uri() if form == "file-url" else str(directory)
    dataset = load_mnist(spec, pixels="uint8")
    assert dataset.source == spec
    assert dataset.sizes == {"train": 10, "validation": 2, "test": 4}
    np.testing.assert_array_equal(dataset.test.images, tiny.test_images)


def test_directory_without_the_files(tmp_path):
    with pytest.raises(
        DownloadError, match=r"has no train-labels-idx1-ubyte\.gz .*expected the four IDX files"
    ):
        load_mnist(str(write_dir(tmp_path / "d", {IDX_NAMES["train_images"]: b"x"})))


def test_missing_directory_and_the_fashion_hint(tmp_path):
    with pytest.raises(DownloadError, match=r"directory .*nowhere does not exist"):
        load_mnist(str(tmp_path / "nowhere"))
    missing_fashion = IdxDirectorySource("fashion-mnist", tmp_path / "absent", FASHION_IDX)
    with pytest.raises(DownloadError, match="apt-get install dataset-fashion-mnist"):
        load_mnist(missing_fashion)


def test_known_directory_is_verified_against_its_published_checksums(tmp_path, tiny):
    directory = write_dir(tmp_path / "fashion", tiny.idx_bytes())
    source = IdxDirectorySource("fashion-mnist", directory, FASHION_IDX)
    with pytest.raises(
        ChecksumMismatchError, match=r"train-images-idx3-ubyte\.gz matches none .*md5:8d4fb7e6"
    ):
        load_mnist(source)
    trusted = {
        name: (Digest("sha256", hashlib.sha256(data).hexdigest()),) for name, data in tiny.idx_bytes().items()
    }
    assert load_mnist(IdxDirectorySource("mine", directory, trusted)).sizes["test"] == 4


# --- mnist.pkl.gz over HTTP and from S3 -------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 5])
def test_pickle_over_http_with_its_own_checksum(file_server, cache_dir, tiny, protocol):
    data = tiny.pickle_bytes(protocol)
    file_server.files["mnist.pkl.gz"] = data
    spec = file_server.url("mnist.pkl.gz") + "#" + sha256_spec(data).replace(":", "=")
    dataset = load_mnist(spec, cache_dir=cache_dir)
    assert dataset.sizes == {"train": 8, "validation": 4, "test": 4}
    assert dataset.split_rule == "as published in the source"
    np.testing.assert_array_equal(dataset.validation.labels, tiny.train_labels[8:])
    assert dataset.train.images.dtype == np.float32


def test_pickle_is_checked_against_the_published_md5(file_server, cache_dir, tiny):
    file_server.files["mnist.pkl.gz"] = tiny.pickle_bytes()
    with pytest.raises(ChecksumMismatchError, match=r"md5 .*expected a02cd19f81d51c426d7ca14024243ce9"):
        load_mnist(file_server.url("mnist.pkl.gz"), cache_dir=cache_dir)
    assert cached_files(cache_dir) == []


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (
            (np.zeros((2, 784), np.float32), np.zeros(2, np.int64)),
            "expected a \\(train, valid, test\\) tuple",
        ),
        (_Exploit(), r"refusing to load (__builtin__|builtins)\.print"),
        (
            [(np.zeros((2, 784), np.float32), np.zeros(3, np.int64))] * 3,
            "2 images but labels of shape \\(3,\\)",
        ),
        ([(np.full((2, 784), 3.0, np.float32), np.zeros(2, np.int64))] * 3, "expected values in \\[0, 1\\]"),
    ],
)
def test_bad_pickles_are_refused_and_evicted(file_server, cache_dir, content, complaint):
    data = gzip.compress(pickle.dumps(content, protocol=2))
    file_server.files["mnist.pkl.gz"] = data
    with pytest.raises(DataFormatError, match=complaint):
        load_mnist(
            file_server.url("mnist.pkl.gz"),
            cache_dir=cache_dir,
            checksums={"mnist.pkl.gz": sha256_spec(data)},
        )
    assert cached_files(cache_dir) == []


@pytest.mark.slow
def test_pickle_from_s3_through_a_given_client(s3_endpoint, cache_dir, tiny):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="sample-data")
    data = tiny.pickle_bytes()
    client.put_object(Bucket="sample-data", Key="algorithms/kmeans/mnist/mnist.pkl.gz", Body=data)
    spec = f"s3://sample-data/algorithms/kmeans/mnist/mnist.pkl.gz#{sha256_spec(data)}"

    dataset = load_mnist(spec, cache_dir=cache_dir, s3_client=client)
    assert dataset.sizes == {"train": 8, "validation": 4, "test": 4}

    with pytest.raises(DownloadError, match=r"s3://sample-data/nothing\.pkl\.gz does not exist"):
        load_mnist("s3://sample-data/nothing.pkl.gz", cache_dir=cache_dir, s3_client=client)
    assert cached_files(cache_dir) == [
        cache_dir / "sha256" / hashlib.sha256(data).hexdigest() / "mnist.pkl.gz"
    ]


def test_unknown_source_and_pixel_type():
    with pytest.raises(SourceSpecError, match="valid forms are"):
        load_mnist("cifar10")
    with pytest.raises(ValueError, match="pixels='float64'"):
        load_mnist("sample", pixels="float64")
