"""A loopback HTTP asset server for tests: bytes, files, redirects, errors, lies and stalls."""

from __future__ import annotations

import contextlib
import http.server
import io
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import pytest

# How a response announces its length: the real one, a chosen (possibly false) number, or none.
ContentLength = int | None | Literal["actual"]

_PIECE = 64 * 1024


@dataclass
class Asset:
    """What the server answers for one path.

    body: the bytes, or a file sent with sendfile (cheap even for gigabytes).
    content_length: "actual" (the true size), an int (sent as is, true or not) or None
        (no header: the body ends when the connection closes).
    chunked: send the body with Transfer-Encoding: chunked (any Content-Length is still sent,
        which lets a test announce a small size and deliver more).
    stall_before_headers / stall_after_bytes: go silent, before the status line or after that
        many body bytes, for stall_seconds or until the server stops.
    """

    body: bytes | Path = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    content_length: ContentLength = "actual"
    chunked: bool = False
    stall_before_headers: bool = False
    stall_after_bytes: int | None = None
    stall_seconds: float = 30.0

    def size(self) -> int:
        """Return the true size of the body."""
        if isinstance(self.body, Path):
            return self.body.stat().st_size
        return len(self.body)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]


class AssetServer:
    """Serve registered assets over HTTP (or HTTPS) on a loopback address, in a thread.

    Use as a context manager; `url(path)` gives the link of a registered path, unknown paths
    answer 404, and `requests` / `hits(path)` tell what clients asked for.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._tls = _server_context(*tls) if tls else None
        self._assets: dict[str, Asset] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> AssetServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> AssetServer:
        """Bind a free port and serve in a background thread."""
        self._stopping.clear()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("_BoundServer", (_Server,), {"address_family": family})
        self._httpd = server_class((self.host, self._requested_port), _Handler)
        self._httpd.assets = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut stalled answers short and close the listening socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The server's root link, such as http://127.0.0.1:41234."""
        scheme = "https" if self._tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def url(self, path: str) -> str:
        """Return the link of a path on this server."""
        return self.base_url + _absolute(path)

    def add(self, path: str, asset: Asset) -> str:
        """Register what path answers; return its link."""
        with self._lock:
            self._assets[_absolute(path)] = asset
        return self.url(path)

    def add_bytes(self, path: str, data: bytes, **options: object) -> str:
        """Serve data at path (options as in Asset); return the link."""
        return self.add(path, Asset(body=data, **options))  # type: ignore[arg-type]

    def add_file(self, path: str, file: Path, **options: object) -> str:
        """Serve a file from disk at path (options as in Asset); return the link."""
        return self.add(path, Asset(body=Path(file), **options))  # type: ignore[arg-type]

    def add_redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer path with a redirect to location; return the link."""
        return self.add(path, Asset(status=status, headers={"Location": location}))

    def add_status(self, path: str, status: int, body: bytes = b"") -> str:
        """Answer path with an error (or any) status; return the link."""
        return self.add(path, Asset(body=body, status=status, content_type="text/plain"))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """Count the requests received for path."""
        wanted = _absolute(path)
        return sum(1 for request in self.requests if request.path == wanted)

    def _record(self, request: RecordedRequest) -> Asset | None:
        with self._lock:
            self._requests.append(request)
            return self._assets.get(request.path)


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _server_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    return context


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    assets: AssetServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-answer is what many tests do on purpose: stay quiet.
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # Idle keep-alive connections end on their own instead of outliving the test.
    timeout = 30

    def setup(self) -> None:
        context = self.server.assets._tls
        if context is not None:
            # The handshake runs here, in the connection's thread, not in the accept loop.
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        super().finish()
        # socketserver closes the plain socket it accepted, not the TLS wrapper made above.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.close()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        assets = self.server.assets
        path = self.path.split("?", 1)[0]
        request = RecordedRequest(self.command, path, dict(self.headers.items()))
        asset = assets._record(request)
        if asset is None:
            asset = Asset(body=b"not found\n", status=404, content_type="text/plain")
        if asset.stall_before_headers:
            self._stall(asset)
            return
        self._send_headers(asset)
        if send_body:
            self._send_body(asset)

    def _send_headers(self, asset: Asset) -> None:
        self.send_response(asset.status)
        self.send_header("Content-Type", asset.content_type)
        length = asset.size() if asset.content_length == "actual" else asset.content_length
        if length is not None:
            self.send_header("Content-Length", str(length))
        if asset.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is None:
            # Without a length or chunking, only closing the connection ends the body.
            self.send_header("Connection", "close")
            self.close_connection = True
        for name, value in asset.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_body(self, asset: Asset) -> None:
        with _body_stream(asset) as source:
            if asset.stall_after_bytes is not None:
                self._write(source.read(asset.stall_after_bytes), asset.chunked)
                self._stall(asset)
                return
            if asset.chunked:
                while piece := source.read(_PIECE):
                    self._write(piece, chunked=True)
                self.wfile.write(b"0\r\n\r\n")
            elif isinstance(asset.body, Path) and not isinstance(self.request, ssl.SSLSocket):
                self.request.sendfile(source)
            else:
                while piece := source.read(_PIECE):
                    self.wfile.write(piece)

    def _write(self, data: bytes, chunked: bool) -> None:
        if chunked and data:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        elif data:
            self.wfile.write(data)
        self.wfile.flush()

    def _stall(self, asset: Asset) -> None:
        self.server.assets._stopping.wait(asset.stall_seconds)
        self.close_connection = True


@contextlib.contextmanager
def _body_stream(asset: Asset) -> Iterator[BinaryIO]:
    if isinstance(asset.body, Path):
        with open(asset.body, "rb") as source:
            yield source
    else:
        yield io.BytesIO(asset.body)


@pytest.fixture
def assets() -> Iterator[AssetServer]:
    """Serve files over HTTP on 127.0.0.1, a host the test settings allow."""
    with AssetServer("127.0.0.1") as server:
        yield server
