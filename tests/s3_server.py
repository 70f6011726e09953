"""A local S3 server (moto) on 127.0.0.1 for the tests of ``s3://`` storage."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow.fs as pafs

SERVER_START_S = 60


def s3_environment(endpoint: str) -> dict[str, str]:
    """Return the AWS variables through which pyarrow's S3 file system reaches ``endpoint``.

    Turning the instance metadata lookup off keeps the AWS SDK from looking for credentials or a
    region anywhere else.
    """
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def make_bucket(endpoint: str, bucket: str) -> pafs.S3FileSystem:
    """Create ``bucket`` on the server and return a file system that may delete it again."""
    filesystem = pafs.S3FileSystem(
        endpoint_override=endpoint,
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
        allow_bucket_creation=True,
        allow_bucket_deletion=True,
    )
    filesystem.create_dir(bucket)
    return filesystem


@contextmanager
def local_s3_server() -> Iterator[str]:
    """Run moto's S3 server on a free loopback port and yield its endpoint URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(endpoint, timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the local S3 server did not start at {endpoint}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)
