"""Email through a real SMTP server: confirming the address, a forgotten password, notices."""

import logging
import re

import pytest
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import OutgoingMail, User
from app.services.mail import deliver, dispatch_mail, dispatch_pending_mail
from app.services.queue import get_queue
from app.settings import reconfigure, settings
from tests.support.accounts import PASSWORD, make_user, sign_in_as
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.runs import start_run
from tests.support.smtp import body_of, link_in, run_mail_jobs
from tests.support.web import post_form

NEW_PASSWORD = "a brand new long password"


@pytest.fixture
def config(config, mail_server):
    config["MAIL_URL"] = mail_server.url
    config["MAIL_FROM"] = "portal@benchgate.example"
    config["PUBLIC_URL"] = "https://benchgate.example"
    return config


def browser(app):
    for kept in ("_login_user", "csrf_token"):  # the test's app context outlives requests
        g.pop(kept, None)
    return app.test_client()


def sign_up(app, email="nia@example.org"):
    client = browser(app)
    post_form(
        client,
        "/account/signup",
        {"display_name": "Nia New", "email": email, "password": PASSWORD, "confirm": PASSWORD},
    )
    return client


def account(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# Confirming the address


def test_sign_up_mails_a_confirmation_link_through_the_worker(app, mail_server):
    sign_up(app)
    assert mail_server.messages == []  # the request only queued it
    run_mail_jobs(app)
    (message,) = mail_server.to("nia@example.org")
    assert message["Subject"] == "Confirm your email address"
    assert message["From"] == "Benchgate <portal@benchgate.example>"
    assert "https://benchgate.example/account/verify/" in body_of(message)
    assert db.session.scalar(select(OutgoingMail.body)) == ""  # the link is not kept once sent


def test_an_unconfirmed_account_looks_around_but_cannot_test_or_submit(app, mail_server):
    client = sign_up(app)
    page = client.get("/").get_data(as_text=True)
    assert "Confirm your email address" in page and "Mail me the link again" in page
    nia = account("nia@example.org")
    with pytest.raises(Exception, match="Confirm your email address first"):
        start_run(nia)
    run_mail_jobs(app)
    g.pop("_login_user", None)
    answer = client.get(link_in(mail_server.to("nia@example.org")[0], "/account/verify/"))
    assert answer.status_code == 302
    assert account("nia@example.org").is_verified
    assert start_run(account("nia@example.org")).id  # now it may


def test_a_confirmation_link_that_is_damaged_or_old_says_so(app, mail_server):
    sign_up(app)
    run_mail_jobs(app)
    link = link_in(mail_server.to("nia@example.org")[0], "/account/verify/")
    damaged = browser(app).get(link[:-3] + "xyz")
    assert damaged.status_code == 400 and "damaged" in damaged.get_data(as_text=True)
    reconfigure(app, VERIFY_LINK_HOURS=-1)  # any age is too old
    old = browser(app).get(link)
    assert old.status_code == 400 and "too old" in old.get_data(as_text=True)
    assert not account("nia@example.org").is_verified


def test_the_link_can_be_mailed_again(app, mail_server):
    client = sign_up(app)
    post_form(client, "/account/verify/again", {}, page="/")
    run_mail_jobs(app)
    assert len(mail_server.to("nia@example.org")) == 2


# A forgotten password


def test_forgot_password_answers_the_same_whether_or_not_the_address_has_an_account(
    app, member, mail_server
):
    answers = [
        post_form(browser(app), "/account/forgot", {"email": email}).get_data(as_text=True)
        for email in (member.email, "nobody@example.org")
    ]
    assert answers[0] == answers[1].replace("nobody@example.org", member.email)
    run_mail_jobs(app)
    assert [m["X-Envelope-To"] for m in mail_server.messages] == [member.email]


def test_a_reset_link_works_once_and_ends_every_session(app, member, mail_server):
    signed_in = browser(app)
    sign_in_as(signed_in, member)
    post_form(browser(app), "/account/forgot", {"email": member.email})
    run_mail_jobs(app)
    link = link_in(mail_server.to(member.email)[0], "/account/reset/")
    client = browser(app)
    page = client.get(link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    done = post_form(
        client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True
    )
    assert "Your new password is saved" in done.get_data(as_text=True)
    assert account(member.email).check_password(NEW_PASSWORD)
    g.pop("_login_user", None)
    assert signed_in.get("/account/").status_code == 302  # signed out everywhere
    again = browser(app).get(link)
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)


def test_a_password_change_makes_earlier_reset_links_useless(app, member, mail_server):
    post_form(browser(app), "/account/forgot", {"email": member.email})
    run_mail_jobs(app)
    link = link_in(mail_server.to(member.email)[0], "/account/reset/")
    member = account(member.email)
    member.set_password("changed another way, long enough", settings().password_hash_method)
    db.session.commit()
    assert browser(app).get(link).status_code == 400


# Notices


def test_a_decision_is_mailed_unless_the_owner_opted_out(app, member, admin, mail_server):
    from app.models import BenchmarkStatus
    from app.services.reviews import request_changes

    benchmark = record_benchmark(
        member, make_trio(member), "Chest 2025", BenchmarkStatus.PENDING_APPROVAL
    )
    request_changes(benchmark, by=admin, reason="Describe the labels.")
    run_mail_jobs(app)
    (message,) = mail_server.to(member.email)
    assert message["Subject"] == "Changes requested to your benchmark"
    assert "Describe the labels." in body_of(message)
    assert f"https://benchgate.example/benchmarks/{benchmark.id}" in body_of(message)
    # The opt-out on the account page: every box but this one stays ticked.
    client = browser(app)
    sign_in_as(client, member)
    kinds = ["benchmark_approved", "benchmark_rejected", "join_to_decide", "join_decided"]
    post_form(client, "/account/email-settings", {"kinds": kinds}, page="/account/")
    assert not account(member.email).wants_mail("changes_requested")
    benchmark.status = BenchmarkStatus.PENDING_APPROVAL
    db.session.commit()
    request_changes(benchmark, by=admin, reason="Again.")
    run_mail_jobs(app)
    assert len(mail_server.to(member.email)) == 1


def test_an_unconfirmed_address_gets_no_notices(app, admin, mail_server):
    from app.models import BenchmarkStatus
    from app.services.reviews import request_changes

    owner = make_user("una@example.org", "Una", verified=False)
    benchmark = record_benchmark(owner, make_trio(owner), "Chest", BenchmarkStatus.PENDING_APPROVAL)
    request_changes(benchmark, by=admin, reason="Describe the labels.")
    run_mail_jobs(app)
    assert mail_server.to("una@example.org") == []


# Sending


def test_without_mail_url_a_message_goes_to_the_log(app, caplog):
    reconfigure(app, MAIL_URL="")
    with caplog.at_level(logging.INFO, logger="app.services.mail"):
        sign_up(app)
        run_mail_jobs(app)
    assert "Confirm your email address" in caplog.text and "/account/verify/" in caplog.text
    assert db.session.scalar(select(OutgoingMail.status)) == "sent"


def test_a_mail_server_that_does_not_answer_is_tried_again_later(app, mail_server):
    reconfigure(app, MAIL_URL="smtp://127.0.0.1:1")  # nothing listens there
    sign_up(app)
    job = get_queue().fetch_job(f"mail-{db.session.scalar(select(OutgoingMail.id))}")
    assert job.retries_left == 5  # RQ tries again with backoff
    mail_id = db.session.scalar(select(OutgoingMail.id))
    with pytest.raises(Exception, match="ConnectionRefused"):
        deliver(mail_id)
    mail = db.session.get(OutgoingMail, mail_id)
    assert mail.status == "queued" and mail.attempts == 1 and mail.body
    reconfigure(app, MAIL_URL=mail_server.url)  # the server is back
    assert deliver(mail_id) == "sent"
    assert len(mail_server.to("nia@example.org")) == 1


def test_a_message_written_while_redis_was_down_is_queued_by_housekeeping(app, mail_server):
    redis = app.extensions["redis"]
    good = redis.connection_pool.connection_kwargs["port"]
    redis.connection_pool.connection_kwargs["port"] = 1
    redis.connection_pool.reset()
    try:
        sign_up(app)
    finally:
        redis.connection_pool.connection_kwargs["port"] = good
        redis.connection_pool.reset()
    mail = db.session.scalar(select(OutgoingMail))
    assert not mail.dispatched
    assert dispatch_pending_mail() == 1
    run_mail_jobs(app)
    assert len(mail_server.to("nia@example.org")) == 1


def test_a_message_is_queued_once_when_housekeeping_races_its_commit(app, mail_server):
    sign_up(app)  # the request's after-commit action claims and queues it
    mail = db.session.scalar(select(OutgoingMail))
    assert mail.dispatched
    assert dispatch_mail([mail.id]) == []  # what housekeeping's late try now finds
    assert get_queue().get_job_ids() == [f"mail-{mail.id}"] and get_queue().count == 1
    run_mail_jobs(app)
    assert len(mail_server.to("nia@example.org")) == 1


def test_a_confirmation_link_works_once(app, mail_server):
    sign_up(app)
    run_mail_jobs(app)
    link = link_in(mail_server.to("nia@example.org")[0], "/account/verify/")
    assert browser(app).get(link).status_code == 302
    again = browser(app).get(link)
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)


