"""Safe downloads: checked and pinned addresses, timeouts, size caps, SHA-256 and a cache."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

CHUNK_SIZE = 1024 * 1024
_SHA256_HEX_DIGITS = frozenset("0123456789abcdef")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

# IPv6 ranges that carry an IPv4 address in their last 32 bits; the embedded address decides.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """A download failed for a reason the person who gave the link can act on."""


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve host with the operating system's resolver into IP address strings."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"the server name {host} could not be found") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """Which private hosts are allowed, and the timeouts and redirect limit of every download."""

    allowed_hosts: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = 5
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)
    ca_bundle: str | None = None
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names, networks = _parse_allowed_hosts(self.allowed_hosts)
        # A frozen dataclass still needs its derived fields filled in once.
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_networks", networks)

    @classmethod
    def from_setting(cls, value: str, **kw: Any) -> FetchPolicy:
        """Build a policy from a comma-separated setting such as "a.example, 10.0.0.0/8"."""
        entries = tuple(part.strip() for part in value.split(",") if part.strip())
        return cls(allowed_hosts=entries, **kw)

    def exempts(self, host: str, address: IPAddress) -> bool:
        """Tell whether host, connecting to address, is on the operator's allow list."""
        if _normalise_name(host) in self._names:
            return True
        candidates = [address]
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        return any(
            ip.version == net.version and ip in net for ip in candidates for net in self._networks
        )


