"""Jobs with ``InstanceCount`` > 1 run one container per host with SageMaker's hosts contract, and the
built-in algorithms combine their hosts' work into one model as good as a single host's."""

from __future__ import annotations

import io
import json
import re
import tarfile
import time

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from include.local_sagemaker.algorithms import mxnet_ndarray
from include.local_sagemaker.algorithms.kmeans import KMeansPredictor
from tests.local_sagemaker.algorithms.mnist_test_data import mnist_sample, recordio_bytes
from tests.support.engine import (
    KMEANS_IMAGE,
    ROLE_ARN,
    processes_under,
    tiny_training_job,
    wait_for,
    wait_for_job,
)

pytestmark = pytest.mark.slow

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PCA_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
RECORDIO = "application/x-recordio-protobuf"


def _streams(logs, job: str) -> dict[str, list[str]]:
    """Each log stream of ``job`` by host, with its messages."""
    found = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/")["logStreams"]
    messages = {}
    for stream in found:
        name = stream["logStreamName"]
        host = re.fullmatch(rf"{re.escape(job)}/(algo-\d+)-\d+", name).group(1)
        events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=name, startFromHead=True)
        messages[host] = [event["message"] for event in events["events"]]
    return messages


def _two_hosts(request: dict, count: int = 2) -> dict:
    request["ResourceConfig"]["InstanceCount"] = count
    return request


def _model_files(s3, artifact: str) -> dict[str, bytes]:
    bucket, key = artifact[len("s3://") :].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return {member.name: archive.extractfile(member).read() for member in archive.getmembers()}


def test_each_host_gets_its_config_its_shard_and_its_log_stream(sagemaker, s3, logs, unique):
    bucket = unique("hosts")
    s3.create_bucket(Bucket=bucket)
    for index, rows in enumerate([b"1,2\n", b"3,4\n", b"5,6\n"]):
        s3.put_object(Bucket=bucket, Key=f"train/part-{index}.csv", Body=rows)
    s3.put_object(Bucket=bucket, Key="extra/all.csv", Body=b"0,0\n")
    request = _two_hosts(tiny_training_job(unique("hosts-contract"), bucket))
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    replicated = json.loads(json.dumps(request["InputDataConfig"][0]))
    replicated["ChannelName"] = "extra"
    replicated["DataSource"]["S3DataSource"].update(
        S3Uri=f"s3://{bucket}/extra/", S3DataDistributionType="FullyReplicated"
    )
    request["InputDataConfig"].append(replicated)
    job = request["TrainingJobName"]
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")

    streams = _streams(logs, job)
    assert sorted(streams) == ["algo-1", "algo-2"]
    # SageMaker's rule: host i of n receives objects i, i+n, ... of the channel in key order; a
    # FullyReplicated channel gives every host every object.
    hosts = ["algo-1", "algo-2"]
    assert (
        f"tiny: host algo-1 of {hosts} received ['all.csv', 'part-0.csv', 'part-2.csv']" in streams["algo-1"]
    )
    assert f"tiny: host algo-2 of {hosts} received ['all.csv', 'part-1.csv']" in streams["algo-2"]
    assert "tiny: 2 rows from 2 files" in streams["algo-1"]
    assert "tiny: 1 rows from 1 files" in streams["algo-2"]
    # SageMaker aggregates every host's /opt/ml/model into one model.tar.gz.
    files = _model_files(s3, described["ModelArtifacts"]["S3ModelArtifacts"])
    assert json.loads(files["mean.json"]) == [3.0, 4.0]
    assert json.loads(files["mean_algo-2.json"]) == [3.0, 4.0]
    assert described["BillableTimeInSeconds"] >= 2


def test_script_mode_sees_the_hosts_contract(tmp_path):
    from include.local_sagemaker.training import container_environment

    job = {
        "TrainingJobName": "j",
        "TrainingJobArn": "arn:j",
        "HyperParameters": {},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "InputDataConfig": [],
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 3},
    }
    environment = container_environment(job, tmp_path, "algo-2")
    assert json.loads(environment["SM_HOSTS"]) == ["algo-1", "algo-2", "algo-3"]
    assert environment["SM_CURRENT_HOST"] == "algo-2"
    resources = json.loads(environment["SM_RESOURCE_CONFIG"])
    assert resources["current_host"] == "algo-2"
    assert resources["instance_groups"][0]["hosts"] == ["algo-1", "algo-2", "algo-3"]


