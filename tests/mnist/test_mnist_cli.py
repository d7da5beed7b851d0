"""``python -m include.mnist``: prints the splits, writes files, and reports errors without a traceback."""

from __future__ import annotations

import json

from include.mnist.__main__ import main


def test_cli_loads_and_writes_the_sample(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path), "--formats", "libsvm, csv-features"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sizes"] == {"train": 4000, "validation": 500, "test": 500}
    assert summary["written"]["libsvm/test"] == [str(tmp_path / "libsvm" / "test" / "part-00000.libsvm")]
    assert (tmp_path / "csv-features" / "train" / "part-00000.csv").is_file()


def test_cli_reports_a_bad_source(capsys):
    assert main(["cifar10"]) == 2
    assert "error: MNIST source 'cifar10' is not recognised" in capsys.readouterr().err
