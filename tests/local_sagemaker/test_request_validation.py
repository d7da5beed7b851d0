"""Requests are checked against botocore's SageMaker model before any handler runs, with AWS's errors:
the validator on its own, the JSON body parser, and bad requests sent to a running engine."""

from __future__ import annotations

import copy
import json
import logging
import re
import urllib.error
import urllib.request

import botocore.session
import pytest
from botocore.exceptions import ClientError

from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.request_validation import (
    MAX_JSON_DEPTH,
    MAX_REQUEST_BYTES,
    parse_json_request,
    python_pattern,
    service_model,
    validate_request,
)
from tests.support.engine import ROLE_ARN, TINY_IMAGE

TRAINING_JOB = {
    "TrainingJobName": "job-1",
    "AlgorithmSpecification": {"TrainingImage": TINY_IMAGE, "TrainingInputMode": "File"},
    "RoleArn": ROLE_ARN,
    "HyperParameters": {"k": "10"},
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}},
        }
    ],
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
    "StoppingCondition": {"MaxRuntimeInSeconds": 600},
}
TEN_MIB = 10 * 1024 * 1024


def refusal(operation: str, request: object) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        validate_request(operation, request)
    return raised.value


def training_job(**changes) -> dict:
    """TRAINING_JOB with ``changes``; a key "A.B" sets member B of member A."""
    request = copy.deepcopy(TRAINING_JOB)
    for key, value in changes.items():
        *parents, member = key.split(".")
        target = request
        for parent in parents:
            target = target[parent]
        target[member] = value
    return request


# -- the validator ----------------------------------------------------------------------------------
def test_a_valid_request_passes():
    validate_request("CreateTrainingJob", copy.deepcopy(TRAINING_JOB))
    validate_request("ListTrainingJobs", {})


def test_messages_seen_from_aws_are_reproduced_exactly():
    # sagemaker-python-sdk#314 and amazon-sagemaker-pytorch-detectron2#10: a hyperparameter value over
    # the limit is reported at the map, with every constraint of the value shape. (AWS prints the map
    # whole; the engine cuts it at 1,024 characters.)
    error = refusal("CreateTrainingJob", training_job(HyperParameters={"classes": "x" * 2501}))
    assert (error.code, error.status) == ("ValidationException", 400)
    shown = f"{{classes={'x' * 2501}}}"[:1024] + "...(cut)"
    assert error.message == (
        f"1 validation error detected: Value '{shown}' at 'hyperParameters' failed "
        "to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or "
        "equal to 2500, Member must have length greater than or equal to 0, Member must satisfy regular "
        "expression pattern: .*]"
    )
    # sagemaker-python-sdk#6016: more than 100 hyperparameters.
    many = {f"h{i}": "1" for i in range(101)}
    assert refusal("CreateTrainingJob", training_job(HyperParameters=many)).message.endswith(
        "' at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal "
        "to 100"
    )
    # Seen for IAM's tags ('MOJ D&T Cybersecurity' at 'tags.10.member.value'); SageMaker's TagValue
    # pattern is the same class in a group.
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(9)] + [
        {"Key": "team", "Value": "MOJ D&T Cybersecurity"}
    ]
    assert refusal("CreateTrainingJob", training_job(Tags=tags)).message == (
        "1 validation error detected: Value 'MOJ D&T Cybersecurity' at 'tags.10.member.value' failed to "
        r"satisfy constraint: Member must satisfy regular expression pattern: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
    )


def test_missing_required_members_are_null_values():
    error = refusal("CreateTrainingJob", {"TrainingJobName": "ok-name"})
    assert error.message == (
        "2 validation errors detected: "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null"
    )
    channel = {"ChannelName": "train", "DataSource": None}
    error = refusal(
        "CreateTrainingJob", training_job(InputDataConfig=[TRAINING_JOB["InputDataConfig"][0], channel])
    )
    assert error.message == (
        "1 validation error detected: Value null at 'inputDataConfig.2.member.dataSource' failed to satisfy "
        "constraint: Member must not be null"
    )


