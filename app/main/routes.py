"""Views of the home page and the health probe."""

from flask import render_template, url_for
from flask_login import current_user

from app.extensions import csrf
from app.main import bp
from app.services.health import health_report


def next_steps() -> list[dict]:
    """What a signed-in member can do next, in the order a benchmark is built."""
    return [
        {
            "title": "Register your containers",
            "text": "Paste the links to the configuration files of your data preparator, "
            "reference model and evaluator. Benchgate checks them at once.",
            "action": "Register a container",
            "url": url_for("containers.register"),
        },
        {
            "title": "Test them together",
            "text": "Run the compatibility test on your demo dataset and watch each step live.",
            "action": "Run a workflow test",
            "url": url_for("runs.new"),
        },
        {
            "title": "Submit your benchmark",
            "text": "When the test passes, an administrator reviews the evidence and decides.",
            "action": "Submit a benchmark",
            "url": url_for("benchmarks.new"),
        },
    ]


@bp.route("/")
def home():
    steps = next_steps() if current_user.is_authenticated else []
    return render_template("main/home.html", next_steps=steps)


@bp.route("/healthz")
@csrf.exempt
def healthz():
    report = health_report()
    healthy = report["database"] and report["redis"]
    report["status"] = "ok" if healthy else "unavailable"
    return report, 200 if healthy else 503
