"""Safe downloads: status, timeouts, size caps, hashes and probing."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.support.fetching import LOOPBACK, MIB, NOT_ALLOWED, STRICT, files_under, sha256
from tests.support.http_server import Asset, AssetServer
from workers.fetch import (
    FetchError,
    FetchPolicy,
    download,
    fetch_bytes,
    format_size,
    probe,
)

# --- status, timeouts, broken connections -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"), [(404, "404 Not Found"), (500, "500 Internal Server Error")]
)
def test_error_status_is_reported_with_code_and_reason(
    assets: AssetServer, tmp_path: Path, status: int, words: str
) -> None:
    url = assets.add_status("/file", status, body=b"nope")
    with pytest.raises(FetchError, match=f"the server answered {words}"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_stalled_body_times_out(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add("/slow", Asset(body=b"x" * 4096, stall_after_bytes=100))
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert time.monotonic() - started < 5
    assert files_under(tmp_path) == []


def test_server_that_never_answers_times_out(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add("/silent", Asset(body=b"x", stall_before_headers=True))
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=0.5)
    with pytest.raises(FetchError, match="timed out waiting for 127.0.0.1"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)


def test_connection_that_cannot_be_opened_times_out(tmp_path: Path) -> None:
    # A listener whose one-slot accept queue is full makes the kernel drop further SYNs.
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        policy = FetchPolicy(allowed_hosts=("127.0.0.1",), connect_timeout=0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/f"
        with pytest.raises(FetchError, match="timed out connecting to 127.0.0.1"):
            download(url, tmp_path / "f", max_bytes=MIB, policy=policy)


def test_connection_closed_early_is_reported(assets: AssetServer, tmp_path: Path) -> None:
    asset = Asset(body=b"x" * 1000, content_length=5000, headers={"Connection": "close"})
    url = assets.add("/short", asset)
    with pytest.raises(FetchError, match="broke off"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_closed_port_is_reported_as_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    with pytest.raises(FetchError, match="could not connect to 127.0.0.1"):
        download(f"http://127.0.0.1:{port}/f", tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)


# --- size caps ----------------------------------------------------------------------------


def test_announced_size_over_the_cap_is_refused_before_reading(
    assets: AssetServer, tmp_path: Path
) -> None:
    # The body never comes: reading it would end in a timeout, not in the size message.
    asset = Asset(body=b"x" * 10, content_length=5 * 2**30, stall_after_bytes=0)
    url = assets.add("/huge", asset)
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=5.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than the 1 MiB limit"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert time.monotonic() - started < 4
    assert files_under(tmp_path) == []


def test_lying_content_length_still_stops_at_the_cap(assets: AssetServer, tmp_path: Path) -> None:
    # Announces 100 bytes but streams 3 MiB in chunks, which the client must follow.
    url = assets.add("/liar", Asset(body=b"x" * 3 * MIB, content_length=100, chunked=True))
    with pytest.raises(FetchError, match="larger than the 1 MiB limit"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_missing_content_length_still_stops_at_the_cap(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add("/endless", Asset(body=b"x" * 3 * MIB, content_length=None))
    with pytest.raises(FetchError, match="larger than the 1 MiB limit"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_file_exactly_at_the_cap_is_accepted(assets: AssetServer, tmp_path: Path) -> None:
    body = b"y" * MIB
    url = assets.add("/exact", Asset(body=body, content_length=None))
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK) == sha256(body)


def test_fetch_bytes_stops_at_the_cap(assets: AssetServer) -> None:
    url = assets.add("/big", Asset(body=b"z" * 5000, content_length=None))
    with pytest.raises(FetchError, match="larger than the 4 KiB limit"):
        fetch_bytes(url, max_bytes=4096, policy=LOOPBACK)


@pytest.mark.parametrize(
    ("size", "words"),
    [(512, "512 bytes"), (MIB, "1 MiB"), (3 * MIB // 2, "1.5 MiB"), (50 * 2**30, "50 GiB")],
)
def test_sizes_are_written_in_human_units(size: int, words: str) -> None:
    assert format_size(size) == words


# --- content and hashes ---------------------------------------------------------------------


def test_download_writes_the_file_and_returns_its_sha256(
    assets: AssetServer, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 4000
    url = assets.add_bytes("/data.bin", body)
    dest = tmp_path / "data.bin"
    digest = download(url, dest, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert digest == sha256(body)
    assert dest.read_bytes() == body
    assert files_under(tmp_path) == [dest]
    assert assets.requests[0].headers["Accept-Encoding"] == "identity"


def test_expected_hash_is_compared_case_insensitively(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add_bytes("/f", b"abc")
    expected = sha256(b"abc").upper()
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK, expected_sha256=expected)


def test_hash_mismatch_names_expected_and_actual(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add_bytes("/f", b"tampered")
    expected = sha256(b"original")
    with pytest.raises(FetchError) as refused:
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK, expected_sha256=expected)
    assert expected in str(refused.value)
    assert sha256(b"tampered") in str(refused.value)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "a" * 63, "a" * 65])
def test_malformed_expected_hash_is_refused_before_downloading(
    assets: AssetServer, tmp_path: Path, bad: str
) -> None:
    url = assets.add_bytes("/f", b"abc")
    with pytest.raises(FetchError, match="64 characters"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK, expected_sha256=bad)
    assert assets.hits("/f") == 0


def test_failed_download_keeps_the_previous_file(assets: AssetServer, tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_bytes(b"previous")
    url = assets.add_status("/f", 404)
    with pytest.raises(FetchError):
        download(url, dest, max_bytes=MIB, policy=LOOPBACK)
    assert dest.read_bytes() == b"previous"
    assert files_under(tmp_path) == [dest]


def test_fetch_bytes_returns_content_and_hash(assets: AssetServer) -> None:
    url = assets.add_bytes("/config.yaml", b"a: 1\n")
    assert fetch_bytes(url, max_bytes=MIB, policy=LOOPBACK) == (b"a: 1\n", sha256(b"a: 1\n"))
    with pytest.raises(FetchError, match="expected hash"):
        fetch_bytes(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256="0" * 64)


# --- probe ----------------------------------------------------------------------------------


def test_probe_checks_the_status_without_reading_the_body(assets: AssetServer) -> None:
    # The body stalls forever: a probe that read it would time out.
    asset = Asset(body=b"x" * MIB, stall_after_bytes=0)
    url = assets.add("/weights.tar.gz", asset)
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=5.0)
    started = time.monotonic()
    probe(url, policy=policy)
    assert time.monotonic() - started < 4
    assert assets.hits("/weights.tar.gz") == 1


def test_probe_reports_an_error_status_and_a_size_over_the_cap(assets: AssetServer) -> None:
    with pytest.raises(FetchError, match="404 Not Found"):
        probe(assets.url("/missing"), policy=LOOPBACK)
    url = assets.add_bytes("/big", b"x" * 2048)
    with pytest.raises(FetchError, match="larger than the 1 KiB limit"):
        probe(url, policy=LOOPBACK, max_bytes=1024)


def test_probe_refuses_private_addresses(connect_attempts: list[object]) -> None:
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        probe("http://192.168.1.1/", policy=STRICT)
    assert connect_attempts == []
