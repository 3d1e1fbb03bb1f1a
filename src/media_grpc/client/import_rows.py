"""The import command's input: rows of legacy URLs, from JSON Lines or CSV.

Columns (CSV header or JSON keys): ``url``, ``owner_id``, ``purpose`` (``post_image``,
``post_video``, ``profile_image``), and optionally ``post_id`` and ``position``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from media.v1 import media_pb2 as pb

from media_grpc.client.media_client import ClientError, parse_purpose

REQUIRED = ("url", "owner_id", "purpose")


@dataclass(frozen=True)
class ImportRow:
    #: 1-based line of the input (CSV: counting the header), for messages.
    line: int
    url: str
    owner_id: str
    purpose: pb.Purpose.ValueType
    post_id: str = ""
    position: int = 0


@dataclass(frozen=True)
class BadRow:
    line: int
    url: str
    problem: str


def read_rows(path: Path) -> Iterator[ImportRow | BadRow]:
    """Rows in file order; a row that cannot be imported as written is a BadRow."""
    with path.open(newline="", encoding="utf-8") as file:
        first = file.readline()
        file.seek(0)
        if first.lstrip().startswith("{"):
            for number, text in enumerate(file, start=1):
                if text.strip():
                    yield _parse_json(number, text)
        else:
            for number, fields in enumerate(csv.DictReader(file), start=2):
                yield _parse(number, {k.strip(): (v or "") for k, v in fields.items() if k})


def _parse_json(line: int, text: str) -> ImportRow | BadRow:
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as e:
        return BadRow(line, "", f"not JSON: {e.msg}")
    if not isinstance(fields, dict):
        return BadRow(line, "", "not a JSON object")
    return _parse(line, {str(k): "" if v is None else str(v) for k, v in fields.items()})


def _parse(line: int, fields: dict[str, str]) -> ImportRow | BadRow:
    url = fields.get("url", "").strip()
    missing = [name for name in REQUIRED if not fields.get(name, "").strip()]
    if missing:
        return BadRow(line, url, f"missing {', '.join(missing)}")
    try:
        purpose = parse_purpose(fields["purpose"].strip())
        position = int(fields.get("position", "").strip() or 0)
    except ClientError as e:
        return BadRow(line, url, str(e))
    except ValueError:
        return BadRow(line, url, f"position {fields.get('position')!r} is not a whole number")
    return ImportRow(
        line=line,
        url=url,
        owner_id=fields["owner_id"].strip(),
        purpose=purpose,
        post_id=fields.get("post_id", "").strip(),
        position=position,
    )
