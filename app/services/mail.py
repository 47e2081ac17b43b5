"""Email: written with the change that decides it, sent by a worker after the commit, retried.

A message is a row of OutgoingMail added to the caller's transaction; once that transaction
commits, its id is queued for a worker (`app.jobs.tasks.send_mail`), which sends it through
SMTP (MAIL_URL) or, without MAIL_URL, writes it to its log. A message whose queueing failed
(Redis down) is queued by the workers' periodic housekeeping. No request waits for a mail
server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import select

from app.extensions import db
from app.models import OutgoingMail, User, utcnow
from app.services.commit_hooks import after_commit
from app.services.dispatching import mark_dispatched
from app.services.queue import enqueue
from app.settings import settings

log = logging.getLogger(__name__)

JOB_FUNCTION = "app.jobs.tasks.send_mail"
RETRY_INTERVALS = [10, 60, 300, 900, 3600]  # seconds between tries; then the message fails
SMTP_TIMEOUT = 30

# The notices a member may also get by email, with the words of the account page's opt-out.
NOTICE_KINDS = {
    "benchmark_approved": "My benchmark is approved",
    "changes_requested": "An administrator asks for changes to my benchmark",
    "benchmark_rejected": "My benchmark is rejected, or its approval revoked",
    "join_to_decide": "A model asks to join my benchmark and waits for my decision",
    "join_decided": "My request to join a benchmark is decided",
    "test_failed": "A test of my benchmark or of my model did not pass",
}
SUBJECTS = {
    "benchmark_approved": "Your benchmark is approved",
    "changes_requested": "Changes requested to your benchmark",
    "benchmark_rejected": "Your benchmark was rejected",
    "join_to_decide": "A model asks to join your benchmark",
    "join_decided": "Your join request was decided",
    "test_failed": "A test did not pass",
}


class MailError(Exception):
    """The mail server refused the message or could not be reached; the job tries again."""


def public_url(path: str) -> str:
    """An absolute link to a page of the portal, for a message read outside it.

    Never built from the request's Host header: anyone can send a request claiming another
    host, and a password-reset link pointing there would hand its token over.
    """
    base = settings().public_url
    return base.rstrip("/") + "/" + path.lstrip("/")


def queue_mail(to: str, subject: str, body: str, kind: str) -> OutgoingMail:
    """Add a message to the caller's transaction; it is queued for a worker once that commits."""
    mail = OutgoingMail(to_address=to, subject=subject[:200], body=body, kind=kind)
    db.session.add(mail)
    db.session.flush()  # its id, for the queue after the commit
    after_commit(dispatch_mail, [mail.id])
    return mail


def queue_notice(user: User, kind: str, message: str, url: str | None) -> OutgoingMail | None:
    """Mail a notice too, when the member verified the address and did not opt out of it."""
    if not (user.is_verified and user.active and user.wants_mail(kind)):
        return None
    lines = [f"Hello {user.display_name},", "", message]
    if url:
        lines += ["", f"Open it: {public_url(url)}"]
    lines += [
        "",
        "--",
        "Benchgate. You get this message because of your account's email settings; change",
        f"them on your account page: {public_url('/account/')}",
    ]
    return queue_mail(user.email, SUBJECTS[kind], "\n".join(lines), kind)


def queue_password_notice(user: User, how: str) -> None:
    """Tell a member by email that their password changed (ASVS 2.2.3): no opt-out."""
    if not user.is_verified:
        return
    queue_mail(
        user.email,
        "Your password was changed",
        f"Hello {user.display_name},\n\nThe password of your Benchgate account was changed "
        f"{how}, and every session of the account was signed out.\n\nIf this was not you, "
        f"choose a new password at once ({public_url('/account/forgot')}) and tell an "
        "administrator of this portal.",
        "password_changed",
    )


def dispatch_mail(ids: list[int]) -> list[int]:
    """Claim and queue messages for a worker; return those queued (the others wait for
    housekeeping, or were claimed by another process first)."""
    queued = []
    for mail_id in ids:
        # Claimed before it is queued, in a short transaction of its own (this runs after a
        # commit): housekeeping in another process cannot queue the same message meanwhile.
        if not mark_dispatched(OutgoingMail, mail_id, "queued", claimed=True):
            continue
        try:
            enqueue(
                JOB_FUNCTION,
                mail_id,
                job_id=f"mail-{mail_id}",
                timeout=SMTP_TIMEOUT * 4,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            )
        except RedisError as error:
            log.warning("mail %s waits until Redis answers: %s", mail_id, error)
            mark_dispatched(OutgoingMail, mail_id, "queued", claimed=False)
            continue
        queued.append(mail_id)
    return queued


def dispatch_pending_mail() -> int:
    """Queue every message recorded while Redis was down; return how many were sent on."""
    ids = db.session.scalars(
        select(OutgoingMail.id).where(
            OutgoingMail.status == "queued", OutgoingMail.dispatched.is_(False)
        )
    ).all()
    db.session.commit()
    return len(dispatch_mail(list(ids)))


def deliver(mail_id: int) -> str:
    """Send one message (the worker's job); return its status.

    Raises:
        MailError: the server refused or could not be reached and a retry remains.
    """
    mail = db.session.get(OutgoingMail, mail_id)
    if mail is None or mail.status != "queued":
        return mail.status if mail else "missing"
    mail.attempts += 1
    try:
        _send(_message(mail))
    except (OSError, smtplib.SMTPException, MailError) as error:
        mail.last_error = f"{type(error).__name__}: {error}"[:400]
        if mail.attempts > len(RETRY_INTERVALS):
            mail.status = "failed"
            mail.body = ""
            db.session.commit()
            log.error("mail %s to %s failed for good: %s", mail.id, mail.to_address, error)
            return mail.status
        db.session.commit()
        raise MailError(mail.last_error) from error
    mail.status, mail.sent_at, mail.body = "sent", utcnow(), ""
    db.session.commit()
    return mail.status


def _message(mail: OutgoingMail) -> EmailMessage:
    sender = settings().mail_from
    message = EmailMessage()
    message["From"] = formataddr(("Benchgate", sender))
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


def _send(message: EmailMessage) -> None:
    """Send through MAIL_URL, or write the message to the log when there is none."""
    url = settings().mail_url
    if not url:
        # Written as a person reads it (no quoted-printable line breaks), so links work.
        log.info(
            "mail (no MAIL_URL set, so not sent)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise MailError(f"MAIL_URL must start with smtp:// or smtps://, not {parts.scheme}://")
    host = parts.hostname or "localhost"
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=SMTP_TIMEOUT, context=context
        )
    else:
        server = smtplib.SMTP(host, parts.port or 587, timeout=SMTP_TIMEOUT)
    with server:
        if parts.scheme == "smtp":
            server.ehlo()
            if server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
            elif user:
                raise MailError("the mail server offers no STARTTLS: the password is not sent")
        if user:
            server.login(user, password)
        server.send_message(message)