def test_a_failing_host_fails_the_job_and_stops_the_others(engine, sagemaker, tiny_bucket, unique):
    job = unique("hosts-fail")
    request = _two_hosts(tiny_training_job(job, tiny_bucket, {"fail_on_host": "algo-2", "sleep": "60"}))
    started = time.monotonic()
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, job, timeout=40)
    assert time.monotonic() - started < 25  # algo-1 was stopped, not waited for
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"] == "ClientError: algo-2 was told to fail"
    assert "ModelArtifacts" not in described
    wait_for(lambda: not processes_under(engine.state_dir / "jobs" / job), timeout=5)


@pytest.mark.parametrize("how", ["stop", "max_runtime"])
def test_stopping_a_job_stops_every_host_and_leaves_nothing_running(
    engine, sagemaker, tiny_bucket, unique, how
):
    job = unique(f"hosts-{how.replace('_', '')}")
    overrides = {"StoppingCondition": {"MaxRuntimeInSeconds": 3}} if how == "max_runtime" else {}
    sagemaker.create_training_job(
        **_two_hosts(tiny_training_job(job, tiny_bucket, {"sleep": "60"}, **overrides))
    )
    wait_for(lambda: sagemaker.describe_training_job(TrainingJobName=job)["SecondaryStatus"] == "Training")
    wait_for(lambda: len(processes_under(engine.state_dir / "jobs" / job)) == 2, timeout=20)
    if how == "stop":
        sagemaker.stop_training_job(TrainingJobName=job)
    described = wait_for_job(sagemaker, job, timeout=40)
    assert described["TrainingJobStatus"] == "Stopped"
    assert described["SecondaryStatus"] == ("Stopped" if how == "stop" else "MaxRuntimeExceeded")
    wait_for(lambda: not processes_under(engine.state_dir / "jobs" / job), timeout=5)


# -- the built-in algorithms on two hosts ---------------------------------------------------------
def _mnist_bucket(s3, bucket: str, labelled: bool = False) -> None:
    """The offline sample's train split as four recordIO objects, its test split as two."""
    sample = mnist_sample()
    s3.create_bucket(Bucket=bucket)
    for split, name, parts in ((sample.train, "train", 4), (sample.test, "test", 2)):
        features = split.images.reshape(len(split.images), -1) / 255.0
        labels = split.labels.astype(np.float32)
        for index, rows in enumerate(np.array_split(np.arange(len(features)), parts)):
            body = recordio_bytes(features[rows], labels[rows] if labelled else None)
            s3.put_object(Bucket=bucket, Key=f"{name}/part-{index}.pbr", Body=body)


def _algorithm_job(name: str, bucket: str, image: str, hyperparameters: dict, hosts: int) -> dict:
    distribution = "ShardedByS3Key" if hosts > 1 else "FullyReplicated"
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/{channel}/",
                        "S3DataDistributionType": distribution,
                    }
                },
                "ContentType": RECORDIO,
            }
            for channel in ("train", "test")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceCount": hosts, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def _train_on(sagemaker, s3, tmp_path, bucket: str, name: str, image: str, hyperparameters: dict, hosts: int):
    sagemaker.create_training_job(**_algorithm_job(name, bucket, image, hyperparameters, hosts))
    described = wait_for_job(sagemaker, name, timeout=180)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    files = _model_files(s3, described["ModelArtifacts"]["S3ModelArtifacts"])
    assert list(files) == ["model_algo-1"]  # SageMaker's built-in algorithms write it on algo-1 only
    path = tmp_path / f"{name}-model_algo-1"
    path.write_bytes(files["model_algo-1"])
    return described, mxnet_ndarray.load(path)


def test_two_host_kmeans_is_as_good_as_one_host(sagemaker, s3, logs, unique, tmp_path):
    bucket = unique("kmeans-hosts")
    _mnist_bucket(s3, bucket)
    hyperparameters = {"k": "10", "feature_dim": "784", "mini_batch_size": "500", "eval_metrics": '["msd"]'}
    results = {}
    for hosts in (1, 2):
        name = unique(f"kmeans-{hosts}h")
        described, arrays = _train_on(
            sagemaker, s3, tmp_path, bucket, name, KMEANS_IMAGE, hyperparameters, hosts
        )
        [msd] = [m["Value"] for m in described["FinalMetricDataList"] if m["MetricName"] == "test:msd"]
        test = mnist_sample().test
        closest, _ = KMeansPredictor(arrays[0]).predict(test.images.reshape(len(test.images), -1) / 255.0)
        results[hosts] = (msd, normalized_mutual_info_score(test.labels, closest))
        if hosts == 2:
            streams = _streams(logs, name)
            assert any(
                "Gathered 80 centres from 2 hosts (2000, 2000 records)" in m for m in streams["algo-1"]
            )
            assert any("Read 2000 records" in m for m in streams["algo-2"])
    (single_msd, single_nmi), (double_msd, double_nmi) = results[1], results[2]
    assert double_msd < single_msd * 1.05, results
    assert double_nmi > single_nmi - 0.05, results
    assert double_nmi > 0.4, results


