"""Build the tiny FROM-scratch busybox images the Docker tests run, as benchgate-test/<name>.

Each folder under tests/fixtures/images/ is a build context; the static busybox binary is added to a
temporary copy at build time, so it never lands in the source tree. Images:

- ok: upper-cases /input/* into /output/, writes /summary/summary.yaml, echoes $GREETING
- probe: prints key=value facts about its confinement (reads /input/data.txt, writes /output/)
- fail (exit 3), hang (sleeps forever), memhog (grows until OOM), forkbomb, stream (slow
  prints with \\r and a broken UTF-8 byte)
- prep (sh /app/prepare.sh|sanity_check.sh|statistics.sh), model (sh /app/infer.sh),
  metrics (sh /app/evaluate.sh): a toy MedPerf benchmark on <case>.txt files holding a number
  0-100 with labels "positive"/"negative"; each script's header gives its arguments.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from pathlib import Path

import docker

IMAGES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "images"
TAG_PREFIX = "benchgate-test/"
_PT_INTERP = 3  # ELF program header type naming a dynamic loader


def image_ref(name: str) -> str:
    """Return the tag a test image is built under."""
    return f"{TAG_PREFIX}{name}:latest"


def find_static_busybox() -> tuple[Path | None, str]:
    """Find a statically linked busybox; return it, or None and the reason it is unusable."""
    found = shutil.which("busybox") or "/usr/bin/busybox"
    path = Path(found)
    if not path.is_file():
        return None, "busybox is not installed (Debian package busybox-static)"
    if not _is_static_elf(path.read_bytes()):
        return None, f"{path} is dynamically linked; install Debian's busybox-static"
    return path, ""


def _is_static_elf(data: bytes) -> bool:
    """Tell whether a 64-bit little-endian ELF binary has no dynamic loader."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for index in range(phnum):
        (p_type,) = struct.unpack_from("<I", data, phoff + index * phentsize)
        if p_type == _PT_INTERP:
            return False
    return True


def build_test_images(client: docker.DockerClient) -> dict[str, str]:
    """Build every image under IMAGES_DIR and return {name: "benchgate-test/<name>:latest"}.

    Raises:
        FileNotFoundError: no static busybox on this machine.
    """
    busybox, reason = find_static_busybox()
    if busybox is None:
        raise FileNotFoundError(reason)
    built: dict[str, str] = {}
    for context in sorted(IMAGES_DIR.iterdir()):
        if not (context / "Dockerfile").is_file():
            continue
        with tempfile.TemporaryDirectory(prefix="benchgate-image-") as tmp:
            staged = Path(tmp) / context.name
            shutil.copytree(context, staged)
            shutil.copy2(busybox, staged / "busybox")
            # No network during builds: FROM scratch needs nothing from a registry.
            client.images.build(
                path=str(staged),
                tag=image_ref(context.name),
                rm=True,
                forcerm=True,
                pull=False,
                network_mode="none",
            )
        built[context.name] = image_ref(context.name)
    return built
