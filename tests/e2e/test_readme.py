"""The README's first upload, run as written: its shell blocks, taken from README.md itself, in
one bash against a fresh `media-grpc serve` (the embedded default, as `make run` serves it), and
the output each block shows compared with what the commands print. So the README cannot drift.

The README's addresses are `make run`'s (127.0.0.1:50051, and the embedded S3 on :9000); this
server listens on free ports, given to the CLI as MEDIA_ADDRESS and read in the output as :9000.
In the output shown, "…" stands for any text within its line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import embedded_env, start_serve, stop
from tests.slow_stage_cli import ROOT

README = ROOT / "README.md"
#: The sections whose shell blocks make the first-upload path, in the order a reader runs them.
SECTIONS = (
    "## A first upload from the shell",
    "## Uploading",
    "## For the post service and the API gateway",
)
MARK = "@@readme-step@@"


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)


def shell_blocks(text: str, heading: str) -> list[str]:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def steps_of(block: str) -> list[Step]:
    """Each command (continued lines joined) with the "# " lines that follow it: its output."""
    steps: list[Step] = []
    pending: list[str] = []
    for line in block.splitlines():
        if pending:
            pending.append(line)
        elif line.startswith("#") and steps:
            steps[-1].shown.append(line.removeprefix("#").removeprefix(" "))
            continue
        elif line.strip():
            pending = [line]
        if pending and not pending[-1].endswith("\\"):
            steps.append(Step("\n".join(pending)))
            pending = []
    assert not pending, f"a command ends in a backslash: {pending}"
    return steps


def matches(shown: str, printed: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, printed) is not None


def test_the_readme_first_upload_runs_as_written_and_prints_what_it_shows(
    tmp_path: Path,
) -> None:
    for tool in ("bash", "curl", "jq", "openssl", "sha256sum"):
        assert shutil.which(tool), f"the README's commands need {tool}"
    text = README.read_text()
    steps = [s for heading in SECTIONS for b in shell_blocks(text, heading) for s in steps_of(b)]
    assert len(steps) >= 10 and any("CompleteUpload" in s.command for s in steps)
    script = ["set -euo pipefail"]
    for n, step in enumerate(steps):
        script += [f"echo {MARK}{n}", step.command]

    env = embedded_env(tmp_path)
    served = start_serve(env)
    try:
        workdir = tmp_path / "clone"
        workdir.mkdir()
        (workdir / ".venv").symlink_to(ROOT / ".venv")  # the clone's `make run` made it
        shell_env = {k: v for k, v in env.items() if k not in ("MEDIA_TOKEN", "MEDIA_ADDRESS")}
        shell_env["MEDIA_ADDRESS"] = served.address
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=workdir,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        stop(served.process)
    outputs = re.split(rf"{MARK}\d+\n", done.stdout)[1:]
    ran = len(outputs)
    assert done.returncode == 0, (
        f"step {ran - 1} failed: {steps[ran - 1].command}\n{done.stderr}\n{done.stdout}"
    )
    assert ran == len(steps)
    s3 = f"127.0.0.1:{env['MEDIA_EMBEDDED_S3_PORT']}"
    for step, output in zip(steps, outputs, strict=True):
        if not step.shown:
            continue
        printed = output.replace(s3, "127.0.0.1:9000").splitlines()
        assert len(printed) == len(step.shown), (step.command, printed)
        for shown, line in zip(step.shown, printed, strict=True):
            assert matches(shown, line), f"{step.command}\nshows  {shown!r}\nprints {line!r}"


@pytest.mark.parametrize(
    ("shown", "printed", "same"),
    [
        ('"media_id": "…",', '"media_id": "5f0c-9",', True),
        ('"media_id": "…",', '"mediaId": "5f0c-9",', False),
        ("# STATUS_UPLOADED", "# STATUS_READY", False),
    ],
)
def test_the_readme_check_reads_an_ellipsis_as_any_text_within_a_line(
    shown: str, printed: str, same: bool
) -> None:
    assert matches(shown, printed) is same
