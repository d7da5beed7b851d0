"""``validate``: send test digits to a run's endpoint and keep what it answered, for the report.

Also the S3 reads and writes the workflows' own tasks share (a run's objects are read and written through
the ``aws_default`` connection, as the operators do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import task

# A predictor: (sagemaker-runtime client, plan_run's result, features, labels) -> predictions.npz bytes.
Predictor = Callable[..., bytes]


def read_object(uri: str) -> bytes:
    """The body of the S3 object ``uri``."""
    bucket, key = S3Hook.parse_s3_url(uri)
    return S3Hook().get_key(key, bucket).get()["Body"].read()


def read_objects(prefix_uri: str, keys: Iterable[str]) -> Iterator[bytes]:
    """The bodies of the objects ``keys`` in the bucket of ``prefix_uri``, one at a time."""
    bucket, _ = S3Hook.parse_s3_url(prefix_uri)
    s3 = S3Hook()
    for key in keys:
        yield s3.get_key(key, bucket).get()["Body"].read()


def read_each(uris: Iterable[str]) -> Iterator[bytes]:
    """The bodies of the S3 objects ``uris``, one at a time, through one client: for many small objects,
    such as a transform's ``.out`` per input file."""
    client = S3Hook().conn
    for uri in uris:
        bucket, key = S3Hook.parse_s3_url(uri)
        yield client.get_object(Bucket=bucket, Key=key)["Body"].read()


def write_object(uri: str, body: bytes) -> str:
    """Store ``body`` at ``uri`` (replacing what a retried try stored) and return ``uri``."""
    bucket, key = S3Hook.parse_s3_url(uri)
    S3Hook().load_bytes(body, key, bucket, replace=True)
    return uri


def held_out_objects(data: Mapping, data_format: str) -> tuple[str, list[str]]:
    """Where the test split's objects are: ``(s3_uri, keys)`` of ``MnistToS3Operator``'s
    ``outputs.<format>.test``, or of one split's data operator result (``ParquetToRecordIOOperator``)."""
    split = data["outputs"][data_format]["test"] if "outputs" in data else data
    return split["s3_uri"], split["keys"]


def _read_digits(data_format: str, bodies: Iterable[bytes]):
    # Imported when the task runs: the readers load numpy and scikit-learn.
    if data_format == "libsvm":
        from include.inference.classification import read_libsvm_objects

        return read_libsvm_objects(bodies)
    from include.inference.validation import read_recordio_objects

    return read_recordio_objects(bodies)


def validate(run, data, predict: Predictor, data_format: str = "recordio"):
    """The ``validate`` task: the first ``validation_records`` test digits of ``data`` (``recordio`` or
    ``libsvm``), sent to the run's endpoint(s) by ``predict(runtime, run, features, labels)``, whose
    ``.npz`` is stored at the run's ``predictions`` URI. Returns that URI (an XCom for the report).
    ``predict``'s docstring is the task's documentation."""

    @task(task_id="validate", doc_md=predict.__doc__)
    def validate_digits(run: dict, data: dict, params=None) -> str:
        """Send test digits to the endpoint; store images, labels and predictions on S3."""
        features, labels = _read_digits(data_format, read_objects(*held_out_objects(data, data_format)))
        count = params["validation_records"]
        runtime = AwsBaseHook(client_type="sagemaker-runtime").conn
        return write_object(run["predictions"], predict(runtime, run, features[:count], labels[:count]))

    return validate_digits(run, data)
