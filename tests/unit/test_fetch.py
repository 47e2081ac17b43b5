"""Safe downloads: refused addresses, redirects, timeouts, size caps, hashes and the cache."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http_server import Asset, AssetServer
from workers.fetch import (
    DownloadCache,
    FetchError,
    FetchPolicy,
    check_link,
    download,
    fetch_bytes,
    format_size,
    is_public_address,
    probe,
)

MIB = 2**20
LOOPBACK = FetchPolicy(allowed_hosts=("127.0.0.1",), connect_timeout=2.0, read_timeout=2.0)
STRICT = FetchPolicy(connect_timeout=2.0, read_timeout=2.0)
NOT_ALLOWED = "this address is not allowed"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def fake_resolver(table: dict[str, list[str]], calls: list[str] | None = None):
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return table[host]

    return resolve


@pytest.fixture
def server() -> Iterator[AssetServer]:
    with AssetServer("127.0.0.1") as srv:
        yield srv


@pytest.fixture
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and block) every outgoing socket connection made during the test."""
    attempts: list[object] = []

    def refuse(sock: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# --- links -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://files.example.org/a.tar.gz", "http://127.0.0.1:8000/x", "HTTPS://[2001:db8::1]/"],
)
def test_http_and_https_links_pass_the_syntax_check(url: str) -> None:
    check_link(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.org/a.tar.gz", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("files.example.org/a.tar.gz", "must start with http:// or https://"),
        ("http:///a.tar.gz", "no server name"),
        ("http://files.example.org:99999/", "not a valid web address"),
        ("http://files.example.org/a b", "spaces"),
        ("", "empty"),
    ],
)
def test_bad_links_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        check_link(url)


def test_non_http_scheme_is_refused_by_download(tmp_path: Path, connect_attempts) -> None:
    with pytest.raises(FetchError, match="http:// or https://"):
        download("file:///etc/passwd", tmp_path / "out", max_bytes=MIB, policy=LOOPBACK)
    assert not (tmp_path / "out").exists()
    assert connect_attempts == []


# --- refused addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0x7f000001",
        "127.1",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "[fe80::1]",
        "[fc00::1]",
        "[::ffff:10.0.0.1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
    ],
)
def test_private_and_local_addresses_are_refused_before_connecting(
    host: str, tmp_path: Path, connect_attempts: list[object]
) -> None:
    dest = tmp_path / "file"
    with pytest.raises(FetchError, match=NOT_ALLOWED) as refused:
        download(f"http://{host}:8080/file", dest, max_bytes=MIB, policy=STRICT)
    assert host.strip("[]") in str(refused.value)
    assert connect_attempts == []
    assert files_under(tmp_path) == []


def test_integer_encoded_loopback_names_the_real_address(tmp_path: Path, connect_attempts) -> None:
    with pytest.raises(FetchError, match=NOT_ALLOWED) as refused:
        download("http://2130706433/", tmp_path / "f", max_bytes=MIB, policy=STRICT)
    assert "127.0.0.1" in str(refused.value)
    assert connect_attempts == []


def test_running_loopback_server_is_refused_without_an_allowance(
    server: AssetServer, tmp_path: Path
) -> None:
    url = server.add_bytes("/file", b"secret")
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        download(url, tmp_path / "f", max_bytes=MIB, policy=STRICT)
    assert server.hits("/file") == 0


def test_name_resolving_to_loopback_is_refused(server: AssetServer, tmp_path: Path) -> None:
    server.add_bytes("/file", b"secret")
    policy = FetchPolicy(resolver=fake_resolver({"evil.test": ["127.0.0.1"]}))
    with pytest.raises(FetchError, match=NOT_ALLOWED) as refused:
        download(
            f"http://evil.test:{server.port}/file", tmp_path / "f", max_bytes=MIB, policy=policy
        )
    assert "evil.test (127.0.0.1)" in str(refused.value)
    assert server.hits("/file") == 0


