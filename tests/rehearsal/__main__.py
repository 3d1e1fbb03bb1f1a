"""`python -m tests.rehearsal [--uploads N]`: the several-node rehearsal (`make rehearsal`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.rehearsal.run import rehearse


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.rehearsal", description=__doc__)
    parser.add_argument("--uploads", type=int, default=200, help="uploads in the kill check")
    parser.add_argument("--watched", type=int, default=6, help="media watched across nodes")
    parser.add_argument("--logs", type=Path, help="keep the nodes' logs in this directory")
    args = parser.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    for line in rehearse(args.uploads, args.watched, args.logs):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
