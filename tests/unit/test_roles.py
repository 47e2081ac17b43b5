"""The container roles' words, spelled once for forms, pages, messages and the worker."""

from workers.container_config import ROLE_TASKS
from workers.roles import SLOTS, Role


def test_each_role_has_its_article_and_its_benchmark_name():
    assert [role.a_noun for role in Role] == ["a data preparator", "a model", "an evaluator"]
    assert [role.label for role in Role] == ["Data preparator", "Model", "Evaluator"]
    assert Role.MODEL.benchmark_label == "Reference model"
    assert Role.EVALUATOR.benchmark_noun == "evaluator"


def test_slots_follow_the_steps_and_roles_are_their_tasks():
    assert SLOTS == ("data_preparator", "model", "evaluator")
    assert ROLE_TASKS[Role.DATA_PREPARATOR] == {"prepare", "sanity_check", "statistics"}
    assert Role("evaluator").tasks == {"evaluate"}
