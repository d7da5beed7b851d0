"""Every writer read back by the format's reference reader: fastparquet, scikit-learn's svmlight, numpy."""

from __future__ import annotations

import fastparquet
import numpy as np
import pytest
from sklearn.datasets import load_svmlight_file

from include.mnist import load_mnist, write_dataset, write_split
from include.mnist.dataset import Split
from include.mnist.idx import read_images, read_labels
from include.mnist.writers import FORMATS
from include.recordio import read_dense


@pytest.fixture(params=["float32", "uint8"])
def split(request, tiny) -> Split:
    images = tiny.train_images if request.param == "uint8" else tiny.train_images.astype(np.float32) / 255
    return Split(images, tiny.train_labels.astype(np.int64))


def test_parquet_has_the_seed_schema(tmp_path, split):
    (path,) = write_split("parquet", split, tmp_path)
    frame = fastparquet.ParquetFile(str(path)).to_pandas()
    assert list(frame.columns) == [str(i) for i in range(784)] + ["label"]
    np.testing.assert_array_equal(frame[[str(i) for i in range(784)]].to_numpy(), split.images)
    np.testing.assert_array_equal(frame["label"].to_numpy(), split.labels)


def test_libsvm_is_one_based_and_skips_zeros_but_the_last(tmp_path, split):
    (path,) = write_split("libsvm", split, tmp_path)
    features, labels = load_svmlight_file(str(path), n_features=784, zero_based=False)
    np.testing.assert_allclose(features.toarray(), split.images, rtol=1e-7)
    np.testing.assert_array_equal(labels, split.labels)

    first_line = path.read_text().splitlines()[0].split()
    assert first_line[0] == str(split.labels[0])
    indices = [int(pair.split(":")[0]) for pair in first_line[1:]]
    assert indices == [i + 1 for i in np.flatnonzero(split.images[0][:-1])] + [784]
    assert all(float(pair.split(":")[1]) != 0 for pair in first_line[1:-1])


def test_libsvm_width_does_not_depend_on_the_data(tmp_path, split):
    blank = Split(np.zeros_like(split.images[:3]), split.labels[:3])
    (path,) = write_split("libsvm", blank, tmp_path)
    features, _ = load_svmlight_file(str(path), zero_based=False)
    assert features.shape == (3, 784)


def test_csv_has_no_header_and_the_label_first(tmp_path, split):
    (path,) = write_split("csv", split, tmp_path)
    table = np.loadtxt(path, delimiter=",", ndmin=2)
    assert table.shape == (len(split), 785)
    np.testing.assert_array_equal(table[:, 0], split.labels)
    np.testing.assert_array_equal(table[:, 1:].astype(split.images.dtype), split.images)
    assert path.read_text().splitlines()[0].split(",")[0] == str(split.labels[0])


def test_csv_features_has_only_the_pixels(tmp_path, split):
    (path,) = write_split("csv-features", split, tmp_path)
    table = np.loadtxt(path, delimiter=",", ndmin=2)
    assert table.shape == (len(split), 784)
    np.testing.assert_array_equal(table.astype(split.images.dtype), split.images)


def test_recordio_round_trips_through_the_codec(tmp_path, split):
    (path,) = write_split("recordio", split, tmp_path)
    features, labels = read_dense(path)
    assert features.dtype == np.float32
    np.testing.assert_array_equal(features, split.images.astype(np.float32))
    np.testing.assert_array_equal(labels, split.labels.astype(np.float32))


SHARDED = sorted(name for name, fmt in FORMATS.items() if fmt.write_whole_split is None)


def test_idx_is_the_seeds_gzip_pair_with_raw_pixels(tmp_path, split):
    paths = write_split("idx", split, tmp_path, split_name="test")
    assert [p.name for p in paths] == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    raw = split.images if split.images.dtype == np.uint8 else np.rint(split.images * 255)
    np.testing.assert_array_equal(read_images(paths[0]), raw)
    np.testing.assert_array_equal(read_labels(paths[1]), split.labels)
    assert (
        write_split("idx", split, tmp_path / "again", split_name="test")[0].read_bytes()
        == paths[0].read_bytes()
    )


def test_csv_digits_are_one_scaled_digit_per_file(tmp_path, split):
    paths = write_split("csv-digits", split, tmp_path, split_name="test")
    assert [p.name for p in paths] == [f"data-{i}.csv" for i in range(len(split))]
    scaled = split.images if split.images.dtype == np.float32 else split.images / 255
    for index in (0, len(split) - 1):
        line = paths[index].read_text()
        assert line.count("\n") == 1
        np.testing.assert_allclose(np.array(line.split(","), dtype=np.float64), scaled[index], rtol=1e-6)


@pytest.mark.parametrize("fmt", SHARDED)
def test_splits_are_sharded_in_order(tmp_path, tiny, fmt):
    split = Split(tiny.train_images, tiny.train_labels.astype(np.int64))
    paths = write_split(fmt, split, tmp_path, rows_per_shard=5)
    assert [p.name for p in paths] == [f"part-0000{i}.{FORMATS[fmt].extension}" for i in range(3)]
    assert sorted(tmp_path.iterdir()) == paths, "no temporary files are left behind"
    rows = {
        "parquet": lambda p: len(fastparquet.ParquetFile(str(p)).to_pandas()),
        "recordio": lambda p: len(read_dense(p)[0]),
    }.get(fmt, lambda p: len(p.read_text().splitlines()))
    assert [rows(p) for p in paths] == [5, 5, 2]


def test_a_failing_writer_leaves_no_file(tmp_path, tiny, monkeypatch):
    def explode(out, *args, **kwargs):
        out.write(b"half a shard")
        raise OSError("disk full")

    monkeypatch.setattr("include.mnist.writers.csv.np.savetxt", explode)
    split = Split(tiny.train_images, tiny.train_labels.astype(np.int64))
    with pytest.raises(OSError, match="disk full"):
        write_split("csv", split, tmp_path, rows_per_shard=100)
    assert list(tmp_path.iterdir()) == []


def test_write_dataset_lays_out_format_and_split(tmp_path):
    dataset = load_mnist("sample")
    written = write_dataset(dataset, tmp_path, SHARDED, splits=["validation", "test"])
    assert [(w.format, w.split, w.rows) for w in written] == [
        (fmt, name, 500) for fmt in SHARDED for name in ("validation", "test")
    ]
    assert written[0].paths == [tmp_path / "csv" / "validation" / "part-00000.csv"]


def test_unknown_format_and_split_are_named(tmp_path):
    dataset = load_mnist("sample")
    with pytest.raises(ValueError, match=r"unknown output format 'tfrecord'; valid formats are \['csv'"):
        write_dataset(dataset, tmp_path, ["tfrecord"])
    with pytest.raises(ValueError, match=r"unknown split\(s\) \['holdout'\]"):
        write_dataset(dataset, tmp_path, ["csv"], splits=["holdout"])
    assert list(tmp_path.iterdir()) == []


def test_split_counts_must_match():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        Split(np.zeros((3, 784), np.uint8), np.zeros(2, np.int64))