@pytest.mark.parametrize("how", ["member", "administrator", "mailed link"])
def test_every_password_change_is_told_by_email(app, member, admin, mail_server, how):
    if how == "member":
        client = browser(app)
        sign_in_as(client, member)
        post_form(
            client,
            "/account/",
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
    elif how == "administrator":
        client = browser(app)
        sign_in_as(client, admin)
        post_form(client, f"/admin/users/{member.id}/password", {})
    else:
        post_form(browser(app), "/account/forgot", {"email": member.email})
        run_mail_jobs(app)
        link = link_in(mail_server.to(member.email)[0], "/account/reset/")
        post_form(browser(app), link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    run_mail_jobs(app)
    notices = [
        m for m in mail_server.to(member.email) if m["Subject"] == "Your password was changed"
    ]
    assert len(notices) == 1
    assert "every session of the account was signed out" in body_of(notices[0])


def test_a_forged_host_header_does_not_reach_a_mailed_link(app, member, mail_server):
    reconfigure(app, PUBLIC_URL="")  # even unset, the link is not built from the request
    client = browser(app)
    page = client.get("/account/forgot", headers={"Host": "evil.example"})
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))[1]
    client.post(
        "/account/forgot",
        data={"csrf_token": token, "email": member.email},
        headers={"Host": "evil.example"},
    )
    run_mail_jobs(app)
    (message,) = mail_server.to(member.email)
    assert "evil.example" not in body_of(message)
    assert "http://127.0.0.1:8000/account/reset/" in body_of(message)
