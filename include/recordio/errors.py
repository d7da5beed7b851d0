"""Errors raised by the recordIO-protobuf codec."""

from __future__ import annotations


class RecordIOError(ValueError):
    """A recordIO-protobuf stream is malformed: the message names the byte offset and what was found."""
