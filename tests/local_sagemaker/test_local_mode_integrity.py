"""Local mode as an attacker and a careless client would try it: nothing is lost, nothing is written
outside the state directory, and no web page can drive the engine."""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import socket
import time
import urllib.parse
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from include.local_sagemaker.channels import ChannelError, download_channel
from include.local_sagemaker.engine import LocalSageMaker
from include.local_sagemaker.paths import PathEscapeError, confined, file_name

SPECIAL_KEYS = ["uni-été.txt", "pct%41.txt", "space and+plus.txt", "deep/a b/c%2Fd.bin", "emoji-🦭.txt"]


def _raw(engine_url: str, method: str, path: str, headers: dict | None = None, body: bytes = b""):
    """One raw HTTP request (no SDK smoothing anything over); returns (status, headers, body)."""
    parsed = urllib.parse.urlsplit(engine_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _s3(url: str):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def _state_files(state_dir: Path) -> set[Path]:
    return {path for path in state_dir.rglob("*") if path.is_file() and "tmp" not in path.parts}


# -- nothing lost ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["%2e%2e", "%2E", ".", "..", "%2e"])
def test_dot_bucket_names_are_refused_and_delete_nothing(engine, s3, name):
    s3.create_bucket(Bucket="dot-guard")
    s3.put_object(Bucket="dot-guard", Key="keep.txt", Body=b"keep")
    before = _state_files(engine.state_dir)

    for method in ("PUT", "DELETE"):
        status, _, body = _raw(engine.endpoint_url, method, f"/{name}")
        assert 400 <= status < 500, (method, name, status, body)

    assert _state_files(engine.state_dir) >= {p for p in before if "s3" not in p.parts}
    assert s3.get_object(Bucket="dot-guard", Key="keep.txt")["Body"].read() == b"keep"


def test_special_character_keys_survive_a_restart(tmp_path):
    engine = LocalSageMaker(tmp_path / "state").start()
    payloads = {key: os.urandom(1000) + key.encode() for key in SPECIAL_KEYS}
    try:
        s3 = _s3(engine.endpoint_url)
        s3.create_bucket(Bucket="special-keys")
        for key, data in payloads.items():
            s3.put_object(Bucket="special-keys", Key=key, Body=data)
    finally:
        engine.stop()
    engine = LocalSageMaker(tmp_path / "state").start()
    try:
        s3 = _s3(engine.endpoint_url)
        listed = [entry["Key"] for entry in s3.list_objects_v2(Bucket="special-keys")["Contents"]]
        assert sorted(listed) == sorted(payloads)
        for key, data in payloads.items():
            assert s3.get_object(Bucket="special-keys", Key=key)["Body"].read() == data
    finally:
        engine.stop()


def test_form_encoded_upload_keeps_its_bytes(s3):
    s3.create_bucket(Bucket="form-upload")
    body = b"a=1&b=2&c=" + os.urandom(64)
    s3.put_object(
        Bucket="form-upload", Key="form.bin", Body=body, ContentType="application/x-www-form-urlencoded"
    )
    stored = s3.get_object(Bucket="form-upload", Key="form.bin")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "encryption",
    [
        {"ServerSideEncryption": "aws:kms"},
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/aws/s3", "BucketKeyEnabled": True},
        {"ServerSideEncryption": "AES256"},
    ],
)
def test_encrypted_writes_are_stored(s3, encryption):
    # The SageMaker SDK uploads every source archive with SSE-KMS (the AWS managed key).
    s3.create_bucket(Bucket="encrypted-writes")
    s3.put_object(Bucket="encrypted-writes", Key="sourcedir.tar.gz", Body=b"archive", **encryption)
    assert s3.get_object(Bucket="encrypted-writes", Key="sourcedir.tar.gz")["Body"].read() == b"archive"


def test_virtual_host_style_write_is_kept(engine, s3):
    s3.create_bucket(Bucket="vhost-bucket")
    status, _, body = _raw(
        engine.endpoint_url,
        "PUT",
        "/via-host.txt",
        {"Host": f"vhost-bucket.localhost:{engine.port}", "Content-Type": "text/plain"},
        b"virtual host",
    )
    assert status == 200, body
    assert s3.get_object(Bucket="vhost-bucket", Key="via-host.txt")["Body"].read() == b"virtual host"


