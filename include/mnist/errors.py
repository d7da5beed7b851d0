"""Errors raised while getting MNIST. Each names the source and what was expected."""

from __future__ import annotations


class MnistError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceSpecError(MnistError, ValueError):
    """A source spec string is not one of the forms this package understands."""


class DownloadError(MnistError):
    """A file could not be fetched (unreachable mirror, HTTP 404, missing S3 object...)."""


class ChecksumMismatchError(MnistError):
    """Fetched bytes do not match the checksum published for them."""


class DataFormatError(MnistError, ValueError):
    """A file was fetched intact but its content is not the MNIST layout it claims to be."""