def test_name_with_one_private_address_among_public_ones_is_refused(
    tmp_path: Path, connect_attempts: list[object]
) -> None:
    resolver = fake_resolver({"mixed.test": ["93.184.215.14", "10.0.0.1"]})
    policy = FetchPolicy(resolver=resolver)
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        download("https://mixed.test/f", tmp_path / "f", max_bytes=MIB, policy=policy)
    assert connect_attempts == []


def test_unknown_server_name_is_reported_plainly(tmp_path: Path, connect_attempts) -> None:
    def no_such_name(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    policy = FetchPolicy(resolver=no_such_name)
    with pytest.raises(FetchError, match="server name nowhere.test could not be found"):
        download("http://nowhere.test/f", tmp_path / "f", max_bytes=MIB, policy=policy)


def test_connection_goes_to_the_checked_address_and_keeps_the_host_name(
    server: AssetServer, tmp_path: Path
) -> None:
    server.add_bytes("/file", b"payload")
    calls: list[str] = []
    policy = FetchPolicy(
        allowed_hosts=("assets.test",),
        resolver=fake_resolver({"assets.test": ["127.0.0.1"]}, calls),
    )
    url = f"http://assets.test:{server.port}/file"
    digest = download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert digest == sha256(b"payload")
    # One lookup only: the socket went to the address that was checked, not a second answer.
    assert calls == ["assets.test"]
    assert server.requests[0].headers["Host"] == f"assets.test:{server.port}"


def test_allowed_network_exempts_addresses_inside_it(server: AssetServer, tmp_path: Path) -> None:
    url = server.add_bytes("/file", b"payload")
    policy = FetchPolicy.from_setting("files.example, 127.0.0.0/8")
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=policy) == sha256(b"payload")


def test_allowed_address_does_not_exempt_its_neighbours(tmp_path: Path) -> None:
    with AssetServer("127.0.0.2") as other:
        url = other.add_bytes("/file", b"payload")
        with pytest.raises(FetchError, match=NOT_ALLOWED):
            download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
        assert other.hits("/file") == 0


def test_policy_from_setting_reads_names_addresses_and_networks() -> None:
    policy = FetchPolicy.from_setting(" a.example, 127.0.0.1 ,, 10.0.0.0/8 ", read_timeout=3.0)
    assert policy.allowed_hosts == ("a.example", "127.0.0.1", "10.0.0.0/8")
    assert policy.read_timeout == 3.0
    assert policy.exempts("A.Example.", ipaddress.ip_address("192.168.0.1"))
    assert policy.exempts("x", ipaddress.ip_address("127.0.0.1"))
    assert policy.exempts("x", ipaddress.ip_address("10.20.30.40"))
    assert policy.exempts("x", ipaddress.ip_address("::ffff:10.1.2.3"))
    assert not policy.exempts("x", ipaddress.ip_address("127.0.0.2"))
    assert not policy.exempts("b.example", ipaddress.ip_address("192.168.0.1"))
    assert FetchPolicy.from_setting("").allowed_hosts == ()


def test_policy_refuses_a_malformed_network() -> None:
    with pytest.raises(ValueError, match="10.0.0.0/33"):
        FetchPolicy.from_setting("10.0.0.0/33")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


# --- redirects ----------------------------------------------------------------------------


def test_redirect_to_loopback_is_refused(server: AssetServer, tmp_path: Path) -> None:
    with AssetServer("127.0.0.2") as target:
        target_url = target.add_bytes("/secret", b"secret")
        url = server.add_redirect("/start", target_url)
        with pytest.raises(FetchError, match=NOT_ALLOWED):
            download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
        assert server.hits("/start") == 1
        assert target.hits("/secret") == 0
    assert files_under(tmp_path) == []


def test_redirect_to_metadata_address_is_refused(server: AssetServer, tmp_path: Path) -> None:
    url = server.add_redirect("/start", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)


