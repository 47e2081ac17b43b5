"""Variants of the toy benchmark's containers that fail in one precise way each."""

from __future__ import annotations

import yaml

from tests.support.trio import TRIO_DIR


def model_config(command: list[str] | str, **run_args: object) -> bytes:
    """The model's configuration with its infer command replaced."""
    config = yaml.safe_load((TRIO_DIR / "model.yaml").read_text())
    config["tasks"]["infer"]["run_args"] = {"command": command, **run_args}
    return yaml.safe_dump(config).encode()


def evaluator_config(command: list[str] | str) -> bytes:
    """The evaluator's configuration with its evaluate command replaced."""
    config = yaml.safe_load((TRIO_DIR / "evaluator.yaml").read_text())
    config["tasks"]["evaluate"]["run_args"] = {"command": command}
    return yaml.safe_dump(config).encode()


EXIT_3 = ["sh", "-c", "echo 'infer: giving up'; exit 3"]
SLEEPS = ["sh", "-c", "echo 'infer: started'; sleep 120"]
EATS_MEMORY = ["sh", "-c", "echo 'infer: eating memory'; head -c 2048m /dev/zero | tail"]
NO_RESULTS = ["sh", "-c", "echo 'evaluate: forgot to write results'"]
# A container with any network interface besides loopback could reach the network: with
# networking on, Docker gives it eth0 and this script would carry on as if all was well.
TRIES_NETWORK = [
    "sh",
    "-c",
    "if grep -qv -e '^ *lo:' -e '|' /proc/net/dev; then echo 'infer: a network is there'; "
    "else echo 'infer: no network'; exit 4; fi",
]
WRITES_INPUT = [
    "sh",
    "-c",
    "echo x > /mlcube_io0/tampered.txt || { echo 'infer: input is read-only'; exit 5; }",
]
