"""A small client of Benchgate's API: JSON calls with a token, and a run's live events."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import requests

TOKEN_ENV = "BENCHGATE_TOKEN"
SERVER_ENV = "BENCHGATE_SERVER"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0  # the server sends a keep-alive at least every 15 s
RECONNECT_SECONDS = 2.0


class ApiProblem(Exception):
    """An answer that is not a success: its status, code, message and field messages."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or {}

    def describe(self) -> str:
        lines = [self.message]
        lines += [f"  {path}: {text}" for path, texts in self.fields.items() for text in texts]
        return "\n".join(lines)


class Client:
    """Calls to one Benchgate server with one token."""

    def __init__(self, server: str, token: str, session: requests.Session | None = None):
        self.base = server.rstrip("/") + "/api/v1"
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "User-Agent": "benchgate-cli"}
        )

    @classmethod
    def from_environment(cls, server: str | None) -> Client:
        """A client of --server (or $BENCHGATE_SERVER) with the token in $BENCHGATE_TOKEN."""
        server = server or os.environ.get(SERVER_ENV, "")
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not server:
            raise ApiProblem(0, "usage", f"Give --server URL (or set {SERVER_ENV}).")
        if not token:
            raise ApiProblem(
                0,
                "usage",
                f"Set {TOKEN_ENV} to a personal access token (make one on your account page).",
            )
        return cls(server, token)

    def call(self, method: str, path: str, body: dict | None = None, **params: Any) -> Any:
        """One JSON request; the decoded answer, or ApiProblem."""
        try:
            answer = self.session.request(
                method,
                self.base + path,
                json=body,
                params={k: v for k, v in params.items() if v is not None} or None,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.RequestException as error:
            raise ApiProblem(0, "unreachable", f"{self.base} cannot be reached: {error}") from None
        return _decoded(answer)

    def text(self, path: str) -> str:
        """A plain-text answer, such as a log."""
        answer = self.session.get(self.base + path, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        if answer.status_code != 200:
            _decoded(answer)
        return answer.text

    def events(self, run_id: int, deadline: float | None = None) -> Iterator[tuple[str, dict]]:
        """Yield a run's events (kind, data) from its start until `end`, reconnecting as needed.

        Stops early, without `end`, when the deadline (time.monotonic()) passes.
        """
        last_id = None
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                with self.session.get(
                    f"{self.base}/runs/{run_id}/events",
                    headers=headers,
                    stream=True,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                ) as answer:
                    if answer.status_code != 200:
                        _decoded(answer)
                    for event_id, kind, data in _sse(answer.iter_lines(decode_unicode=True)):
                        if event_id:
                            last_id = event_id
                        if kind:
                            yield kind, data
                            if kind in ("end", "signed_out"):
                                return
                        if deadline is not None and time.monotonic() > deadline:
                            return
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ):
                pass  # the connection dropped: resume after the last event seen
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(RECONNECT_SECONDS)


def _decoded(answer: requests.Response) -> Any:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if 200 <= answer.status_code < 300:
        return body
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise ApiProblem(
            answer.status_code,
            error.get("code", "error"),
            error.get("message", ""),
            error.get("fields"),
        )
    raise ApiProblem(answer.status_code, "error", f"The server answered {answer.status_code}.")


def _sse(lines: Iterator[str]) -> Iterator[tuple[str | None, str | None, dict]]:
    """Parse Server-Sent Events: (id, event, data) per block; comments give (None, None, {})."""
    event_id = kind = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if kind or data:
                yield event_id, kind or "message", json.loads("\n".join(data) or "{}")
            else:
                yield None, None, {}
            event_id = kind = None
            data = []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = value
            elif field == "event":
                kind = value
            elif field == "data":
                data.append(value)
