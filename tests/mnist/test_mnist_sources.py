"""The source spec: every valid form parses to the right source; anything else lists the valid forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from include.mnist.checksums import CANONICAL_IDX, FASHION_IDX, SAGEMAKER_PICKLE, Digest
from include.mnist.errors import SourceSpecError
from include.mnist.sources import (
    DEFAULT_MIRROR,
    SPEC_PATTERN,
    IdxDirectorySource,
    IdxMirrorSource,
    PickleSource,
    SampleSource,
    parse_source,
)

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("sample", SampleSource()),
        (" sample ", SampleSource()),
        ("mnist", IdxMirrorSource("mnist", DEFAULT_MIRROR)),
        (
            "https://mirror.example/mnist/",
            IdxMirrorSource("https://mirror.example/mnist/", "https://mirror.example/mnist/"),
        ),
        ("http://127.0.0.1:8000/m", IdxMirrorSource("http://127.0.0.1:8000/m", "http://127.0.0.1:8000/m/")),
        (
            "https://host/data/mnist.pkl.gz",
            PickleSource(
                "https://host/data/mnist.pkl.gz", "https://host/data/mnist.pkl.gz", SAGEMAKER_PICKLE
            ),
        ),
        (
            "s3://bucket/algorithms/kmeans/mnist/mnist.pkl.gz",
            PickleSource(
                "s3://bucket/algorithms/kmeans/mnist/mnist.pkl.gz",
                "s3://bucket/algorithms/kmeans/mnist/mnist.pkl.gz",
                SAGEMAKER_PICKLE,
            ),
        ),
        (
            f"s3://b/mnist.pkl.gz#sha256={SHA}",
            PickleSource(f"s3://b/mnist.pkl.gz#sha256={SHA}", "s3://b/mnist.pkl.gz", Digest("sha256", SHA)),
        ),
        ("file:///data/idx", IdxDirectorySource("file:///data/idx", Path("/data/idx"))),
        ("file:///data/my%20idx", IdxDirectorySource("file:///data/my%20idx", Path("/data/my idx"))),
        ("/data/idx", IdxDirectorySource("/data/idx", Path("/data/idx"))),
    ],
)
def test_valid_specs_parse_to_typed_sources(spec, expected):
    assert parse_source(spec) == expected
    assert re.fullmatch(SPEC_PATTERN, spec.strip()), "the Param pattern must accept every valid spec"


def test_fashion_mnist_points_at_the_debian_directory_with_its_checksums():
    source = parse_source("fashion-mnist")
    assert source.directory == Path("/usr/share/datasets/fashion-mnist")
    assert source.known_digests == FASHION_IDX


def test_canonical_checksums_are_the_published_sha256():
    assert CANONICAL_IDX["train-images-idx3-ubyte.gz"] == Digest(
        "sha256", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422
    )
    assert set(CANONICAL_IDX) == set(FASHION_IDX)


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("", "is empty"),
        ("mnist2", "is not recognised"),
        ("ftp://host/mnist/", "is not recognised"),
        ("s3://bucket/mnist/", "is not an s3://<bucket>/<key>.pkl.gz object"),
        ("https:///mnist.pkl.gz", "has no host"),
        ("https://host/mnist/#sha256=" + SHA, "only a .pkl.gz URL may carry"),
        ("https://host/mnist.pkl.gz#sha256=xyz", "bad checksum fragment"),
        ("https://host/mnist.pkl.gz#crc32=1234", "bad checksum fragment"),
        ("file://otherhost/data", "remote host"),
    ],
)
def test_invalid_specs_name_the_spec_and_list_valid_forms(spec, complaint):
    with pytest.raises(SourceSpecError) as raised:
        parse_source(spec)
    message = str(raised.value)
    assert repr(spec) in message
    assert complaint in message
    assert "'sample'" in message
    assert "s3://" in message


@pytest.mark.parametrize("spec", ["mnist2", "ftp://host/x", "s3://bucket/mnist/", "relative/dir"])
def test_the_param_pattern_rejects_what_the_parser_rejects(spec):
    assert not re.fullmatch(SPEC_PATTERN, spec)
    with pytest.raises(SourceSpecError):
        parse_source(spec)


def test_a_non_string_spec_is_refused():
    with pytest.raises(SourceSpecError, match="is not a string"):
        parse_source(42)
