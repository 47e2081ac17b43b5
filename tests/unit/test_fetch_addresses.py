"""Safe downloads: link syntax, refused addresses and redirects."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from tests.support.fetching import (
    LOOPBACK,
    MIB,
    NOT_ALLOWED,
    STRICT,
    fake_resolver,
    files_under,
    sha256,
)
from tests.support.http_server import AssetServer
from workers.fetch import (
    FetchError,
    FetchPolicy,
    check_link,
    download,
    is_public_address,
)

# --- links -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://files.example.org/a.tar.gz", "http://127.0.0.1:8000/x", "HTTPS://[2001:db8::1]/"],
)
def test_http_and_https_links_pass_the_syntax_check(url: str) -> None:
    assert check_link(url) is None  # raising FetchError would mean refused


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
    assets: AssetServer, tmp_path: Path
) -> None:
    url = assets.add_bytes("/file", b"secret")
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        download(url, tmp_path / "f", max_bytes=MIB, policy=STRICT)
    assert assets.hits("/file") == 0


def test_name_resolving_to_loopback_is_refused(assets: AssetServer, tmp_path: Path) -> None:
    assets.add_bytes("/file", b"secret")
    policy = FetchPolicy(resolver=fake_resolver({"evil.test": ["127.0.0.1"]}))
    with pytest.raises(FetchError, match=NOT_ALLOWED) as refused:
        download(
            f"http://evil.test:{assets.port}/file", tmp_path / "f", max_bytes=MIB, policy=policy
        )
    assert "evil.test (127.0.0.1)" in str(refused.value)
    assert assets.hits("/file") == 0


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
    assets: AssetServer, tmp_path: Path
) -> None:
    assets.add_bytes("/file", b"payload")
    calls: list[str] = []
    policy = FetchPolicy(
        allowed_hosts=("assets.test",),
        resolver=fake_resolver({"assets.test": ["127.0.0.1"]}, calls),
    )
    url = f"http://assets.test:{assets.port}/file"
    digest = download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert digest == sha256(b"payload")
    # One lookup only: the socket went to the address that was checked, not a second answer.
    assert calls == ["assets.test"]
    assert assets.requests[0].headers["Host"] == f"assets.test:{assets.port}"


def test_allowed_network_exempts_addresses_inside_it(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add_bytes("/file", b"payload")
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


def test_redirect_to_loopback_is_refused(assets: AssetServer, tmp_path: Path) -> None:
    with AssetServer("127.0.0.2") as target:
        target_url = target.add_bytes("/secret", b"secret")
        url = assets.add_redirect("/start", target_url)
        with pytest.raises(FetchError, match=NOT_ALLOWED):
            download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)
        assert assets.hits("/start") == 1
        assert target.hits("/secret") == 0
    assert files_under(tmp_path) == []


def test_redirect_to_metadata_address_is_refused(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add_redirect("/start", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError, match=NOT_ALLOWED):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)


def test_redirect_to_another_scheme_is_refused(assets: AssetServer, tmp_path: Path) -> None:
    url = assets.add_redirect("/start", "file:///etc/passwd")
    with pytest.raises(FetchError, match="redirected.*http:// or https://"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK)


def test_relative_redirects_are_followed(assets: AssetServer, tmp_path: Path) -> None:
    assets.add_bytes("/files/real", b"content")
    url = assets.add_redirect("/files/start", "real", status=301)
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=LOOPBACK) == sha256(b"content")
    assert (tmp_path / "f").read_bytes() == b"content"


def _redirect_chain(assets: AssetServer, length: int) -> str:
    assets.add_bytes(f"/hop{length}", b"end")
    for hop in range(length):
        assets.add_redirect(f"/hop{hop}", f"/hop{hop + 1}", status=307)
    return assets.url("/hop0")


def test_redirects_up_to_the_limit_are_followed(assets: AssetServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_redirects=3)
    url = _redirect_chain(assets, 3)
    assert download(url, tmp_path / "f", max_bytes=MIB, policy=policy) == sha256(b"end")


def test_too_many_redirects_are_refused(assets: AssetServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_redirects=3)
    url = _redirect_chain(assets, 4)
    with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
        download(url, tmp_path / "f", max_bytes=MIB, policy=policy)
    assert assets.hits("/hop4") == 0