@pytest.mark.parametrize(
    ("operation", "request_", "message"),
    [
        (
            "CreateTrainingJob",
            training_job(TrainingJobName="bad_name"),
            "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
            "expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        (
            "CreateTrainingJob",
            training_job(Tags=[{"Key": "", "Value": "v"}]),
            "Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater "
            "than or equal to 1",
        ),
        (
            "CreateTrainingJob",
            training_job(**{"AlgorithmSpecification.TrainingInputMode": "Stream"}),
            "Value 'Stream' at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Pipe, File, FastFile]",
        ),
        (
            "CreateTrainingJob",
            training_job(**{"StoppingCondition.MaxRuntimeInSeconds": 0}),
            "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must "
            "have value greater than or equal to 1",
        ),
        (
            "ListModels",
            {"MaxResults": 101},
            "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or "
            "equal to 100",
        ),
        (
            "CreateEndpointConfig",
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [{"VariantName": "v", "ModelName": "m", "InitialVariantWeight": -0.5}],
            },
            "Value '-0.5' at 'productionVariants.1.member.initialVariantWeight' failed to satisfy "
            "constraint: Member must have value greater than or equal to 0",
        ),
        (
            "CreateEndpointConfig",
            {"EndpointConfigName": "c", "ProductionVariants": []},
            "Value '[]' at 'productionVariants' failed to satisfy constraint: Member must have length "
            "greater than or equal to 1",
        ),
        (
            "CreateModel",
            {"ModelName": "m", "PrimaryContainer": {"Image": "i", "Environment": {"1BAD": "v"}}},
            "Value '{1BAD=v}' at 'primaryContainer.environment' failed to satisfy constraint: Map key must "
            "satisfy constraint: [Member must have length less than or equal to 1024, Member must have "
            "length greater than or equal to 0, Member must satisfy regular expression pattern: "
            "[a-zA-Z_][a-zA-Z0-9_]*]",
        ),
        (
            "DeleteTags",
            {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m", "TagKeys": ["ok", ""]},
            "Value '[ok, ]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: "
            "[Member must have length less than or equal to 128, Member must have length greater than or "
            r"equal to 1, Member must satisfy regular expression pattern: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*)]",
        ),
    ],
    ids=[
        "pattern",
        "min-length",
        "enum",
        "integer-min",
        "integer-max",
        "float-min",
        "list-min",
        "map-key",
        "list-of-strings",
    ],
)
def test_each_kind_of_constraint(operation, request_, message):
    error = refusal(operation, request_)
    assert (error.code, error.status) == ("ValidationException", 400)
    assert error.message == f"1 validation error detected: {message}"


@pytest.mark.parametrize("name", ["a", "kmeans-2024-01-01", "a--b", "A1" * 31 + "x"])
def test_valid_job_names(name):
    validate_request("CreateTrainingJob", training_job(TrainingJobName=name))


@pytest.mark.parametrize("name", ["", "-a", "a-", "a_b", "a.b", "a" * 64])
def test_invalid_job_names_name_the_value(name):
    assert (
        f"Value '{name}' at 'trainingJobName'"
        in refusal("CreateTrainingJob", training_job(TrainingJobName=name)).message
    )


def test_model_names_allow_inner_hyphen_runs_only():
    validate_request("CreateModel", {"ModelName": "m--1"})
    assert "Value 'm-' at 'modelName'" in refusal("CreateModel", {"ModelName": "m-"}).message


def test_every_broken_constraint_is_listed_in_document_order():
    request = training_job(TrainingJobName="x" * 64, **{"ResourceConfig.InstanceType": "ml.nope"})
    request["InputDataConfig"].append({"ChannelName": "bad name", "DataSource": {}})
    error = refusal("CreateTrainingJob", request)
    assert error.message.startswith("4 validation errors detected: ")
    paths = re.findall(r"at '([^']+)' failed", error.message)
    assert paths == [
        "trainingJobName",
        "trainingJobName",
        "inputDataConfig.2.member.channelName",
        "resourceConfig.instanceType",
    ]
    assert error.message.count("; ") == 3


