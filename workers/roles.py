"""The three roles a container plays in a test, with every word the portal says about them.

A run has one place (slot) per role, named by the role's value; a benchmark calls its model
the reference model. Pages, forms, messages and the live page's script take their words from
here (templates reach it as the Jinja global ``Role``), so the roles are spelled once.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a container does in a benchmark; it follows from the tasks it declares."""

    DATA_PREPARATOR = "data_preparator"
    MODEL = "model"
    EVALUATOR = "evaluator"

    @property
    def label(self) -> str:
        """Its name at the start of a line: 'Data preparator'."""
        return self.noun.capitalize()

    @property
    def noun(self) -> str:
        """Its name inside a sentence: 'data preparator'."""
        return _NOUNS[self]

    @property
    def a_noun(self) -> str:
        """Its name with an article: 'an evaluator'."""
        return ("an " if self.noun[0] in "aeiou" else "a ") + self.noun

    @property
    def benchmark_noun(self) -> str:
        """Its name as one of a benchmark's three containers: 'reference model'."""
        return "reference model" if self is Role.MODEL else self.noun

    @property
    def benchmark_label(self) -> str:
        """Its name as one of a benchmark's containers, at the start of a line."""
        return self.benchmark_noun.capitalize()

    @property
    def tasks(self) -> frozenset[str]:
        """The MedPerf tasks a container of this role declares, exactly these."""
        return _TASKS[self]

    @property
    def duty(self) -> str:
        """What it does in a test, in one sentence."""
        return _DUTIES[self]


_NOUNS = {
    Role.DATA_PREPARATOR: "data preparator",
    Role.MODEL: "model",
    Role.EVALUATOR: "evaluator",
}
_TASKS = {
    Role.DATA_PREPARATOR: frozenset({"prepare", "sanity_check", "statistics"}),
    Role.MODEL: frozenset({"infer"}),
    Role.EVALUATOR: frozenset({"evaluate"}),
}
_DUTIES = {
    Role.DATA_PREPARATOR: "Turns the raw demo data into the prepared data the model reads, "
    "checks it, and describes it.",
    Role.MODEL: "Makes predictions on the prepared data.",
    Role.EVALUATOR: "Scores the model's predictions against the prepared labels: its output is "
    "the test's results.",
}

# The places of a run, in the order its steps use them.
SLOTS = tuple(role.value for role in Role)