def test_concurrent_delete_objects_on_one_bucket(s3):
    s3.create_bucket(Bucket="concurrent-deletes")
    keys = [f"part-{index:03d}" for index in range(40)]
    for key in keys:
        s3.put_object(Bucket="concurrent-deletes", Key=key, Body=key.encode())

    def delete(batch: list[str]) -> int:
        response = s3.delete_objects(
            Bucket="concurrent-deletes", Delete={"Objects": [{"Key": key} for key in batch]}
        )
        return response["ResponseMetadata"]["HTTPStatusCode"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(delete, [keys[i::4] for i in range(4)]))
    assert statuses == [200] * 4
    assert "Contents" not in s3.list_objects_v2(Bucket="concurrent-deletes")


def test_signed_chunked_upload_is_decoded(engine, s3):
    """``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (the Java SDK's framing over HTTP) stores the payload."""
    s3.create_bucket(Bucket="chunked-upload")
    payload = os.urandom(70_000)
    framed = (
        b"".join(
            b"%x;chunk-signature=%s\r\n%s\r\n" % (len(part), b"0" * 64, part)
            for part in (payload[:65536], payload[65536:])
        )
        + b"0;chunk-signature="
        + b"0" * 64
        + b"\r\n\r\n"
    )
    status, _, body = _raw(
        engine.endpoint_url,
        "PUT",
        "/chunked-upload/framed.bin",
        {
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "x-amz-decoded-content-length": str(len(payload)),
            "Content-Length": str(len(framed)),
        },
        framed,
    )
    assert status == 200, body
    assert s3.get_object(Bucket="chunked-upload", Key="framed.bin")["Body"].read() == payload


# -- nothing outside the state directory ----------------------------------------------------------
class _Keys:
    """A store holding the given keys (each object's bytes are its key): download_channel's view of S3."""

    def __init__(self, keys: list[str]):
        self.keys = sorted(set(keys))

    def list_objects(self, bucket: str, prefix: str = ""):
        return [(key, len(key.encode())) for key in self.keys if key.startswith(prefix)]

    def download_all(self, targets: list[tuple[str, str, Path]]):
        for _, key, destination in targets:
            destination.write_bytes(key.encode())
            yield len(key.encode())


_segment = st.sampled_from(["..", ".", "", "a", "b.csv", "..a", "%2e%2e", "/", "~"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_segment, min_size=1, max_size=6).map("/".join), min_size=1, max_size=4))
def test_channel_files_never_land_outside_the_channel(tmp_path_factory, relatives):
    root = tmp_path_factory.mktemp("job")
    destination = root / "input" / "data" / "train"
    outside_before = set(root.parent.iterdir())
    keys = [f"chan/{relative}" for relative in relatives]
    channel = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/chan/"}}}
    refusal = ""
    try:
        download_channel(_Keys(keys), channel, destination)
    except ChannelError as error:
        refusal = str(error)
    # Either refused with the offending key named (or, every key a "directory", nothing to download)...
    assert not refusal or any(key in refusal for key in keys) or "No S3 objects found" in refusal
    # ...and in every case nothing was written outside the channel's directory.
    for path in root.rglob("*"):
        if path.is_file():
            assert path.resolve().is_relative_to(destination.resolve())
    assert set(root.parent.iterdir()) == outside_before


@given(st.text(min_size=1, max_size=40))
def test_a_name_is_always_one_path_component(name):
    component = file_name(name)
    assert "/" not in component
    assert component not in {".", ".."}


def test_confined_refuses_escapes(tmp_path):
    assert confined(tmp_path, "a/b.csv") == tmp_path.resolve() / "a" / "b.csv"
    for escape in ("../x", "a/../../x", "/etc/passwd", "."):
        with pytest.raises(PathEscapeError):
            confined(tmp_path, escape)


