"""The script-mode seed's cells as written, with the SageMaker Python SDK v2, against the local engine.

``python sdk_v2_seed_workflow.py <framework> <role ARN> <result file>`` runs in the SDK's virtualenv, in the
entry point's source directory (the notebook's cells name ``entry_point="mnist.py"`` relative to it), with
the engine's URL in ``AWS_ENDPOINT_URL``; the sample data is already in ``sagemaker-sample-data-<region>``.
For ``mxnet`` the estimator is the notebook's own (amazon-sagemaker-examples,
``sagemaker-python-sdk/mxnet_mnist/mxnet_mnist_with_batch_transform.ipynb``), its SDK v1 argument names
included; ``pytorch`` and ``sklearn`` make the same calls with their estimators. The only line changed is the
role: ``get_execution_role()`` works only on a notebook instance. It writes the predictions of the first
ten digits and of all of them, read back as the notebook reads them, as JSON.
"""

# The notebook's own spelling, kept as written.
# ruff: noqa: UP032

import ast
import json
import sys
import time

from sagemaker.mxnet import MXNet
from sagemaker.pytorch import PyTorch
from sagemaker.s3 import S3Downloader
from sagemaker.session import Session
from sagemaker.sklearn import SKLearn

framework, role, result_file = sys.argv[1:4]

sagemaker_session = Session()
region = sagemaker_session.boto_session.region_name
sample_data_bucket = "sagemaker-sample-data-{}".format(region)
bucket = sagemaker_session.default_bucket()
custom_code_upload_location = "s3://{}/mxnet-mnist-example/code".format(bucket)
model_artifacts_location = "s3://{}/mxnet-mnist-example/artifacts".format(bucket)

if framework == "mxnet":
    mnist_estimator = MXNet(
        entry_point="mnist.py",
        role=role,
        output_path=model_artifacts_location,
        code_location=custom_code_upload_location,
        train_instance_count=1,
        train_instance_type="ml.m4.xlarge",
        framework_version="1.6.0",
        py_version="py3",
        hyperparameters={"learning-rate": 0.1},
    )
elif framework == "pytorch":
    mnist_estimator = PyTorch(
        entry_point="mnist.py",
        role=role,
        output_path=model_artifacts_location,
        code_location=custom_code_upload_location,
        instance_count=1,
        instance_type="ml.m5.large",
        framework_version="2.6.0",
        py_version="py312",
        hyperparameters={"learning-rate": 0.1},
    )
else:
    mnist_estimator = SKLearn(
        entry_point="mnist.py",
        role=role,
        output_path=model_artifacts_location,
        code_location=custom_code_upload_location,
        instance_count=1,
        instance_type="ml.m5.large",
        framework_version="1.2-1",
        py_version="py3",
        hyperparameters={"learning-rate": 0.1},
    )

train_data_location = "s3://{}/mxnet/mnist/train".format(sample_data_bucket)
test_data_location = "s3://{}/mxnet/mnist/test".format(sample_data_bucket)
started = time.monotonic()
mnist_estimator.fit({"train": train_data_location, "test": test_data_location})
fitted = time.monotonic()

transformer = mnist_estimator.transformer(instance_count=1, instance_type="ml.m4.xlarge")
input_file_path = "batch-transform/mnist-1000-samples"
transformer.transform("s3://{}/{}".format(sample_data_bucket, input_file_path), content_type="text/csv")
transformer.wait()
transformed = time.monotonic()


def predicted_label(transform_output):
    output = ast.literal_eval(transform_output)
    probabilities = output[0]
    return probabilities.index(max(probabilities))


predictions = []
for i in range(10):
    file_key = "{}/data-{}.csv.out".format(transformer.output_path, i)
    output = S3Downloader.read_file(file_key)
    predictions.append(predicted_label(output))

# Beyond the notebook: every output, read through one session (each call without one builds a new
# session, a second apiece).
outputs = S3Downloader.list(transformer.output_path, sagemaker_session=sagemaker_session)
every = {
    uri.rsplit("/", 1)[1]: predicted_label(S3Downloader.read_file(uri, sagemaker_session=sagemaker_session))
    for uri in outputs
}
with open(result_file, "w") as out:
    json.dump(
        {
            "first_ten": predictions,
            "all": every,
            "training_image": mnist_estimator.training_image_uri(),
            "job": mnist_estimator.latest_training_job.name,
            "seconds": {"fit": fitted - started, "transform": transformed - fitted},
        },
        out,
    )