def test_redirect_to_another_scheme_is_refused(server: AssetServer, tmp_path: Path) -> None:
    url = server.add_redirect("/start", "file:///etc/passwd")
    with pytest.raises(FetchError, match="redirected.*http:// or https://"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)


def test_relative_redirects_are_followed(server: AssetServer, tmp_path: Path) -> None:
    server.add_bytes("/files/real", b"content")
    url = server.add_redirect("/files/start", "real", status=301)
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK) == sha256(b"content")
    assert (tmp_path / "f").read_bytes() == b"content"


def _redirect_chain(server: AssetServer, length: int) -> str:
    server.add_bytes(f"/hop{length}", b"end")
    for hop in range(length):
        server.add_redirect(f"/hop{hop}", f"/hop{hop + 1}", status=307)
    return server.url("/hop0")


def test_redirects_up_to_the_limit_are_followed(server: AssetServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_redirects=3)
    url = _redirect_chain(server, 3)
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=policy) == sha256(b"end")


def test_too_many_redirects_are_refused(server: AssetServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_redirects=3)
    url = _redirect_chain(server, 4)
    with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert server.hits("/hop4") == 0


# --- status, timeouts, broken connections -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"), [(404, "404 Not Found"), (500, "500 Internal Server Error")]
)
def test_error_status_is_reported_with_code_and_reason(
    server: AssetServer, tmp_path: Path, status: int, words: str
) -> None:
    url = server.add_status("/file", status, body=b"nope")
    with pytest.raises(FetchError, match=f"the server answered {words}"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_stalled_body_times_out(server: AssetServer, tmp_path: Path) -> None:
    url = server.add("/slow", Asset(body=b"x" * 4096, stall_after_bytes=100))
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert time.monotonic() - started < 5
    assert files_under(tmp_path) == []


def test_server_that_never_answers_times_out(server: AssetServer, tmp_path: Path) -> None:
    url = server.add("/silent", Asset(body=b"x", stall_before_headers=True))
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


def test_connection_closed_early_is_reported(server: AssetServer, tmp_path: Path) -> None:
    asset = Asset(body=b"x" * 1000, content_length=5000, headers={"Connection": "close"})
    url = server.add("/short", asset)
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
    server: AssetServer, tmp_path: Path
) -> None:
    # The body never comes: reading it would end in a timeout, not in the size message.
    asset = Asset(body=b"x" * 10, content_length=5 * 2**30, stall_after_bytes=0)
    url = server.add("/huge", asset)
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=5.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than the 1 MiB limit"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert time.monotonic() - started < 4
    assert files_under(tmp_path) == []


def test_lying_content_length_still_stops_at_the_cap(server: AssetServer, tmp_path: Path) -> None:
    # Announces 100 bytes but streams 3 MiB in chunks, which the client must follow.
    url = server.add("/liar", Asset(body=b"x" * 3 * MIB, content_length=100, chunked=True))
    with pytest.raises(FetchError, match="larger than the 1 MiB limit"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_missing_content_length_still_stops_at_the_cap(server: AssetServer, tmp_path: Path) -> None:
    url = server.add("/endless", Asset(body=b"x" * 3 * MIB, content_length=None))
    with pytest.raises(FetchError, match="larger than the 1 MiB limit"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
    assert files_under(tmp_path) == []


def test_file_exactly_at_the_cap_is_accepted(server: AssetServer, tmp_path: Path) -> None:
    body = b"y" * MIB
    url = server.add("/exact", Asset(body=body, content_length=None))
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK) == sha256(body)


def test_fetch_bytes_stops_at_the_cap(server: AssetServer) -> None:
    url = server.add("/big", Asset(body=b"z" * 5000, content_length=None))
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
    server: AssetServer, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 4000
    url = server.add_bytes("/data.bin", body)
    dest = tmp_path / "data.bin"
    digest = download(url, dest, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert digest == sha256(body)
    assert dest.read_bytes() == body
    assert files_under(tmp_path) == [dest]
    assert server.requests[0].headers["Accept-Encoding"] == "identity"


def test_expected_hash_is_compared_case_insensitively(server: AssetServer, tmp_path: Path) -> None:
    url = server.add_bytes("/f", b"abc")
    expected = sha256(b"abc").upper()
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK, expected_sha256=expected)


def test_hash_mismatch_names_expected_and_actual(server: AssetServer, tmp_path: Path) -> None:
    url = server.add_bytes("/f", b"tampered")
    expected = sha256(b"original")
    with pytest.raises(FetchError) as refused:
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK, expected_sha256=expected)
    assert expected in str(refused.value)
    assert sha256(b"tampered") in str(refused.value)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "a" * 63, "a" * 65])
