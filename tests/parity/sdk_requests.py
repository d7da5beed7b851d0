"""The SageMaker Python SDK v2's own requests for the DAGs' jobs, built without sending anything.

Runs inside the SDK's virtualenv (``make sdk``), never imported by the test process:
``python sdk_requests.py <out.json>`` reads a JSON list of steps on stdin, each
``{"builder": <name>, "region": ..., "arguments": {...}}``, and writes, per step, the SageMaker requests
the SDK made (``[[operation, parameters], ...]``).

Nothing leaves the process. The SDK gets a ``boto3.Session`` on whose event system two documented
botocore hooks are registered (the mechanism of ``botocore.stub.Stubber``):

* ``before-parameter-build`` records each SageMaker call's parameters as the SDK passed them to boto3;
* ``before-call`` answers every call, of any service, with a canned response instead of sending it,
  after botocore has validated the parameters against the service model.

Telemetry, the one call the SDK makes outside botocore, is turned off through the SDK's own config.

A step may give ``canned`` answers of its own (``DescribeTrainingJob`` of the job it fitted) and ``objects``
(``{"s3://bucket/key": base64}``) that S3 ``HeadObject``/``GetObject`` answer with, for a model class that
downloads what it repacks; what the SDK uploads (``PutObject``) comes back under ``uploads``, base64.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import sys

import boto3
import sagemaker
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from sagemaker import image_uris
from sagemaker.amazon.amazon_estimator import RecordSet
from sagemaker.amazon.kmeans import KMeans, KMeansModel
from sagemaker.amazon.linear_learner import LinearLearner, LinearLearnerModel
from sagemaker.amazon.pca import PCA, PCAModel
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model import Model
from sagemaker.mxnet import MXNet
from sagemaker.pytorch import PyTorch
from sagemaker.sklearn import SKLearn
from sagemaker.tuner import CategoricalParameter, HyperparameterTuner

ACCOUNT = "123456789012"
_ARN_FIELDS = (
    "TrainingJobArn",
    "ModelArn",
    "EndpointConfigArn",
    "EndpointArn",
    "TransformJobArn",
    "HyperParameterTuningJobArn",
    "ModelPackageArn",
    "ModelPackageGroupArn",
)
# Answers the SDK reads: its model package group exists (Search), so does its default bucket.
_CANNED = {
    "Search": {"Results": [{"ModelPackageGroup": {}}]},
    "ListBuckets": {"Buckets": [{"Name": "sdk-default-bucket"}]},
    "GetCallerIdentity": {"Account": ACCOUNT},
}
_ALGORITHMS = {"KMeans": KMeans, "PCA": PCA, "LinearLearner": LinearLearner}
_MODELS = {
    "KMeansModel": KMeansModel,
    "PCAModel": PCAModel,
    "LinearLearnerModel": LinearLearnerModel,
    "Model": Model,
}


_FRAMEWORKS = {"MXNet": MXNet, "PyTorch": PyTorch, "SKLearn": SKLearn}


class Recorder:
    def __init__(self, canned: dict | None = None, objects: dict | None = None):
        self.calls: list[list] = []
        self.canned = {**_CANNED, **(canned or {})}
        self.objects = {uri: base64.b64decode(body) for uri, body in (objects or {}).items()}
        self.uploads: dict[str, str] = {}

    def record(self, params, model, context, **_):
        service = model.service_model.service_name
        if service == "sagemaker" and model.name.startswith("Create"):
            self.calls.append([model.name, copy.deepcopy(params)])
        elif service == "s3" and "Key" in params:
            context["parity_object"] = f"s3://{params['Bucket']}/{params['Key']}"

    def respond(self, model, params, context, **_):
        if model.service_model.service_name == "s3" and "parity_object" in context:
            answer = self._s3_answer(model.name, context["parity_object"], params["body"])
        else:
            answer = self.canned.get(model.name) or {
                field: f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:sdk/parity" for field in _ARN_FIELDS
            }
        return AWSResponse(None, 200, {}, None), {**answer, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _s3_answer(self, operation: str, uri: str, body) -> dict:
        if operation == "PutObject":
            body.seek(0)
            self.uploads[uri] = base64.b64encode(body.read()).decode()
            return {"ETag": '"parity"'}
        data = self.objects[uri]
        answer = {"ContentLength": len(data), "ETag": '"parity"'}
        if operation == "GetObject":
            answer["Body"] = StreamingBody(io.BytesIO(data), len(data))
        return answer


def session(region: str, recorder: Recorder) -> sagemaker.Session:
    boto = boto3.Session(aws_access_key_id="parity", aws_secret_access_key="parity", region_name=region)
    boto.events.register("before-parameter-build", recorder.record)
    boto.events.register("before-call", recorder.respond)
    config = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
    return sagemaker.Session(boto_session=boto, default_bucket="sdk-default-bucket", sagemaker_config=config)


def _record_sets(records: list[dict]) -> list[RecordSet]:
    return [RecordSet(**record) for record in records]


# -- builders: one SDK usage each, as the SageMaker examples write it --------------------------------
def algorithm_fit(sess, *, algorithm, estimator, records, mini_batch_size, job_name):
    """``KMeans(...).fit(record_sets, mini_batch_size)`` (and PCA's, Linear Learner's)."""
    _ALGORITHMS[algorithm](sagemaker_session=sess, **estimator).fit(
        _record_sets(records), mini_batch_size=mini_batch_size, job_name=job_name, wait=False
    )


def estimator_fit(sess, *, image, estimator, hyperparameters, inputs, job_name):
    """A built-in algorithm through the generic ``Estimator`` (XGBoost's examples do this)."""
    image_uri = image_uris.retrieve(image["framework"], sess.boto_region_name, image["version"])
    trainer = Estimator(image_uri=image_uri, sagemaker_session=sess, **estimator)
    trainer.set_hyperparameters(**hyperparameters)
    trainer.fit({name: TrainingInput(**spec) for name, spec in inputs.items()}, job_name=job_name, wait=False)


def framework_fit_transform(
    sess, *, framework, estimator, inputs, job_name, transformer, transform, register
):
    """The script-mode seed: ``MXNet(entry_point=..., source_dir="s3://.../sourcedir.tar.gz", ...)
    .fit({"train": ..., "test": ...})`` → ``transformer(...).transform(data, content_type=...)``, then the
    same model's ``register()`` (MXNetModel and PyTorchModel repack the model for both)."""
    trainer = _FRAMEWORKS[framework](sagemaker_session=sess, **estimator)
    trainer.fit(inputs, job_name=job_name, wait=False)
    trainer.transformer(**transformer).transform(wait=False, **transform)
    serving_image = image_uris.retrieve(
        trainer._framework_name,
        sess.boto_region_name,
        version=trainer.framework_version,
        py_version=trainer.py_version,
        instance_type=transformer["instance_type"],
        image_scope="inference",
    )
    trainer.create_model(name=transformer["model_name"]).register(image_uri=serving_image, **register)


def _model(sess, spec: dict):
    arguments = dict(spec["arguments"])
    if "image" in arguments:
        image = arguments.pop("image")
        arguments["image_uri"] = image_uris.retrieve(
            image["framework"], sess.boto_region_name, image["version"]
        )
    return _MODELS[spec["class"]](sagemaker_session=sess, **arguments)


def model_deploy(sess, *, model, deploy):
    """``model.deploy(...)``: CreateModel, CreateEndpointConfig, CreateEndpoint."""
    _model(sess, model).deploy(wait=False, **deploy)


def model_transform(sess, *, model, transformer, transform):
    """``model.transformer(...).transform(...)``: CreateModel, CreateTransformJob."""
    _model(sess, model).transformer(**transformer).transform(wait=False, **transform)


def model_register(sess, *, model, register):
    """``model.register(...)``: CreateModelPackage."""
    _model(sess, model).register(**register)


class _GridTuner(HyperparameterTuner):
    # The SDK checks a categorical range of an Amazon estimator's hyperparameter with that
    # hyperparameter's validators after turning the values into strings, so CategoricalParameter([8, 12])
    # for KMeans' k raises TypeError ('>' between str and int); skipping that client-side check changes
    # nothing in the request.
    def _validate_parameter_range(self, value_hp, parameter_range):
        pass


def tuner_fit(sess, *, algorithm, estimator, ranges, tuner, records, mini_batch_size, job_name):
    """``HyperparameterTuner(KMeans(...), objective, {name: CategoricalParameter(values)}).fit(...)``."""
    trainer = _ALGORITHMS[algorithm](sagemaker_session=sess, **estimator)
    parameter_ranges = {name: CategoricalParameter(values) for name, values in ranges.items()}
    _GridTuner(trainer, hyperparameter_ranges=parameter_ranges, **tuner).fit(
        _record_sets(records), mini_batch_size=mini_batch_size, job_name=job_name, wait=False
    )


BUILDERS = {
    builder.__name__: builder
    for builder in (
        algorithm_fit,
        estimator_fit,
        framework_fit_transform,
        model_deploy,
        model_transform,
        model_register,
        tuner_fit,
    )
}


def main(output: str) -> None:
    steps = json.load(sys.stdin)
    answers = {"sdk_version": sagemaker.__version__, "requests": [], "uploads": []}
    for step in steps:
        recorder = Recorder(step.get("canned"), step.get("objects"))
        BUILDERS[step["builder"]](session(step["region"], recorder), **step["arguments"])
        answers["requests"].append(recorder.calls)
        answers["uploads"].append(recorder.uploads)
    with open(output, "w") as out:  # not stdout: the SDK logs there
        json.dump(answers, out, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
