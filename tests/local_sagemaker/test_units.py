"""Unit tests of single pieces: S3 URIs, ARNs, atomic state, channel sharding, the container environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.local_sagemaker.channels import ChannelObject, shard
from include.local_sagemaker.engine import LocalSageMaker
from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.names import arn, split_s3_uri
from include.local_sagemaker.server import is_loopback
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.training import THREAD_VARIABLES, container_environment, thread_budget


def test_s3_uris_and_arns():
    assert split_s3_uri("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    assert split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(ServiceError, match="'ftp://x/y'"):
        split_s3_uri("ftp://x/y")
    assert arn("TrainingJob", "Job-1") == "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1"


def test_sharded_by_s3_key_deals_keys_round_robin_in_key_order():
    objects = [ChannelObject("b", f"p/{i}", str(i)) for i in (3, 0, 4, 1, 2)]
    assert [o.key for o in shard(objects, 0, 2)] == ["p/0", "p/2", "p/4"]
    assert [o.key for o in shard(objects, 1, 2)] == ["p/1", "p/3"]
    assert len(shard(objects, 0, 1)) == 5


def test_resource_store_survives_reopen_and_ignores_torn_temporaries(tmp_path: Path):
    store = ResourceStore(tmp_path)
    store.put("job/1", {"Name": "job/1", "n": 1})
    store.update("job/1", n=2)
    (tmp_path / ".job%2F1.json.abc.tmp").write_text('{"torn')
    reopened = ResourceStore(tmp_path)
    assert reopened.get("job/1") == {"Name": "job/1", "n": 2}
    assert not list(tmp_path.glob("*.tmp"))
    reopened.delete("job/1")
    assert ResourceStore(tmp_path).names() == []


@pytest.mark.parametrize(("cores", "hosts", "threads"), [(2, 1, "2"), (2, 2, "1"), (8, 3, "2"), (2, 5, "1")])
def test_hosts_on_one_machine_share_its_cores(monkeypatch, cores, hosts, threads):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    assert thread_budget(hosts) == dict.fromkeys(THREAD_VARIABLES, threads)


def test_a_thread_count_the_engine_was_given_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)

    budget = thread_budget(2)

    assert "OMP_NUM_THREADS" not in budget
    assert "MKL_NUM_THREADS" in budget


def test_container_environment_follows_the_training_toolkit(tmp_path: Path):
    job = {
        "TrainingJobName": "j",
        "TrainingJobArn": "arn:j",
        "HyperParameters": {"k": "10", "name": "abc"},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3Uri": "s3://b/p"}},
                "ContentType": "text/csv",
            }
        ],
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    environment = container_environment(job, tmp_path)
    assert environment["SM_HP_K"] == "10"
    assert environment["SM_HP_NAME"] == "abc"
    assert json.loads(environment["SM_HPS"]) == {"k": 10, "name": "abc"}
    assert environment["SM_CHANNELS"] == '["train"]'
    assert environment["SM_CHANNEL_TRAIN"] == str(tmp_path / "input" / "data" / "train")
    assert environment["SM_CURRENT_HOST"] == "algo-1"
    assert environment["SM_MODEL_DIR"] == str(tmp_path / "model")
    assert json.loads(environment["SM_INPUT_DATA_CONFIG"])["train"]["ContentType"] == "text/csv"
    assert environment["TRAINING_JOB_NAME"] == "j"


def test_engine_refuses_non_loopback_hosts(tmp_path: Path):
    assert is_loopback("127.0.0.1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    with pytest.raises(ValueError, match=r"Refusing to listen on '0\.0\.0\.0'"):
        LocalSageMaker(tmp_path, host="0.0.0.0")
