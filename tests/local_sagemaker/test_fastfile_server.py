"""The FastFile server's filesystem: a read-only tree of the objects, read by ranged GETs with read-ahead."""

from __future__ import annotations

import errno
import os
import stat

import pytest

pytest.importorskip("mfusepy")
import mfusepy

from include.local_sagemaker.channels import ChannelObject
from include.local_sagemaker.fastfile import FastFileMount, unmount_stale
from include.local_sagemaker.fastfile_server import READ_AHEAD_BYTES, ObjectFiles
from include.local_sagemaker.object_store import ObjectStore
from tests.support.engine import wait_for

BLOB = bytes(range(256)) * 12_000  # 3,072,000 bytes


class RangedObjects:
    """A store of one object per key, recording each ranged GET."""

    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects
        self.gets: list[tuple[str, int, int]] = []

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes | None:
        self.gets.append((key, start, length))
        return self.objects[key][start : start + length] if key in self.objects else None


@pytest.fixture
def tree():
    store = RangedObjects({"blob": BLOB, "small": b"1,2\n"})
    files = {"/blob.bin": ("b", "blob", len(BLOB)), "/sub/dir/small.csv": ("b", "small", 4)}
    return store, ObjectFiles(store, files)


def test_the_tree_lists_directories_and_files_with_their_sizes(tree):
    store, files = tree
    assert files.readdir("/", None) == [".", "..", "blob.bin", "sub"]
    assert files.readdir("/sub/dir", None) == [".", "..", "small.csv"]
    assert stat.S_ISDIR(files.getattr("/sub")["st_mode"])
    attributes = files.getattr("/blob.bin")
    assert stat.S_ISREG(attributes["st_mode"])
    assert attributes["st_size"] == len(BLOB)
    with pytest.raises(mfusepy.FuseOSError) as missing:
        files.getattr("/nope")
    assert missing.value.errno == errno.ENOENT
    assert store.gets == []  # nothing fetched before a file is read


def test_sequential_reads_cost_one_get_per_read_ahead_and_a_seek_one_more(tree):
    store, files = tree
    handle = files.open("/blob.bin", os.O_RDONLY)
    step = 128 * 1024
    data = b"".join(files.read("/blob.bin", step, offset, handle) for offset in range(0, len(BLOB), step))
    assert data == BLOB
    assert len(store.gets) == -(-len(BLOB) // READ_AHEAD_BYTES)
    assert files.read("/blob.bin", 16, 100, handle) == BLOB[100:116]
    assert files.read("/blob.bin", 16, len(BLOB), handle) == b""
    files.release("/blob.bin", handle)
    assert [key for key, _, _ in store.gets] == ["blob"] * (len(store.gets))


def test_opening_for_writing_is_refused_as_on_a_read_only_filesystem(tree):
    _, files = tree
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC):
        with pytest.raises(mfusepy.FuseOSError) as refused:
            files.open("/blob.bin", flags)
        assert refused.value.errno == errno.EROFS


def test_an_object_deleted_since_the_listing_reads_as_an_io_error(tree):
    store, files = tree
    del store.objects["small"]
    handle = files.open("/sub/dir/small.csv", os.O_RDONLY)
    with pytest.raises(mfusepy.FuseOSError) as failed:
        files.read("/sub/dir/small.csv", 4, 0, handle)
    assert failed.value.errno == errno.EIO


@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="needs /dev/fuse")
def test_a_mount_goes_with_its_server_and_stale_mounts_are_unmounted(tmp_path):
    store = ObjectStore("http://127.0.0.1:9", "unused", "unused")  # nothing is read, so never reached
    objects = [ChannelObject("b", "prefix/x.csv", "x.csv", 5)]
    killed = FastFileMount(store, objects, tmp_path / "killed").start()
    assert os.path.getsize(tmp_path / "killed" / "x.csv") == 5
    killed.process.kill()
    wait_for(lambda: not os.path.ismount(tmp_path / "killed"), timeout=10)  # libfuse3's auto_unmount
    killed.stop()

    left = FastFileMount(store, objects, tmp_path / "left").start()
    try:
        unmount_stale(tmp_path)
        assert not os.path.ismount(tmp_path / "left")
    finally:
        left.stop()
