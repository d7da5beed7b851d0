"""The parity suite's comparison: what it reports, and what an allowed difference covers (no SDK needed)."""

from __future__ import annotations

from tests.support.request_comparison import ABSENT, Allowed, Renamed, compare, flatten, same_number

TRAINING = {
    "TrainingJobName": "job",
    "HyperParameters": {"k": "10", "force_dense": "True"},
    "InputDataConfig": [
        {"ChannelName": "train", "ContentType": "application/x-recordio-protobuf", "CompressionType": "None"},
        {"ChannelName": "test", "ContentType": "application/x-recordio-protobuf", "CompressionType": "None"},
    ],
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
    "Environment": {},
}


def _sdk(**changes) -> dict:
    request = {
        "TrainingJobName": "job",
        "HyperParameters": {"k": "10", "force_dense": "True"},
        "InputDataConfig": [{"ChannelName": "test"}, {"ChannelName": "train"}],
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
        "Tags": [],
    }
    request.update(changes)
    return request


CHANNEL_DEFAULTS = (
    Allowed("CreateTrainingJob", "InputDataConfig[*].CompressionType", "default", dag="None", sdk=ABSENT),
    Allowed(
        "CreateTrainingJob",
        "InputDataConfig[*].ContentType",
        "default",
        dag="application/x-recordio-protobuf",
        sdk=ABSENT,
        when=lambda request: request["ResourceConfig"]["InstanceCount"] == 1,
    ),
)


def test_lists_are_keyed_by_name_and_empty_containers_are_absent() -> None:
    flat = flatten(TRAINING)
    assert flat["InputDataConfig[train].ContentType"] == "application/x-recordio-protobuf"
    assert flat["ResourceConfig.InstanceCount"] == 1
    assert not any(path.startswith("Environment") for path in flat)
    assert flatten({"Containers": [{"Image": "i"}], "Values": ["8", "12"]}) == {
        "Containers[0].Image": "i",
        "Values[0]": "8",
        "Values[1]": "12",
    }


def test_allowed_differences_are_explained_and_channel_order_does_not_matter() -> None:
    result = compare("CreateTrainingJob", TRAINING, _sdk(), CHANNEL_DEFAULTS)
    assert result.unexplained == []
    assert sorted(len(paths) for paths in result.explained.values()) == [2, 2]


def test_a_hyperparameter_difference_is_reported() -> None:
    sdk = _sdk(HyperParameters={"k": "10", "force_dense": "true", "mini_batch_size": "500"})
    result = compare("CreateTrainingJob", TRAINING, sdk, CHANNEL_DEFAULTS)
    assert result.unexplained == [
        "CreateTrainingJob HyperParameters.force_dense: DAG 'True', SDK 'true'",
        "CreateTrainingJob HyperParameters.mini_batch_size: DAG absent, SDK '500'",
    ]


def test_an_allowance_holds_only_for_its_values_operation_and_condition() -> None:
    other_type = {
        **TRAINING,
        "InputDataConfig": [{**c, "ContentType": "text/csv"} for c in TRAINING["InputDataConfig"]],
    }
    assert len(compare("CreateTrainingJob", other_type, _sdk(), CHANNEL_DEFAULTS).unexplained) == 2
    two_hosts = {**TRAINING, "ResourceConfig": {**TRAINING["ResourceConfig"], "InstanceCount": 2}}
    sdk = _sdk(ResourceConfig=two_hosts["ResourceConfig"])
    assert len(compare("CreateTrainingJob", two_hosts, sdk, CHANNEL_DEFAULTS).unexplained) == 2
    assert len(compare("CreateTransformJob", TRAINING, _sdk(), CHANNEL_DEFAULTS).unexplained) == 4


def test_spellings_of_one_number_and_renamed_fields() -> None:
    spelled = Allowed("CreateTrainingJob", "HyperParameters.k", "float", equal=same_number)
    sdk = _sdk(HyperParameters={"k": "10.0", "force_dense": "True"})
    assert compare("CreateTrainingJob", TRAINING, sdk, (*CHANNEL_DEFAULTS, spelled)).unexplained == []
    sdk = _sdk(HyperParameters={"k": "11", "force_dense": "True"})
    assert compare("CreateTrainingJob", TRAINING, sdk, (*CHANNEL_DEFAULTS, spelled)).unexplained != []

    renamed = Renamed("CreateTrainingJob", "Resources.", "ResourceConfig.", "same meaning")
    sdk = _sdk()
    sdk["Resources"] = sdk.pop("ResourceConfig")
    assert compare("CreateTrainingJob", TRAINING, sdk, CHANNEL_DEFAULTS, (renamed,)).unexplained == []