def test_traversal_key_fails_the_job_naming_the_key(engine, s3, sagemaker, unique):
    """A manifest can name any relative path; one that climbs out of the channel fails the job."""
    from tests.support.engine import tiny_training_job, wait_for_job

    s3.create_bucket(Bucket="traversal")
    s3.put_object(Bucket="traversal", Key="escape.csv", Body=b"1,2\n")
    s3.put_object(
        Bucket="traversal",
        Key="manifest.json",
        Body=b'[{"prefix": "s3://traversal/"}, "escape.csv", "../../../../escape.csv"]',
    )
    request = tiny_training_job(unique("traversal"), "traversal")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(
        S3DataType="ManifestFile", S3Uri="s3://traversal/manifest.json"
    )
    sagemaker.create_training_job(**request)
    failed = wait_for_job(sagemaker, request["TrainingJobName"])
    assert failed["TrainingJobStatus"] == "Failed"
    assert "ClientError" in failed["FailureReason"]
    assert "../../../../escape.csv" in failed["FailureReason"]
    assert not (engine.state_dir.parent / "escape.csv").exists()


# -- not drivable from a web page -----------------------------------------------------------------
def test_cors_preflight_from_a_foreign_origin_is_not_granted(engine):
    status, headers, _ = _raw(
        engine.endpoint_url,
        "OPTIONS",
        "/",
        {
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type",
        },
    )
    assert status == 403
    assert not [name for name in headers if name.startswith("access-control-")]


def test_a_foreign_origin_cannot_call_any_service(engine, s3):
    s3.create_bucket(Bucket="origin-guard")
    for path, headers, body in [
        (
            "/",
            {"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"},
            b"{}",
        ),
        ("/origin-guard", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
        ("/endpoints/any/invocations", {"Content-Type": "text/plain"}, b"1,2"),
    ]:
        status, response_headers, _ = _raw(
            engine.endpoint_url, "POST", path, {"Origin": "http://evil.example", **headers}, body
        )
        assert status == 403, path
        assert not [name for name in response_headers if name.startswith("access-control-")]


def test_the_engines_own_origin_gets_no_cors_grant_either(engine):
    status, headers, _ = _raw(
        engine.endpoint_url, "OPTIONS", "/", {"Origin": f"http://127.0.0.1:{engine.port}"}
    )
    assert status == 200
    assert not [name for name in headers if name.startswith("access-control-")]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "10.0.0.1", "rebind.127.0.0.1.nip.io"])
def test_a_foreign_host_header_is_refused(engine, host):
    status, _, body = _raw(
        engine.endpoint_url,
        "POST",
        "/",
        {
            "Host": host,
            "X-Amz-Target": "SageMaker.ListTrainingJobs",
            "Content-Type": "application/x-amz-json-1.1",
        },
        b"{}",
    )
    assert status == 403
    assert b"not a loopback name" in body


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "s3.localhost"])
def test_loopback_host_headers_are_served(engine, host):
    status, _, _ = _raw(
        engine.endpoint_url,
        "POST",
        "/",
        {
            "Host": f"{host}:{engine.port}",
            "X-Amz-Target": "SageMaker.ListTrainingJobs",
            "Content-Type": "application/x-amz-json-1.1",
        },
        b"{}",
    )
    assert status == 200


def test_the_object_store_refuses_anyone_but_the_engine(engine):
    """The store's own S3 port is on loopback too: without the engine's secret it answers nothing."""
    stranger = _s3(engine.s3.endpoint)
    with pytest.raises(stranger.exceptions.ClientError) as refused:
        stranger.list_buckets()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_malformed_chunked_body_is_a_400_and_stores_nothing(engine, s3):
    s3.create_bucket(Bucket="bad-chunks")
    framed = b"zz;chunk-signature=0\r\nabc\r\n"
    status, _, body = _raw(
        engine.endpoint_url,
        "PUT",
        "/bad-chunks/broken.bin",
        {
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "x-amz-decoded-content-length": "3",
            "Content-Length": str(len(framed)),
        },
        framed,
    )
    assert status == 400
    assert b"IncompleteBody" in body
    assert "Contents" not in s3.list_objects_v2(Bucket="bad-chunks")


@pytest.mark.parametrize("sent", [b"", b"x" * 50], ids=["headers-only", "half-the-body"])
def test_an_upload_cut_short_keeps_the_previous_object(engine, s3, sent):
    s3.create_bucket(Bucket="cut-short")
    s3.put_object(Bucket="cut-short", Key="object", Body=b"the good version")
    head = (
        f"PUT /cut-short/object HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nContent-Length: 100\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", engine.port), timeout=10) as connection:
        connection.sendall(head + sent)
        time.sleep(0.5)
    time.sleep(1.0)
    assert s3.get_object(Bucket="cut-short", Key="object")["Body"].read() == b"the good version"
