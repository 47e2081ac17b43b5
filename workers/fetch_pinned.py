"""Downloads' connections, each pinned to the address that passed workers.fetch_guard's check."""

from __future__ import annotations

import socket
import sys
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from workers.fetch_guard import FetchPolicy, IPAddress, checked_addresses


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


def pinned_session(policy: FetchPolicy) -> requests.Session:
    """A session whose every connection goes to an address the policy allows."""
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
