"""`media-grpc import FILE`: bring legacy URLs home, with a map of old URL to new media."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from media_grpc.client import ClientError
from media_grpc.client.import_rows import read_rows
from media_grpc.client.importer import ImportCounts, Importer, default_map_path
from media_grpc.client_options import add_client_options, connect, fail
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "import", run)
    parser.add_argument("file", type=Path)
    parser.add_argument("--map", type=Path, help="where to write the map (FILE.map.jsonl)")
    parser.add_argument("--concurrency", type=int, default=4, help="rows in flight at once (4)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check every row and URL against the server's import policy; fetch nothing",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="stop at UPLOADED instead of waiting for READY"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per row (900)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_client_options(parser)


def run(args: argparse.Namespace) -> int:
    """import media from legacy URLs (JSON Lines or CSV), writing a map old -> new

    Reads rows of url, owner_id, purpose (post_image, post_video, profile_image) and optionally
    post_id and position, from JSON Lines or CSV with a header. The server fetches each URL
    (hosts on MEDIA_IMPORT__ALLOWED_HOSTS only), stores and processes it. Needs a service token.
    Running the same file again imports nothing twice; an interrupted run resumes. The map
    (FILE.map.jsonl by default) gets one JSON line per row: url, media_id, status and public
    URLs, or reason when it failed."""
    if not args.file.is_file():
        return fail(f"{args.file}: no such file")
    map_path = args.map or default_map_path(args.file)
    total = sum(1 for _ in read_rows(args.file))
    bar = None if args.no_progress else tqdm(total=total, unit="file", file=sys.stderr)

    def progress(entry: dict[str, Any], counts: ImportCounts) -> None:
        if bar is not None:
            bar.set_postfix(
                imported=counts.imported,
                failed=counts.failed,
                size=tqdm.format_sizeof(counts.bytes, "B", 1024),
                refresh=False,
            )
            bar.update(1)

    try:
        with connect(args) as client, map_path.open("w", encoding="utf-8") as map_file:
            importer = Importer(
                client,
                concurrency=args.concurrency,
                wait=not args.no_wait,
                wait_timeout=args.timeout,
                validate_only=args.dry_run,
            )
            counts = importer.run(read_rows(args.file), map_file, progress)
    except ClientError as e:
        return fail(str(e))
    finally:
        if bar is not None:
            bar.close()
    verb = "valid" if args.dry_run else "imported"
    print(f"{counts.imported} {verb}, {counts.failed} failed; map: {map_path}")
    return 0 if counts.failed == 0 else 1
