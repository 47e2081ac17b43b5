"""Containers of the toy benchmark that leave hostile things in their outputs."""

from __future__ import annotations

import yaml

from tests.support.trio import TRIO_DIR

PREPARE = "sh /app/prepare.sh /mlcube_io0 /mlcube_io1 /mlcube_io3 /mlcube_io4"
INFER = "sh /app/infer.sh /mlcube_io0 /mlcube_io1"
EVALUATE = "sh /app/evaluate.sh /mlcube_io0 /mlcube_io1 /mlcube_io2/results.yaml"


def _config(name: str, task: str, script: str) -> dict:
    config = yaml.safe_load((TRIO_DIR / f"{name}.yaml").read_text())
    config["tasks"][task]["run_args"] = {"command": ["sh", "-c", script]}
    return config


def prep_config(after_prepare: str) -> bytes:
    """The data preparator, doing something more once its real prepare has run."""
    return yaml.safe_dump(_config("prep", "prepare", f"{PREPARE} && {after_prepare}")).encode()


def model_config(after_infer: str) -> bytes:
    """The model, doing something more once its real infer has run."""
    return yaml.safe_dump(_config("model", "infer", f"{INFER} && {after_infer}")).encode()


def evaluator_config(after_evaluate: str) -> bytes:
    """The evaluator with local outputs at /local, doing something more after evaluating."""
    config = _config("evaluator", "evaluate", f"{EVALUATE} && {after_evaluate}")
    outputs = config["tasks"]["evaluate"]["output_volumes"]
    outputs["local_outputs_path"] = {"mount_path": "/local", "type": "directory"}
    return yaml.safe_dump(config).encode()


SHADOW_LINK = "ln -s /etc/shadow /mlcube_io3/case9.txt"
FIFO_IN_LABELS = "mkfifo /mlcube_io4/pipe.txt"
SPARSE_TERABYTE = "truncate -s 1099511627776 /mlcube_io3/big.bin"
ROOT_LINK_IN_PREDICTIONS = "ln -s / /mlcube_io1/root"
RESULTS_LINK_IN_LOCAL_OUTPUTS = "ln -s /etc/shadow /local/results.yaml"
SPARSE_RESULTS = "truncate -s 1099511627776 /mlcube_io2/results.yaml"