def test_string_lengths_count_utf16_units_and_unicode_classes_apply():
    # The description pattern allows symbols (\p{S}); 600 emoji are 1,200 UTF-16 units.
    emoji = "\U0001f600" * 600
    error = refusal(
        "CreateModelPackageGroup", {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": emoji}
    )
    assert "Member must have length less than or equal to 1024" in error.message
    assert "regular expression" not in error.message
    validate_request(
        "CreateModelPackageGroup",
        {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "Größe ≥ 5 ✓"},
    )
    error = refusal(
        "CreateModelPackageGroup",
        {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "two\nlines"},
    )
    assert "Member must satisfy regular expression pattern" in error.message


def test_unknown_members_are_named_with_what_is_allowed():
    request = training_job(HyperParameter={"k": "1"})
    request["InputDataConfig"][0]["Channel"] = "x"
    error = refusal("CreateTrainingJob", request)
    assert error.code == "ValidationException"
    assert (
        'Unknown parameter in input: "HyperParameter", must be one of: TrainingJobName, HyperParameters,'
        in error.message
    )
    assert (
        'Unknown parameter in inputDataConfig.1.member: "Channel", must be one of: ChannelName,'
        in error.message
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"InputDataConfig": "x"},
            "STRING_VALUE can not be converted to a List: Value 'x' at 'inputDataConfig'",
        ),
        ({"HyperParameters": []}, "Start of list found where not expected: Value '[]' at 'hyperParameters'"),
        (
            {"RoleArn": {"a": 1}},
            "Start of structure or map found where not expected: Value '{a=1}' at 'roleArn'",
        ),
        ({"RoleArn": 5}, "NUMBER_VALUE can not be converted to a String: Value '5' at 'roleArn'"),
        (
            {"ResourceConfig.VolumeSizeInGB": "x"},
            "STRING_VALUE can not be converted to an Integer: Value 'x' at 'resourceConfig.volumeSizeInGB'",
        ),
        (
            {"ResourceConfig.VolumeSizeInGB": 1.5},
            "NUMBER_VALUE can not be converted to an Integer: Value '1.5' at 'resourceConfig.volumeSizeInGB'",
        ),
        (
            {"ResourceConfig.VolumeSizeInGB": 2**31},
            "NUMBER_VALUE can not be converted to an Integer: Value '2147483648' at "
            "'resourceConfig.volumeSizeInGB'",
        ),
        (
            {"ResourceConfig.InstanceCount": True},
            "BOOLEAN_VALUE can not be converted to an Integer: Value 'true' at "
            "'resourceConfig.instanceCount'",
        ),
        (
            {"EnableNetworkIsolation": "true"},
            "STRING_VALUE can not be converted to a Boolean: Value 'true' at 'enableNetworkIsolation'",
        ),
        (
            {"InputDataConfig": [None]},
            "NULL_VALUE can not be converted to a Structure: Value 'null' at 'inputDataConfig.1.member'",
        ),
        (
            {"HyperParameters": {"k": None}},
            "NULL_VALUE can not be converted to a String: Value 'null' at 'hyperParameters.k'",
        ),
        (
            {"HyperParameters": {"k": 3}},
            "NUMBER_VALUE can not be converted to a String: Value '3' at 'hyperParameters.k'",
        ),
    ],
)
def test_values_of_the_wrong_json_type_are_serialization_exceptions(changes, message):
    error = refusal("CreateTrainingJob", training_job(**changes))
    assert (error.code, error.status, error.message) == ("SerializationException", 400, message)


def test_a_type_error_wins_over_constraint_errors_and_timestamps_are_epoch_seconds():
    # AWS decodes the whole body before validating it.
    error = refusal("CreateTrainingJob", training_job(TrainingJobName="bad_name", RoleArn=5))
    assert error.code == "SerializationException"
    validate_request("ListTrainingJobs", {"CreationTimeAfter": 1767225600, "LastModifiedTimeBefore": 1.5e9})
    error = refusal("ListTrainingJobs", {"CreationTimeAfter": "2026-01-01T00:00:00Z"})
    assert error.message == (
        "STRING_VALUE can not be converted to a Timestamp: Value '2026-01-01T00:00:00Z' at "
        "'creationTimeAfter'"
    )
    assert refusal("ListTrainingJobs", ["not", "an", "object"]).message == (
        "Start of list found where not expected: Value '[not, an, object]' as the request body"
    )


def test_explicit_nulls_are_absent_members():
    validate_request("CreateTrainingJob", training_job(VpcConfig=None, Tags=None))


def test_printed_values_are_cut_and_a_huge_value_is_named():
    request = {"ModelName": "m", "PrimaryContainer": {"Image": "i", "Environment": {"BIG": "v" * TEN_MIB}}}
    error = refusal("CreateModel", request)
    assert error.message.startswith("1 validation error detected: Value '{BIG=vvv")
    assert (
        "...(cut)' at 'primaryContainer.environment' failed to satisfy constraint: Map value must satisfy"
        in error.message
    )
    assert "Member must have length less than or equal to 1024" in error.message
    assert len(error.message) < 2000