def test_malformed_expected_hash_is_refused_before_downloading(
    server: AssetServer, tmp_path: Path, bad: str
) -> None:
    url = server.add_bytes("/f", b"abc")
    with pytest.raises(FetchError, match="64 characters"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK, expected_sha256=bad)
    assert server.hits("/f") == 0


def test_failed_download_keeps_the_previous_file(server: AssetServer, tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_bytes(b"previous")
    url = server.add_status("/f", 404)
    with pytest.raises(FetchError):
        download(url, dest, max_bytes=MIB, policy=LOOPBACK)
    assert dest.read_bytes() == b"previous"
    assert files_under(tmp_path) == [dest]


def test_fetch_bytes_returns_content_and_hash(server: AssetServer) -> None:
    url = server.add_bytes("/config.yaml", b"a: 1\n")
    assert fetch_bytes(url, max_bytes=MIB, policy=LOOPBACK) == (b"a: 1\n", sha256(b"a: 1\n"))
    with pytest.raises(FetchError, match="expected hash"):
        fetch_bytes(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256="0" * 64)


# --- probe ----------------------------------------------------------------------------------


def test_probe_checks_the_status_without_reading_the_body(server: AssetServer) -> None:
    # The body stalls forever: a probe that read it would time out.
    asset = Asset(body=b"x" * MIB, stall_after_bytes=0)
    url = server.add("/weights.tar.gz", asset)
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=5.0)
    started = time.monotonic()
    probe(url, policy=policy)
    assert time.monotonic() - started < 4
    assert server.hits("/weights.tar.gz") == 1


def test_probe_reports_an_error_status_and_a_size_over_the_cap(server: AssetServer) -> None:
    with pytest.raises(FetchError, match="404 Not Found"):
        probe(server.url("/missing"), policy=LOOPBACK)
    url = server.add_bytes("/big", b"x" * 2048)
    with pytest.raises(FetchError, match="larger than the 1 KiB limit"):
        probe(url, policy=LOOPBACK, max_bytes=1024)


def test_probe_refuses_private_addresses(connect_attempts: list[object]) -> None:
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        probe("http://192.168.1.1/", policy=STRICT)
    assert connect_attempts == []


# --- cache ----------------------------------------------------------------------------------


def test_cache_reuses_a_verified_entry_without_asking_the_server(
    server: AssetServer, tmp_path: Path
) -> None:
    body = b"demo data" * 1000
    url = server.add_bytes("/demo.tar.gz", body)
    cache = DownloadCache(tmp_path / "cache")
    first = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    second = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert server.hits("/demo.tar.gz") == 1
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.path == second.path == tmp_path / "cache" / sha256(body)[:2] / sha256(body)
    assert second.path.read_bytes() == body


def test_cache_without_expected_hash_downloads_and_stores_by_hash(
    server: AssetServer, tmp_path: Path
) -> None:
    url = server.add_bytes("/f", b"content")
    cache = DownloadCache(tmp_path / "cache")
    first = cache.get(url, max_bytes=MIB, policy=LOOPBACK)
    second = cache.get(url, max_bytes=MIB, policy=LOOPBACK)
    assert server.hits("/f") == 2
    assert first.sha256 == second.sha256 == sha256(b"content")
    assert first.path == second.path == cache.path_for(sha256(b"content"))
    assert files_under(tmp_path / "cache") == [first.path]


