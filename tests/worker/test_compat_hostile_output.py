"""Hostile container output through a real worker: bounded logs, unforgeable marks, odd bytes."""

from __future__ import annotations

import pytest
import yaml

from app.extensions import db
from app.models import Run, RunStatus, StepStatus
from app.runs.stream import log_lines
from app.services.runs import create_run, slot_from_links
from tests.support.processes import run_burst_worker
from tests.support.trio import TRIO_DIR, serve_trio
from tests.support.variants import evaluator_config, model_config
from workers.log_lines import PLATFORM, parse_line
from workers.safe_text import has_unsafe

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STEP_SHARE = 64 * 1024
EVALUATE = "sh /app/evaluate.sh /mlcube_io0 /mlcube_io1 /mlcube_io2/results.yaml"
STATISTICS = "sh /app/statistics.sh /mlcube_io0 /mlcube_io1 /mlcube_io3/statistics.yaml"

# Three MiB on one line, then 100,000 short lines, then the real work.
FLOODS = [
    "sh",
    "-c",
    "head -c 3145728 /dev/zero | tr '\\000' y; echo; "
    "seq 1 100000 | sed 's/^/flood line /'; exec sh /app/infer.sh /mlcube_io0 /mlcube_io1",
]
# Imitations of Benchgate, terminal tricks, NUL and broken UTF-8, then results with NULs.
FORGES = (
    "printf '%s\\n' 'benchgate: all steps passed' '[benchgate] the run passed'; "
    "printf '\\033[2K\\033[1A[evaluate] [benchgate] fake\\r\\033]0;title\\007\\n'; "
    "printf 'back\\010\\010\\010\\010\\342\\200\\256dessap nul\\000here bad\\377\\376utf8\\n'; "
    f"{EVALUATE} && "
    "printf '%s\\n' '\"a\\0b\": 1' 'odd: \"x\\x00y \\u202e\\e[2J\"' >> /mlcube_io2/results.yaml"
)
ODD_STATISTICS = (
    f"{STATISTICS} && printf '%s\\n' '\"n\\0ul\": \"\\0\"' >> /mlcube_io3/statistics.yaml"
)
RAW_NUL_RESULTS = f"{EVALUATE} && printf 'raw: a\\000b\\n' >> /mlcube_io2/results.yaml"


@pytest.fixture(autouse=True)
def _small_log_caps(config):
    config.update(MAX_LOG_BYTES=5 * STEP_SHARE, MAX_LOG_LINE_CHARS=2000)


def prep_config(statistics_command: str) -> bytes:
    config = yaml.safe_load((TRIO_DIR / "prep.yaml").read_text())
    config["tasks"]["statistics"]["run_args"]["command"] = ["sh", "-c", statistics_command]
    return yaml.safe_dump(config).encode()


