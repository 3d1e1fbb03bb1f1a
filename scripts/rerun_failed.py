"""After a red suite: run each test that failed again, alone, and say which ones are flaky.

`make test` calls this only when pytest failed, and fails anyway: a test that passes alone is
reported as FLAKY so that the flake is seen the day it appears, never turned green. The failures
come from pytest's own last-failed cache, which `make test` clears before the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAST_FAILED = ROOT / ".pytest_cache" / "v" / "cache" / "lastfailed"
#: More failures than this is no flake: the suite is broken, and reruns would only cost time.
MOST_RERUNS = 10


def failed_tests() -> list[str]:
    if not LAST_FAILED.exists():
        return []
    return sorted(node for node, failed in json.loads(LAST_FAILED.read_text()).items() if failed)


def passes_alone(node: str) -> bool:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    return subprocess.run([*command, node], cwd=ROOT, check=False).returncode == 0


def main() -> int:
    failed = failed_tests()
    if not failed:
        print("rerun-failed: pytest failed, but no test is recorded as failed (see above)")
        return 1
    if len(failed) > MOST_RERUNS:
        print(f"rerun-failed: {len(failed)} tests failed; not rerunning more than {MOST_RERUNS}")
        return 1
    verdicts = {
        node: ("FLAKY: passed alone" if passes_alone(node) else "FAILS alone too")
        for node in failed
    }
    print("\nrerun-failed: each test that failed in the suite, run again alone")
    for node, verdict in verdicts.items():
        print(f"  {verdict:22} {node}")
    print(
        "rerun-failed: the run stays red; a FLAKY test depends on what ran before it or on timing"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