def test_corrupted_cache_entry_is_detected_and_fetched_again(
    server: AssetServer, tmp_path: Path
) -> None:
    body = b"good content"
    url = server.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    entry = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    entry.path.write_bytes(b"bit rot")
    again = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert again.from_cache is False
    assert again.path.read_bytes() == body
    assert server.hits("/f") == 2


def test_corrupted_entry_is_removed_even_when_the_refetch_fails(
    server: AssetServer, tmp_path: Path
) -> None:
    body = b"good content"
    url = server.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    entry = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    entry.path.write_bytes(b"bit rot")
    server.add_status("/f", 503)
    with pytest.raises(FetchError, match="503 Service Unavailable"):
        cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert files_under(tmp_path / "cache") == []


def test_partial_download_leaves_nothing_in_the_cache(server: AssetServer, tmp_path: Path) -> None:
    url = server.add("/f", Asset(body=b"x" * 200_000, stall_after_bytes=100_000))
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=0.5)
    cache = DownloadCache(tmp_path / "cache")
    with pytest.raises(FetchError, match="timed out"):
        cache.get(url, max_bytes=MIB, policy=policy)
    assert files_under(tmp_path / "cache") == []


def test_hash_mismatch_leaves_nothing_in_the_cache(server: AssetServer, tmp_path: Path) -> None:
    url = server.add_bytes("/f", b"tampered")
    cache = DownloadCache(tmp_path / "cache")
    with pytest.raises(FetchError, match="expected hash"):
        cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(b"original"))
    assert files_under(tmp_path / "cache") == []


def test_cached_entry_over_the_cap_is_refused(server: AssetServer, tmp_path: Path) -> None:
    body = b"x" * 4096
    url = server.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    with pytest.raises(FetchError, match="larger than the 1 KiB limit"):
        cache.get(url, max_bytes=1024, policy=LOOPBACK, expected_sha256=sha256(body))


def test_concurrent_gets_of_one_file_leave_one_good_entry(
    server: AssetServer, tmp_path: Path
) -> None:
    body = b"shared" * 100_000
    url = server.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    results = []

    def fetch() -> None:
        results.append(cache.get(url, max_bytes=MIB, policy=LOOPBACK))

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert {result.path for result in results} == {cache.path_for(sha256(body))}
    assert files_under(tmp_path / "cache") == [cache.path_for(sha256(body))]
    assert cache.path_for(sha256(body)).read_bytes() == body


def test_stale_partial_downloads_can_be_discarded(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path)
    stale = tmp_path / ".download-old.part"
    fresh = tmp_path / ".download-new.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert cache.discard_stale_parts(older_than=3600) == 1
    assert files_under(tmp_path) == [fresh]


# --- TLS ------------------------------------------------------------------------------------


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    return {name: _self_signed(tmp_path, name) for name in ("assets.test", "other.test")}


@pytest.mark.parametrize(("cert_name", "works"), [("assets.test", True), ("other.test", False)])
def test_tls_is_verified_against_the_name_in_the_link(
    tls_files: dict[str, tuple[Path, Path]], tmp_path: Path, cert_name: str, works: bool
) -> None:
    cert, key = tls_files[cert_name]
    policy = FetchPolicy(
        allowed_hosts=("assets.test",),
        resolver=fake_resolver({"assets.test": ["127.0.0.1"]}),
        ca_bundle=str(cert),
    )
    with AssetServer("127.0.0.1", tls=(cert, key)) as tls_server:
        tls_server.add_bytes("/f", b"secure")
        url = f"https://assets.test:{tls_server.port}/f"
        if works:
            assert fetch_bytes(url, max_bytes=MIB, policy=policy)[0] == b"secure"
        else:
            with pytest.raises(FetchError, match="certificate"):
                fetch_bytes(url, max_bytes=MIB, policy=policy)
