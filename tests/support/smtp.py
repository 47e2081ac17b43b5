"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the mail tests."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from tests.support.services import free_port


class _Keeper:
    """The server's handler: every accepted message, parsed, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class MailServer:
    """Start with `with MailServer() as server:`; server.url goes into MAIL_URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self._keeper = _Keeper()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self._keeper.messages

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to one address."""
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


def body_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage, path: str) -> str:
    """The path of the first link in the message that goes to `path` (e.g. /account/verify/)."""
    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S+)", body_of(message))
    assert found, f"no {path} link in: {body_of(message)}"
    return found[1]


def run_mail_jobs(app, timeout: float = 10.0) -> None:
    """Let a real RQ worker, in this process, send every queued message (retries included)."""
    queue = app.extensions["rq_queues"][app.config["RUN_QUEUE"]]
    worker = SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.work(burst=True, with_scheduler=True)
        if not len(queue) and not queue.scheduled_job_registry.count:
            return
        time.sleep(0.2)


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """An SMTP server for the portal to send to; tests read what it received."""
    with MailServer() as server:
        yield server
