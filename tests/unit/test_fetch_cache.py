"""Safe downloads: the content-addressed cache, and TLS."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.fetching import LOOPBACK, MIB, fake_resolver, files_under, sha256
from tests.support.http_server import Asset, AssetServer
from workers.fetch import (
    DownloadCache,
    FetchError,
    FetchPolicy,
    fetch_bytes,
)

# --- cache ----------------------------------------------------------------------------------


def test_cache_reuses_a_verified_entry_without_asking_the_server(
    assets: AssetServer, tmp_path: Path
) -> None:
    body = b"demo data" * 1000
    url = assets.add_bytes("/demo.tar.gz", body)
    cache = DownloadCache(tmp_path / "cache")
    first = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    second = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert assets.hits("/demo.tar.gz") == 1
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.path == second.path == tmp_path / "cache" / sha256(body)[:2] / sha256(body)
    assert second.path.read_bytes() == body


def test_cache_without_expected_hash_downloads_and_stores_by_hash(
    assets: AssetServer, tmp_path: Path
) -> None:
    url = assets.add_bytes("/f", b"content")
    cache = DownloadCache(tmp_path / "cache")
    first = cache.get(url, max_bytes=MIB, policy=LOOPBACK)
    second = cache.get(url, max_bytes=MIB, policy=LOOPBACK)
    assert assets.hits("/f") == 2
    assert first.sha256 == second.sha256 == sha256(b"content")
    assert first.path == second.path == cache.path_for(sha256(b"content"))
    assert files_under(tmp_path / "cache") == [first.path]


def test_corrupted_cache_entry_is_detected_and_fetched_again(
    assets: AssetServer, tmp_path: Path
) -> None:
    body = b"good content"
    url = assets.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    entry = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    entry.path.write_bytes(b"bit rot")
    again = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert again.from_cache is False
    assert again.path.read_bytes() == body
    assert assets.hits("/f") == 2


def test_corrupted_entry_is_removed_even_when_the_refetch_fails(
    assets: AssetServer, tmp_path: Path
) -> None:
    body = b"good content"
    url = assets.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    entry = cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    entry.path.write_bytes(b"bit rot")
    assets.add_status("/f", 503)
    with pytest.raises(FetchError, match="503 Service Unavailable"):
        cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    assert files_under(tmp_path / "cache") == []


def test_partial_download_leaves_nothing_in_the_cache(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add("/f", Asset(body=b"x" * 200_000, stall_after_bytes=100_000))
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), read_timeout=0.5)
    cache = DownloadCache(tmp_path / "cache")
    with pytest.raises(FetchError, match="timed out"):
        cache.get(url, max_bytes=MIB, policy=policy)
    assert files_under(tmp_path / "cache") == []


def test_hash_mismatch_leaves_nothing_in_the_cache(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add_bytes("/f", b"tampered")
    cache = DownloadCache(tmp_path / "cache")
    with pytest.raises(FetchError, match="expected hash"):
        cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(b"original"))
    assert files_under(tmp_path / "cache") == []


def test_cached_entry_over_the_cap_is_refused(assets: AssetServer, tmp_path: Path) -> None:
    body = b"x" * 4096
    url = assets.add_bytes("/f", body)
    cache = DownloadCache(tmp_path / "cache")
    cache.get(url, max_bytes=MIB, policy=LOOPBACK, expected_sha256=sha256(body))
    with pytest.raises(FetchError, match="larger than the 1 KiB limit"):
        cache.get(url, max_bytes=1024, policy=LOOPBACK, expected_sha256=sha256(body))


def test_concurrent_gets_of_one_file_leave_one_good_entry(
    assets: AssetServer, tmp_path: Path
) -> None:
    body = b"shared" * 100_000
    url = assets.add_bytes("/f", body)
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