# -- Java patterns ----------------------------------------------------------------------------------
def test_every_pattern_of_the_model_has_a_python_translation():
    model = service_model()
    patterns = {model.shape_for(name).metadata.get("pattern") for name in model.shape_names} - {None}
    assert len(patterns) > 100
    for pattern in patterns:
        re.compile(python_pattern(pattern), re.ASCII)


@pytest.mark.parametrize(
    ("java", "matching", "not_matching"),
    [
        (r"[\p{L}\p{N}]+", ["Größe", "٣", "日本"], ["a b", "a-b"]),
        (r"arn:[\p{Alnum}\-]+", ["arn:aws-cn"], ["arn:é"]),
        (".*", ["any thing"], ["a\rb", "a\u2028b", "a\nb"]),
        (
            r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*",
            ["tab\tand \U0001f600"],
            ["\x00", "\n"],
        ),
        (r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}", ["a b", ""], ["a&b"]),
        (
            r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
            [ROLE_ARN],
            ["arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/r"],
        ),
        (r"[a-zA-Z0-9$_]+", ["a$b"], ["a-b"]),
    ],
)
def test_java_patterns_mean_in_python_what_they_mean_in_java(java, matching, not_matching):
    compiled = re.compile(python_pattern(java), re.ASCII)
    assert [value for value in matching if not compiled.fullmatch(value)] == []
    assert [value for value in not_matching if compiled.fullmatch(value)] == []


@pytest.mark.parametrize(
    ("java", "problem"),
    [(r"\Qa.b\E", "Java-only escape"), ("[a-z&&[^q]]", "class intersection"), (r"[^\P{L}]", "negated class")],
)
def test_java_only_constructs_are_refused_not_mistranslated(java, problem):
    with pytest.raises(ValueError, match=problem):
        python_pattern(java)


# -- request bodies ---------------------------------------------------------------------------------
def test_json_bodies_are_parsed_into_objects():
    assert parse_json_request(b'{"TrainingJobName": "a[{b", "Tags": [{"Key": "k", "Value": "}]"}]}') == {
        "TrainingJobName": "a[{b",
        "Tags": [{"Key": "k", "Value": "}]"}],
    }
    assert parse_json_request(b"") == {}
    nested = b'{"a": ' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH
    assert parse_json_request(nested)["a"]["a"]
    # Brackets inside strings (escaped quotes included) do not nest anything.
    assert parse_json_request(b'{"s": "\\"' + b"[" * 1000 + b'"}') == {"s": '"' + "[" * 1000}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"{not json",
            "The request body is not valid JSON: Expecting property name enclosed in double quotes",
        ),
        (b"[1, 2]", "The request body must be a JSON object, not list '[1, 2]'"),
        (b'"text"', "The request body must be a JSON object, not str 'text'"),
        (b'{"a": NaN}', "The request body is not valid JSON: NaN is not a JSON value"),
        (b'{"a": "\xff"}', "The request body is not valid JSON: 'utf-8' codec can't decode byte 0xff"),
        (b"[" * 100_000 + b"]" * 100_000, f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels"),
        (b'{"a": ' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), "nests JSON deeper"),
    ],
    ids=["not-json", "array", "string", "nan", "not-utf8", "deep-array", "one-level-too-deep"],
)
def test_bad_bodies_are_serialization_exceptions(raw, message):
    with pytest.raises(ServiceError) as raised:
        parse_json_request(raw)
    assert (raised.value.code, raised.value.status) == ("SerializationException", 400)
    assert message in raised.value.message


def test_an_oversized_body_is_refused_unparsed():
    with pytest.raises(ServiceError) as raised:
        parse_json_request(b" " * (MAX_REQUEST_BYTES + 1))
    assert (raised.value.code, raised.value.status) == ("RequestTooLargeException", 413)
    assert f"over {MAX_REQUEST_BYTES} bytes" in raised.value.message


def test_an_unterminated_string_full_of_quotes_is_refused_quickly():
    raw = b'{"a": "' + b'\\"' * 2_000_000
    with pytest.raises(ServiceError, match="not valid JSON"):
        parse_json_request(raw)