def test_two_host_pca_combines_exactly(sagemaker, s3, unique, tmp_path):
    bucket = unique("pca-hosts")
    _mnist_bucket(s3, bucket)
    hyperparameters = {"feature_dim": "784", "mini_batch_size": "500", "num_components": "10"}
    models = [
        _train_on(
            sagemaker, s3, tmp_path, bucket, unique(f"pca-{hosts}h"), PCA_IMAGE, hyperparameters, hosts
        )[1]
        for hosts in (1, 2)
    ]
    single, double = models
    np.testing.assert_allclose(double["mean"], single["mean"], atol=1e-5)
    np.testing.assert_allclose(double["s"], single["s"], rtol=1e-4)
    # The same subspace (and, with scikit-learn's sign rule, the same vectors).
    np.testing.assert_allclose(double["v"] @ double["v"].T, single["v"] @ single["v"].T, atol=1e-4)


LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _validation_job(name: str, bucket: str, image: str, hyperparameters: dict, hosts: int) -> dict:
    """A job on the ``train`` share of each host, with the whole ``test`` split as a FullyReplicated
    ``validation`` channel (XGBoost takes no test channel)."""
    request = _algorithm_job(name, bucket, image, hyperparameters, hosts)
    validation = request["InputDataConfig"][1]
    validation["ChannelName"] = "validation"
    validation["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "FullyReplicated"
    return request


def _metric(described: dict, name: str) -> float:
    [value] = [m["Value"] for m in described["FinalMetricDataList"] if m["MetricName"] == name]
    return value


def _train_twice(
    sagemaker,
    s3,
    logs,
    unique,
    image: str,
    hyperparameters: dict,
    model_file: str,
    share_line: str,
    metric: str,
) -> tuple[float, float, dict[str, list[str]]]:
    """The same job on one host and on two. Checks that the two-host job wrote one model, ``model_file``,
    and that each host logged ``share_line`` (read its two of the four objects); returns ``metric`` on one
    and on two hosts, and the two-host job's log streams."""
    bucket = unique("hosts")
    _mnist_bucket(s3, bucket, labelled=True)
    values, streams = [], {}
    for hosts in (1, 2):
        name = unique(f"twice-{hosts}h")
        sagemaker.create_training_job(**_validation_job(name, bucket, image, hyperparameters, hosts))
        described = wait_for_job(sagemaker, name, timeout=300)
        assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
        values.append(_metric(described, metric))
        files = _model_files(s3, described["ModelArtifacts"]["S3ModelArtifacts"])
        streams = _streams(logs, name)
    assert list(files) == [model_file]  # written on one host only
    assert sorted(streams) == ["algo-1", "algo-2"]
    for messages in streams.values():
        assert any(share_line in message for message in messages), messages
    print(f"{metric} on one host {values[0]}, on two {values[1]}")
    return values[0], values[1], streams


MULTICLASS = {"objective": "multi:softmax", "num_class": "10", "num_round": "5", "eval_metric": "merror"}
# Raw pixels: standardised, the pixels that are almost always 0 in train blow up the test scores.
RAW_PIXEL_REGRESSOR = {
    "feature_dim": "784",
    "predictor_type": "regressor",
    "epochs": "3",
    "normalize_data": "false",
}


def test_two_host_xgboost_trains_one_booster_on_both_shares(sagemaker, s3, logs, unique):
    share = "Train matrix has 2000 rows"
    one, two, streams = _train_twice(
        sagemaker, s3, logs, unique, XGBOOST_IMAGE, MULTICLASS, "xgboost-model", share, "validation:merror"
    )
    assert any("Distributed training with 2 hosts" in message for message in streams["algo-1"])
    assert two < one + 0.02, (one, two)
    assert two < 0.2, (one, two)


def test_two_host_linear_learner_averages_into_one_model_on_both_shares(sagemaker, s3, logs, unique):
    hyperparameters = {**RAW_PIXEL_REGRESSOR, "num_models": "2"}
    share = "Read 2000 records of 784 features"
    one, two, _ = _train_twice(
        sagemaker,
        s3,
        logs,
        unique,
        LINEAR_LEARNER_IMAGE,
        hyperparameters,
        "model_algo-1",
        share,
        "validation:mse",
    )
    assert two < one * 1.1, (one, two)
