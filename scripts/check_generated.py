"""Fail when generated/ differs from what `make proto` would write from protos/."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from proto_include import googleapis_include  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                "-I",
                "protos",
                "-I",
                str(googleapis_include()),
                f"--python_out={out}",
                f"--grpc_python_out={out}",
                f"--mypy_out={out}",
                f"--mypy_grpc_out={out}",
                "protos/media/v1/media.proto",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        for package in (out / "media", out / "media" / "v1"):
            (package / "__init__.py").touch()
        stale = _differences(out / "media", ROOT / "generated" / "media")
    if stale:
        print("generated/ is stale; run `make proto` and commit the result:", file=sys.stderr)
        for name in stale:
            print(f"  {name}", file=sys.stderr)
        return 1
    print("generated/ is up to date with protos/")
    return 0


def _differences(expected: Path, actual: Path) -> list[str]:
    expected_files = {p.relative_to(expected) for p in expected.rglob("*") if p.is_file()}
    actual_files = {
        p.relative_to(actual)
        for p in actual.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    stale = sorted(str(p) for p in expected_files ^ actual_files)
    for rel in sorted(expected_files & actual_files):
        if not filecmp.cmp(expected / rel, actual / rel, shallow=False):
            stale.append(str(rel))
    return stale


if __name__ == "__main__":
    sys.exit(main())
