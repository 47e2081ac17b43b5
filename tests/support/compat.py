"""Compatibility tests with a real worker: a run that sleeps, its steps, its containers."""

from __future__ import annotations

import docker
from flask import current_app

from app.database import installation_site
from app.extensions import db
from app.models import Run, StepStatus
from app.services.runs import create_run, slot_from_links
from tests.support import variants
from tests.support.trio import serve_trio
from workers.run_labels import run_labels


def fresh_run(run_id: int) -> Run:
    """The run as the database holds it now."""
    db.session.expire_all()
    return db.session.get(Run, run_id)


def step_running(run_id: int, name: str) -> bool:
    """Tell whether the run's step is running."""
    run = fresh_run(run_id)
    return any(s.name == name and s.status == StepStatus.RUNNING for s in run.steps)


def containers_of(run_id: int) -> list:
    """The containers, running or not, that carry the run's labels."""
    client = docker.from_env()
    try:
        labels = run_labels(installation_site(current_app.config), run_id)
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
        return client.containers.list(all=True, sparse=True, filters=filters)
    finally:
        client.close()


def sleeping_run(member, assets) -> Run:
    """A run of the toy benchmark whose model sleeps for two minutes."""
    links = serve_trio(assets, model=variants.model_config(variants.SLEEPS))
    slots = {
        "data_preparator": slot_from_links(links["prep"], parameters_url=links["prep_params"]),
        "model": slot_from_links(links["model"]),
        "evaluator": slot_from_links(links["evaluator"]),
    }
    return create_run(member, slots=slots, demo_url=links["demo"])