# -- through a running engine -----------------------------------------------------------------------
def _post(engine, operation: str, request: dict) -> tuple[int, dict]:
    """POST ``request`` as awsJson 1.1, as a client that skips boto3's own parameter checks would."""
    http = urllib.request.Request(
        engine.endpoint_url,
        data=json.dumps(request).encode(),
        method="POST",
        headers={"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(http) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _not_found(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    return raised.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("changes", "path", "value"),
    [
        ({"InputDataConfig": "x"}, "inputDataConfig", "x"),
        ({"HyperParameters": []}, "hyperParameters", "[]"),
        ({"ResourceConfig.VolumeSizeInGB": "x"}, "resourceConfig.volumeSizeInGB", "x"),
        ({"ResourceConfig.InstanceType": 5}, "resourceConfig.instanceType", "5"),
        ({"RoleArn": 5}, "roleArn", "5"),
    ],
)
def test_badly_typed_training_jobs_are_400s_and_create_nothing(
    engine, sagemaker, unique, changes, path, value
):
    name = unique("typed")
    status, body = _post(engine, "CreateTrainingJob", training_job(TrainingJobName=name, **changes))
    assert (status, body["__type"]) == (400, "SerializationException")
    assert f"Value '{value}' at '{path}'" in body["message"]
    assert _not_found(lambda: sagemaker.describe_training_job(TrainingJobName=name)) == (
        "Requested resource not found."
    )


def test_a_badly_typed_endpoint_config_is_a_400_and_creates_nothing(engine, sagemaker, unique):
    name = unique("typed-config")
    status, body = _post(
        engine, "CreateEndpointConfig", {"EndpointConfigName": name, "ProductionVariants": "x"}
    )
    assert (status, body["__type"], body["message"]) == (
        400,
        "SerializationException",
        "STRING_VALUE can not be converted to a List: Value 'x' at 'productionVariants'",
    )
    assert "Could not find endpoint configuration" in _not_found(
        lambda: sagemaker.describe_endpoint_config(EndpointConfigName=name)
    )


def test_a_ten_mib_environment_value_is_a_400_naming_it_and_creates_nothing(engine, sagemaker, unique):
    name = unique("huge-env")
    request = {
        "ModelName": name,
        "PrimaryContainer": {"Image": TINY_IMAGE, "Environment": {"HUGE": "v" * TEN_MIB}},
        "ExecutionRoleArn": ROLE_ARN,
    }
    status, body = _post(engine, "CreateModel", request)
    assert (status, body["__type"]) == (400, "ValidationException")
    assert body["message"].startswith("1 validation error detected: Value '{HUGE=vvvv")
    assert (
        "at 'primaryContainer.environment' failed to satisfy constraint: Map value must satisfy"
        in (body["message"])
    )
    assert "Member must have length less than or equal to 1024" in body["message"]
    assert "Could not find model" in _not_found(lambda: sagemaker.describe_model(ModelName=name))


def test_values_the_model_admits_but_the_engine_cannot_use_are_400s_naming_them(engine, unique):
    status, body = _post(engine, "ListModels", {"NextToken": "page-2"})
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "'page-2'" in body["message"]
    request = training_job(
        TrainingJobName=unique("no-repo"), **{"AlgorithmSpecification.TrainingImage": ":1"}
    )
    status, body = _post(engine, "CreateTrainingJob", request)
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "Image URI ':1' is not of the form <registry>/<repository>:<tag>" in body["message"]


def test_an_engine_bug_is_a_logged_500_not_a_400(engine, monkeypatch, caplog):
    def broken(request):
        return {}["no such key"]

    monkeypatch.setattr(engine.sagemaker.family_of("ListModels"), "_op_ListModels", broken)
    with caplog.at_level(logging.ERROR, logger="include.local_sagemaker.server"):
        status, body = _post(engine, "ListModels", {})
    assert (status, body["__type"]) == (500, "InternalFailure")
    assert "KeyError" in body["message"]
    [record] = [r for r in caplog.records if r.name == "include.local_sagemaker.server"]
    assert "ListModels failed" in record.getMessage()
    assert record.exc_info[0] is KeyError


def test_every_operation_the_engine_implements_is_in_botocore_s_model(engine):
    model = botocore.session.get_session().get_service_model("sagemaker")
    implemented = {
        name.removeprefix("_op_")
        for owner in engine.sagemaker.families
        for name in dir(owner)
        if name.startswith("_op_")
    }
    assert {"CreateTrainingJob", "CreateTransformJob", "CreateModelPackage"} <= implemented
    assert sorted(implemented - set(model.operation_names)) == []
