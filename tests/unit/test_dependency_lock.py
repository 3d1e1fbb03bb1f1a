"""uv.lock pins what every install gets, and it agrees with pyproject.toml.

A fresh clone must install what was tested, whatever PyPI serves that day: `make install` syncs
from uv.lock with `--locked`, and these tests catch a pyproject.toml edited without relocking and a
generated/ written by another generator than the locked one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def uv_command() -> str:
    """The uv that `make install` puts in .tools (pinned by requirements-uv.txt), else PATH's."""
    pinned = ROOT / ".tools" / "bin" / "uv"
    found = str(pinned) if pinned.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is not installed: run `make install`, which installs the pinned uv")
    return found


def check_lock(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [uv_command(), "lock", "--check"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        timeout=120,
    )


def locked_packages() -> dict[str, dict[str, object]]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {package["name"]: package for package in lock["package"]}


def test_the_lock_matches_pyproject() -> None:
    result = check_lock(ROOT)
    assert result.returncode == 0, result.stderr


def test_a_range_changed_without_relocking_is_caught(tmp_path: Path) -> None:
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"Pillow>=11.3"' in pyproject
    (tmp_path / "pyproject.toml").write_text(pyproject.replace('"Pillow>=11.3"', '"Pillow>=11.2"'))

    result = check_lock(tmp_path)

    assert result.returncode != 0
    assert "needs to be updated" in result.stderr


def test_every_locked_registry_package_is_pinned_with_hashes() -> None:
    packages = locked_packages()
    from_registry = [p for p in packages.values() if "registry" in p["source"]]  # type: ignore[operator]
    assert len(from_registry) > 50
    for package in from_registry:
        artifacts = [*package.get("wheels", []), package.get("sdist")]  # type: ignore[list-item]
        hashes = [a["hash"] for a in artifacts if a]
        assert hashes, f"{package['name']} has no hashed artifact"
        assert all(h.startswith("sha256:") for h in hashes), package["name"]


def test_generated_code_comes_from_the_locked_generator() -> None:
    """proto-check compares bytes: generated/ must be what the locked grpcio-tools writes."""
    locked = locked_packages()["grpcio-tools"]["version"]
    grpc_module = (ROOT / "generated" / "media" / "v1" / "media_pb2_grpc.py").read_text()
    stamped = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", grpc_module)
    assert stamped is not None
    assert stamped.group(1) == locked
