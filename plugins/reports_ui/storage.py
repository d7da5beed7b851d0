"""Reading a report object from S3 through the ``aws_default`` connection (its endpoint_url included)."""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.exceptions import BotoCoreError, ClientError

AWS_CONN_ID = "aws_default"
# A report is one self-contained page; anything far larger is not one the report operators wrote.
MAX_REPORT_BYTES = 50 * 1024 * 1024


class ReportUnreadable(Exception):
    """The report's S3 object is missing, too large or could not be read."""


def read_report(s3_uri: str) -> str:
    """The report at ``s3_uri`` as text."""
    bucket, key = S3Hook.parse_s3_url(s3_uri)
    try:
        response = S3Hook(aws_conn_id=AWS_CONN_ID).get_key(key, bucket).get()
        size = response.get("ContentLength") or 0
        if size > MAX_REPORT_BYTES:
            raise ReportUnreadable(f"The report {s3_uri} has {size} bytes, more than {MAX_REPORT_BYTES}.")
        return response["Body"].read().decode("utf-8", errors="replace")
    except (ClientError, BotoCoreError) as error:
        raise ReportUnreadable(f"The report {s3_uri} could not be read from S3: {error}") from error
