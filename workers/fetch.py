"""Safe downloads: checked and pinned addresses, timeouts, size caps, SHA-256 and a cache."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import ReadTimeoutError

from workers.fetch_guard import (  # noqa: F401 - re-exported: callers import them from here
    FetchError,
    FetchPolicy,
    HashMismatch,
    IPAddress,
    IPNetwork,
    Resolver,
    checked_addresses,
    is_public_address,
    system_resolver,
)
from workers.fetch_pinned import pinned_session
from workers.fetch_stream import hash_and_write

CHUNK_SIZE = 1024 * 1024
# Larger reads for downloads to disk: fewer trips through urllib3 and the hand-over queues.
DOWNLOAD_CHUNK_SIZE = 2 * CHUNK_SIZE
_SHA256_HEX_DIGITS = frozenset("0123456789abcdef")


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
    with pinned_session(policy) as session:
        response = _get_following_redirects(session, url, policy)
        with response:
            if response.status_code != 200:
                raise FetchError(_status_message(response))
            announced = _announced_length(response)
            if max_bytes is not None and announced is not None and announced > max_bytes:
                raise _too_large(max_bytes)
            yield response


def _chunks(response: requests.Response, max_bytes: int, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the body in chunks, stopping once more than max_bytes have arrived."""
    received = 0
    with _plain_errors(response.url):
        for chunk in response.iter_content(size):
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
        raise HashMismatch(
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
        with open(fd, "wb", buffering=0) as out, _open(url, policy, max_bytes) as response:
            # Hashing and writing overlap the socket reads (see workers.fetch_stream).
            actual = hash_and_write(_chunks(response, max_bytes, DOWNLOAD_CHUNK_SIZE), out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, actual


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
    """Return the lower-case hex SHA-256 of a regular file, read in chunks, never via a link.

    Raises:
        OSError: the path is a symbolic link (ELOOP) or not a regular file.
    """
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    with open(fd, "rb", buffering=0) as source:
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
            if path.lstat().st_size > max_bytes:
                raise _too_large(max_bytes)
            actual = sha256_file(path)
        except FileNotFoundError:
            return None
        except OSError:  # a link or special file in the cache: never read, dropped below
            actual = ""
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
