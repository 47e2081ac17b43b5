"""A loopback TCP server that greets with a banner and counts who connects: a scan's target."""

from __future__ import annotations

import socket
import threading

BANNER = b"SSH-2.0-OpenSSH_9.9 reg-secret-banner-5c1f\r\n"


class BannerServer:
    """Accept connections on 127.0.0.1, send BANNER, close; remember how many came."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="banner-server", daemon=True)

    def __enter__(self) -> BannerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    conn.sendall(BANNER)
                except OSError:
                    pass