def _normalise_name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _parse_allowed_hosts(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip().strip("[]")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            if "/" in text:
                raise ValueError(f"not a valid network in the allowed hosts: {entry!r}") from None
            names.add(_normalise_name(text))
    return frozenset(names), tuple(networks)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    # "::" and "::1" live in ::/96 too but are IPv6's own unspecified and loopback addresses.
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Tell whether address is a public unicast address (not private, local or reserved)."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public_address(embedded)
    special = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
    return address.is_global and not special


def checked_addresses(host: str, port: int, policy: FetchPolicy) -> list[IPAddress]:
    """Resolve host once and return its addresses, refusing the host if any is not allowed."""
    name = host.strip("[]")
    try:
        resolved = [name] if _is_ip_literal(name) else policy.resolver(name, port)
    except OSError as exc:
        raise FetchError(f"the server name {_normalise_name(name)} could not be found") from exc
    if not resolved:
        raise FetchError(f"the server name {_normalise_name(name)} could not be found")
    addresses = [ipaddress.ip_address(item) for item in resolved]
    for address in addresses:
        if not is_public_address(address) and not policy.exempts(name, address):
            raise FetchError(_refusal_message(_normalise_name(name), address))
    return addresses


def _is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _refusal_message(host: str, address: IPAddress) -> str:
    where = host if host == str(address) else f"{host} ({address})"
    return (
        f"this address is not allowed: {where} is a private, local or reserved network "
        "address; links must point to a public server"
    )


class _PinnedConnection:
    """Connection mix-in: resolve, check, then connect to the checked address itself.

    The socket goes to the address that passed the check, so a second DNS answer cannot
    swap it; the Host header and TLS SNI/verification still use the name from the link.
    """

    policy: FetchPolicy

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        addresses = checked_addresses(conn._dns_host, conn.port, self.policy)
        last_error: OSError | None = None
        for address in addresses:
            try:
                sock = _connect(address, conn.port, conn.timeout, conn.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(conn, f"timed out connecting to {conn.host}") from exc
            except OSError as exc:
                last_error = exc
                continue
            sys.audit("http.client.connect", conn, conn.host, conn.port)
            return sock
        raise NewConnectionError(conn, f"could not connect to {conn.host}: {last_error}")


def _connect(
    address: IPAddress, port: int, timeout: object, options: list[tuple[int, int, Any]] | None
) -> socket.socket:
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        for option in options or ():
            sock.setsockopt(*option)
        if isinstance(timeout, int | float):
            sock.settimeout(timeout)
        sock.connect((str(address), port))
    except BaseException:
        sock.close()
        raise
    return sock


def _pool_classes(policy: FetchPolicy) -> dict[str, type[HTTPConnectionPool]]:
    class PinnedHTTPConnection(_PinnedConnection, HTTPConnection):
        pass

    class PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
        pass

    PinnedHTTPConnection.policy = policy
    PinnedHTTPSConnection.policy = policy

    class PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    return {"http": PinnedHTTPPool, "https": PinnedHTTPSPool}


class _PinnedAdapter(HTTPAdapter):
    """Transport adapter whose connections all go through the address check of policy."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)


def _session(policy: FetchPolicy) -> requests.Session:
    session = requests.Session()
    # Environment proxies would connect somewhere other than the checked address.
    session.trust_env = False
    session.verify = policy.ca_bundle or True
    adapter = _PinnedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # The hash is of the file's own bytes, so ask servers not to compress them on the way.
    session.headers["Accept-Encoding"] = "identity"
    return session


def check_link(url: str) -> None:
    """Check that url is an http(s) link with a server name; raise FetchError if not."""
    if not isinstance(url, str) or not url:
        raise FetchError("the link is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise FetchError("the link contains spaces or invisible characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates the port number
    except ValueError:
        raise FetchError("the link is not a valid web address") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("the link must start with http:// or https://")
    if not parts.hostname:
        raise FetchError("the link has no server name (such as files.example.org)")


def format_size(size: int) -> str:
    """Write a byte count in human units, such as "1 MiB" or "1.5 GiB"."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} bytes"
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"the file is larger than the {format_size(max_bytes)} limit")


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def _describe(exc: requests.RequestException, host: str) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"timed out connecting to {host}"
    cause = exc.args[0] if exc.args else None
    if isinstance(exc, requests.ReadTimeout) or isinstance(cause, ReadTimeoutError):
        return f"timed out waiting for {host} to send data"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the secure connection to {host} failed (its certificate could not be verified)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the connection to {host} broke off before the whole file arrived"
    if isinstance(exc, requests.ConnectionError):
        return f"could not connect to {host}"
    return f"the download from {host} failed ({type(exc).__name__})"


@contextmanager
def _plain_errors(url: str) -> Iterator[None]:
    """Turn transport exceptions into FetchError with a plain-words message."""
    try:
        yield
    except requests.RequestException as exc:
        raise FetchError(_describe(exc, _host_of(url))) from exc


def _get_following_redirects(
    session: requests.Session, url: str, policy: FetchPolicy
) -> requests.Response:
    timeout = (policy.connect_timeout, policy.read_timeout)
    for _ in range(policy.max_redirects + 1):
        with _plain_errors(url):
            response = session.get(url, stream=True, allow_redirects=False, timeout=timeout)
        if not response.is_redirect:
            return response
        response.close()
        url = urljoin(url, response.headers["Location"])
        try:
            check_link(url)
        except FetchError as exc:
            raise FetchError(f"the server redirected to an unusable link: {exc}") from None
    raise FetchError(f"too many redirects (more than {policy.max_redirects})")


def _status_message(response: requests.Response) -> str:
    try:
        reason = HTTPStatus(response.status_code).phrase
    except ValueError:
        reason = response.reason or "an unknown status"
    return f"the server answered {response.status_code} {reason}"


def _announced_length(response: requests.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


@contextmanager
def _open(url: str, policy: FetchPolicy, max_bytes: int | None) -> Iterator[requests.Response]:
    """Open url after every hop's address passed the check; the response must be 200 OK."""
    check_link(url)
    with _session(policy) as session:
        response = _get_following_redirects(session, url, policy)
        with response:
            if response.status_code != 200:
                raise FetchError(_status_message(response))
            announced = _announced_length(response)
            if max_bytes is not None and announced is not None and announced > max_bytes:
                raise _too_large(max_bytes)
            yield response


def _chunks(response: requests.Response, max_bytes: int) -> Iterator[bytes]:
    """Yield the body in chunks, stopping once more than max_bytes have arrived."""
    received = 0
    with _plain_errors(response.url):
        for chunk in response.iter_content(CHUNK_SIZE):
            received += len(chunk)
            # Counting what arrives matters: Content-Length may be missing or wrong.
            if received > max_bytes:
                raise _too_large(max_bytes)
            yield chunk


def normalise_sha256(value: str | None) -> str | None:
    """Return an expected SHA-256 in lower case, or raise FetchError if it is malformed."""
    if value is None:
        return None
    text = value.strip().lower()
    if len(text) != 64 or not set(text) <= _SHA256_HEX_DIGITS:
        raise FetchError("the expected hash must be a SHA-256: 64 characters, 0-9 and a-f")
    return text


def _verify(expected: str | None, actual: str) -> None:
    if expected is not None and expected != actual:
        raise FetchError(
            f"the file does not match its expected hash: expected {expected}, got {actual}"
        )


def _download_to_temp(
    url: str, folder: Path, *, max_bytes: int, policy: FetchPolicy
) -> tuple[Path, str]:
    """Stream url into a new temporary file in folder, hashing as it goes."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    temp = Path(name)
    try:
        # Readable by others: containers may run as a different user than the worker.
        os.fchmod(fd, 0o644)
        digest = hashlib.sha256()
        with open(fd, "wb", buffering=0) as out, _open(url, policy, max_bytes) as response:
            for chunk in _chunks(response, max_bytes):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest()


def download(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    policy: FetchPolicy,
    expected_sha256: str | None = None,
) -> str:
    """Download url to dest atomically and return its lower-case hex SHA-256.

    dest is only replaced once the whole file arrived and its hash checked out; on any
    failure no new file is left at dest. Raises FetchError with a plain-words message.
    """
    expected = normalise_sha256(expected_sha256)
    dest = Path(dest)
    temp, actual = _download_to_temp(url, dest.parent, max_bytes=max_bytes, policy=policy)
    try:
        _verify(expected, actual)
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return actual


def fetch_bytes(
    url: str, *, max_bytes: int, policy: FetchPolicy, expected_sha256: str | None = None
) -> tuple[bytes, str]:
    """Download a small file into memory; return its content and lower-case hex SHA-256."""
    expected = normalise_sha256(expected_sha256)
    content = bytearray()
    digest = hashlib.sha256()
    with _open(url, policy, max_bytes) as response:
        for chunk in _chunks(response, max_bytes):
            digest.update(chunk)
            content += chunk
    actual = digest.hexdigest()
    _verify(expected, actual)
    return bytes(content), actual


def probe(url: str, *, policy: FetchPolicy, max_bytes: int | None = None) -> None:
    """Check that url answers 200 OK without downloading the body; raise FetchError if not.

    With max_bytes, a Content-Length above it is refused too.
    """
    # GET rather than HEAD: signed storage links are often valid for one method only.
    with _open(url, policy, max_bytes):
        pass


def sha256_file(path: Path) -> str:
    """Return the lower-case hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as source:
        while count := source.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


@dataclass(frozen=True)
class CachedFile:
    """A file in the download cache, and whether it was already there."""

    path: Path
    sha256: str
    from_cache: bool


class DownloadCache:
    """Content-addressed download cache: root/<first two hex digits>/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Return where the file with this hash lives in the cache."""
        return self.root / sha256[:2] / sha256

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        policy: FetchPolicy,
        expected_sha256: str | None = None,
    ) -> CachedFile:
        """Return the cached file for url, downloading it unless a verified copy exists.

        Without an expected hash the content cannot be known in advance, so the file is
        downloaded and stored under the hash it turns out to have.
        """
        expected = normalise_sha256(expected_sha256)
        if expected is not None:
            cached = self._verified_entry(expected, max_bytes)
            if cached is not None:
                return CachedFile(cached, expected, from_cache=True)
        self.root.mkdir(parents=True, exist_ok=True)
        # Downloading inside root keeps the final rename on one file system, hence atomic.
        temp, actual = _download_to_temp(url, self.root, max_bytes=max_bytes, policy=policy)
        try:
            _verify(expected, actual)
            final = self.path_for(actual)
            final.parent.mkdir(exist_ok=True)
            os.replace(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return CachedFile(final, actual, from_cache=False)

    def _verified_entry(self, sha256: str, max_bytes: int) -> Path | None:
        path = self.path_for(sha256)
        try:
            if path.stat().st_size > max_bytes:
                raise _too_large(max_bytes)
            actual = sha256_file(path)
        except FileNotFoundError:
            return None
        if actual == sha256:
            return path
        # A damaged entry must never be used; dropping it lets the caller fetch it again.
        path.unlink(missing_ok=True)
        return None

    def discard_stale_parts(self, older_than: float = 24 * 3600) -> int:
        """Delete partial downloads left by killed workers; return how many were removed."""
        removed = 0
        cutoff = time.time() - older_than
        for part in self.root.glob(".download-*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
