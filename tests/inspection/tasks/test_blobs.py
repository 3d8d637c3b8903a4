"""Photo blobs: content-addressed uploads (raw body or multipart), stored on local disk by default
and on an S3-compatible server (moto's, over HTTP) by configuration; size and type limits as
413/415 problems that store nothing; reading back only for those who may see a holder."""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Iterator
from datetime import time

import boto3
import pytest

from services.inspection.main import create_app as create_inspection_app
from services.inspection.models import Blob
from shared.testing.services import running_service
from tests.inspection.conftest import QUIET
from tests.inspection.support import LANSHAN, TODAY, Clock
from tests.inspection.tasks_support import JPEG, PNG, Tasks

pytestmark = pytest.mark.postgres


def multipart(data: bytes, content_type: str, name: str = "file") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"p\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def test_a_photo_is_stored_once_by_its_hash_on_local_disk(tasks, usccs, tmp_path):
    uscc = usccs(0)
    await tasks.station(uscc)
    sha = hashlib.sha256(JPEG).hexdigest()
    first = await tasks.client.post(f"/api/v1/enterprises/{uscc}/blobs", content=JPEG,
                                    headers={**tasks.user(uscc), "Content-Type": "image/jpeg"})
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] == sha and first.json()["size"] == len(JPEG)
    assert (tmp_path / "blobs" / sha[:2] / sha[2:4] / sha).read_bytes() == JPEG
    body, content_type = multipart(JPEG, "image/jpeg")
    again = await tasks.client.post(f"/api/v1/enterprises/{uscc}/blobs", content=body,
                                    headers={**tasks.user(uscc), "Content-Type": content_type})
    assert again.status_code == 200 and again.json()["sha256"] == sha
    got = await tasks.client.get(f"/api/v1/blobs/{sha}", headers=tasks.user(uscc))
    assert got.status_code == 200 and got.content == JPEG and got.headers["content-type"] == "image/jpeg"
    assert await tasks.count(Blob.__table__) == 1


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (JPEG, "image/gif", 415),
    (b"plain text, not a photo", "image/jpeg", 415),
    (PNG, "image/jpeg", 415),
    (b"", "image/png", 422),
    (b"\xff\xd8\xff" + b"\0" * 2048, "image/jpeg", 413),
], ids=["jpeg-sent-as-gif", "text-sent-as-jpeg", "png-sent-as-jpeg", "empty", "over-the-size-limit"])
async def test_limits_are_problems_that_store_nothing(tasks, usccs, tmp_path, data, content_type, status):
    uscc = usccs(0)
    await tasks.station(uscc)
    tasks.runtime.settings.blob_max_bytes = 1024
    response = await tasks.client.post(f"/api/v1/enterprises/{uscc}/blobs", content=data,
                                       headers={**tasks.user(uscc), "Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await tasks.count(Blob.__table__) == 0
    assert not (tmp_path / "blobs").exists() or not any((tmp_path / "blobs").rglob("*"))


async def test_a_multipart_body_without_a_file_part_is_422(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    body, content_type = multipart(JPEG, "image/jpeg", name="photo")
    response = await tasks.client.post(f"/api/v1/enterprises/{uscc}/blobs", content=body,
                                       headers={**tasks.user(uscc), "Content-Type": content_type})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"


async def test_who_may_upload_and_read_a_photo(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    sha = await tasks.photo(uscc)
    uploads = {"own": tasks.user(uscc), "other enterprise": tasks.user("91371102MA3C5K0X1Q"), "city": tasks.city}
    got = {k: (await tasks.client.post(f"/api/v1/enterprises/{uscc}/blobs", content=PNG, headers={
        **h, "Content-Type": "image/png"})).status_code for k, h in uploads.items()}
    assert got == {"own": 201, "other enterprise": 403, "city": 403}
    reads = {"own": tasks.user(uscc), "other enterprise": tasks.user("91371102MA3C5K0X1Q"), "city": tasks.city,
             "lanshan": tasks.auth("regulator", jurisdiction=LANSHAN), "association": tasks.auth("association")}
    got = {k: (await tasks.client.get(f"/api/v1/blobs/{sha}", headers=h)).status_code for k, h in reads.items()}
    assert got == {"own": 200, "other enterprise": 403, "city": 200, "lanshan": 403, "association": 403}
    assert (await tasks.client.get(f"/api/v1/blobs/{'0' * 64}", headers=tasks.admin)).status_code == 404
    assert (await tasks.client.get(f"/api/v1/blobs/{sha}")).status_code == 401


# --- S3-compatible storage: moto's server over HTTP ---------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


async def test_photos_live_in_s3_compatible_storage_by_configuration(database_url, s3_server, usccs, tmp_path):
    bucket = f"photos-{uuid.uuid4().hex[:8]}"
    client = s3_client(s3_server)
    client.create_bucket(Bucket=bucket)
    async with running_service(create_inspection_app, database_url, **QUIET, task_jobs_enabled=False,
                               blob_store="s3", blob_s3_bucket=bucket, blob_s3_endpoint_url=s3_server,
                               blob_s3_access_key_id="test", blob_s3_secret_access_key="test",
                               blob_dir=str(tmp_path / "unused")) as svc:
        svc.runtime.clock = Clock(TODAY, time(12))
        tasks = Tasks(svc, svc.runtime.clock)
        uscc = usccs(0)
        await tasks.station(uscc)
        sha = await tasks.photo(uscc)
        assert sha == hashlib.sha256(JPEG).hexdigest()
        stored = client.get_object(Bucket=bucket, Key=f"blobs/{sha}")
        assert stored["Body"].read() == JPEG and stored["ContentType"] == "image/jpeg"
        got = await tasks.client.get(f"/api/v1/blobs/{sha}", headers=tasks.city)
        assert got.status_code == 200 and got.content == JPEG
        client.delete_object(Bucket=bucket, Key=f"blobs/{sha}")  # lost from storage: 404, never a 500
        gone = await tasks.client.get(f"/api/v1/blobs/{sha}", headers=tasks.city)
        assert gone.status_code == 404
        assert not (tmp_path / "unused").exists()
