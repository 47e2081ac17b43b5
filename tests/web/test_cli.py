"""The `flask users` commands."""

from sqlalchemy import select

from app.extensions import db
from app.models import User


def test_create_admin_generates_and_prints_a_password(app):
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "Boss@Example.org"])
    assert result.exit_code == 0
    password = result.output.rsplit(":", 1)[1].strip()
    user = db.session.scalar(select(User))
    assert user.email == "boss@example.org" and user.is_admin
    assert user.check_password(password)


def test_create_admin_promotes_an_existing_member(app, member):
    result = app.test_cli_runner().invoke(args=["users", "create-admin", member.email])
    assert result.exit_code == 0
    db.session.refresh(member)
    assert member.is_admin


def test_ensure_admin_creates_only_the_first_one(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["users", "ensure-admin"])
    assert "password:" in first.output
    second = runner.invoke(args=["users", "ensure-admin"])
    assert "already exists" in second.output
    assert db.session.scalar(select(db.func.count(User.id))) == 1
