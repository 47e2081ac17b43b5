"""The text of seeded rows: hashes, container configurations and run logs of usual sizes."""

from __future__ import annotations

import hashlib
import random

from app.models.enums import STEP_NAMES


def sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def config_text(role: str, index: int) -> str:
    """A container configuration of the usual size (a few hundred bytes)."""
    task = {"data_preparator": "prepare", "model": "infer", "evaluator": "evaluate"}[role]
    return (
        f"name: {role}-{index}\n"
        "docker:\n"
        f"  image: registry.example.org/bench/{role}:{index % 97}\n"
        "tasks:\n"
        f"  {task}:\n"
        "    parameters:\n"
        "      inputs:\n"
        "        data_path: data/\n"
        "        parameters_file: parameters.yaml\n"
        "      outputs:\n"
        "        output_path: {type: directory, default: out/}\n"
    )


def log_text(rng: random.Random) -> str:
    """A full run log of 2 to 8 KB, made of plausible lines."""
    lines = []
    size = rng.randint(2_000, 8_000)
    total = 0
    step = 0
    while total < size:
        step += 1
        line = (
            f"[{step:05d}] {rng.choice(STEP_NAMES)}: processed batch {step} loss={rng.random():.4f}"
        )
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"
