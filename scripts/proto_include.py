"""Print the include directory holding google/api/annotations.proto (googleapis-common-protos).

`make proto`, `scripts/check_generated.py` and `make buf-lint` read the annotation protos from
the installed package instead of a copy kept in this repository.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def googleapis_include() -> Path:
    spec = importlib.util.find_spec("google.api.annotations_pb2")
    if spec is None or spec.origin is None:
        raise SystemExit("googleapis-common-protos is not installed: run `make install`")
    root = Path(spec.origin).resolve().parents[2]
    if not (root / "google" / "api" / "annotations.proto").is_file():
        raise SystemExit(f"{root} has no google/api/annotations.proto")
    return root


if __name__ == "__main__":
    print(googleapis_include())