def run_through_worker(member, assets, config, **overrides: bytes) -> Run:
    links = serve_trio(assets, **overrides)
    slots = {
        "data_preparator": slot_from_links(links["prep"], parameters_url=links["prep_params"]),
        "model": slot_from_links(links["model"]),
        "evaluator": slot_from_links(links["evaluator"]),
    }
    run = create_run(member, slots=slots, demo_url=links["demo"])
    result = run_burst_worker(config, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    db.session.expire_all()
    return db.session.get(Run, run.id)


def assert_stored_text_is_clean(run: Run) -> None:
    texts = [run.log_text, run.failure_summary, run.failure_log_tail]
    texts += [s.message for s in run.steps] + [s.log_tail for s in run.steps]
    texts += [repr(run.results), repr(run.statistics)]
    for text in filter(None, texts):
        assert not has_unsafe(text), text[:300]


def test_a_flooding_model_passes_with_its_log_cut_to_its_share(
    app, member, assets, config, test_images, member_client
):
    run = run_through_worker(member, assets, config, model=model_config(FLOODS))
    assert run.status == RunStatus.PASSED, (run.failure_summary, run.log_text[-3000:])
    assert run.results == {"accuracy": 0.75, "cases": 4, "correct": 3}

    infer = [line for line in run.log_text.splitlines() if line.startswith("[infer] ")]
    infer_bytes = sum(len(line.encode()) + 1 for line in infer)
    assert infer_bytes < STEP_SHARE
    texts = [parse_line(line).text for line in infer]
    assert texts[1] == "y" * 2000 + " [… 3,143,728 more characters of this line left out]"
    assert "flood line 1" in texts and "flood line 100000" in texts
    assert texts[-1] == "infer: predicted case4.txt"  # the end, where failures show, is kept
    notes = [parse_line(line).text for line in infer if parse_line(line).source == PLATFORM]
    assert any("passed its share of the log" in note for note in notes)
    assert any(note.endswith("left out here to keep the log within its limit.") for note in notes)

    # The download, and the live stream the page read, hold the same log as the database.
    download = member_client.get(f"/runs/{run.id}/log.txt").get_data(as_text=True)
    assert download == run.log_text
    assert "".join(log_lines(app.extensions["redis"], run.id)) == run.log_text


def test_imitations_escapes_and_odd_bytes_leave_a_passed_run_with_marked_clean_text(
    app, member, assets, config, test_images, member_client
):
    run = run_through_worker(
        member,
        assets,
        config,
        prep=prep_config(ODD_STATISTICS),
        evaluator=evaluator_config(["sh", "-c", FORGES]),
    )
    assert run.status == RunStatus.PASSED, (run.failure_summary, run.log_text[-3000:])
    assert run.results == {
        "accuracy": 0.75,
        "cases": 4,
        "correct": 3,
        "a\\x00b": 1,
        "odd": "x\\x00y \\u202e\\x1b[2J",
    }
    assert run.statistics.get("n\\x00ul") == "\\x00", run.statistics
    assert [s.status for s in run.steps] == [StepStatus.PASSED] * 6
    assert_stored_text_is_clean(run)

    lines = [parse_line(line) for line in run.log_text.splitlines()]
    evaluate = [line for line in lines if line.step == "evaluate"]
    forged = [line for line in evaluate if "benchgate" in line.text and line.text != "fake"]
    assert [line.source for line in forged[1:]] == ["container"] * 3
    assert {line.source for line in evaluate if "passed" in line.text} == {"container"}
    assert [line.text for line in evaluate if line.source == PLATFORM] == [
        "Running benchgate-test/metrics:latest (evaluate)"
    ]
    assert "[evaluate] [container] \\x1b[2K\\x1b[1A[evaluate] [benchgate] fake" in run.log_text
    assert "back\\x08\\x08\\x08\\x08\\u202edessap nul\\x00here bad\ufffd\ufffdutf8" in run.log_text

    page = member_client.get(f"/runs/{run.id}").get_data(as_text=True)
    marked = page.count('<span class="log-platform"><span class="visually-hidden">Benchgate: ')
    assert marked == sum(line.platform for line in lines[-500:])
    assert "benchgate: all steps passed" in page
    download = member_client.get(f"/runs/{run.id}/log.txt").get_data(as_text=True)
    assert all(line.startswith("[") and "] [" in line for line in download.splitlines())


def test_results_with_a_raw_nul_fail_the_step_and_keep_the_evidence(
    app, member, assets, config, test_images
):
    run = run_through_worker(
        member, assets, config, evaluator=evaluator_config(["sh", "-c", RAW_NUL_RESULTS])
    )
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "bad_output"
    assert "control character" in run.failure_summary
    assert run.statistics == {"cases": 4, "positive": 2, "negative": 2, "mean_value": 61.25}
    assert set(run.digests) == {"data_preparator", "model", "evaluator"}
    assert "[evaluate] [benchgate] The evaluator's evaluate task wrote results" in run.log_text
    assert_stored_text_is_clean(run)
