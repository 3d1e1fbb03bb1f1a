"""Multipart planning: how a file is cut into parts S3 accepts."""

from __future__ import annotations

from media_grpc.domain.model import MultipartSession

MiB = 1024 * 1024
#: Smallest part S3 accepts, except for the last one.
MIN_PART_SIZE = 5 * MiB
#: Most parts one multipart upload may have.
MAX_PARTS = 10_000
#: Largest object S3 stores.
MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB


def plan_parts(size: int, preferred_part_size: int) -> tuple[int, int]:
    """(part_size, part_count) for a file of ``size`` bytes.

    The part size is the preferred one, raised (to a whole MiB) when the file would need more
    than 10,000 parts, and never under 5 MiB.
    """
    if not 0 < size <= MAX_OBJECT_SIZE:
        raise ValueError(f"{size} bytes do not fit in one object (1 byte to 5 TiB)")
    part_size = max(preferred_part_size, MIN_PART_SIZE)
    if -(-size // part_size) > MAX_PARTS:
        part_size = -(-size // MAX_PARTS)
        part_size = -(-part_size // MiB) * MiB
    return part_size, -(-size // part_size)


def expected_part_size(session: MultipartSession, part_number: int, total_size: int) -> int:
    """Bytes part ``part_number`` (1-based) must hold: ``part_size`` for all but the last."""
    if part_number < session.part_count:
        return session.part_size
    return total_size - session.part_size * (session.part_count - 1)


def format_numbers(numbers: list[int], limit: int = 20) -> str:
    """``1, 2, 5`` or ``1, 2, 5, ... (40 in all)`` for messages."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f", ... ({len(numbers)} in all)" if len(numbers) > limit else "")
