"""Bytes that look like the formats the service accepts, made in the test (never committed)."""

from __future__ import annotations

import io
import os

from PIL import Image

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>" + b" " * 200


def image_bytes(format_name: str, size: tuple[int, int] = (8, 8)) -> bytes:
    """A real image encoded by Pillow (JPEG, PNG, GIF, WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format_name)
    return out.getvalue()


def ftyp(major: str, *compatible: str) -> bytes:
    """An ISO-BMFF ``ftyp`` box: what MP4, MOV, HEIC and AVIF files start with."""
    body = major.encode("latin-1") + b"\x00\x00\x02\x00"
    body += b"".join(brand.encode("latin-1") for brand in compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body


def mp4_like(total_bytes: int) -> bytes:
    """``total_bytes`` that sniff as MP4: an ftyp box, then random bytes (fast for 40 MiB)."""
    head = ftyp("isom", "isom", "iso2", "avc1", "mp41")
    return head + os.urandom(total_bytes - len(head))


def jpeg_like(total_bytes: int) -> bytes:
    """``total_bytes`` that sniff as JPEG: a real JPEG's first bytes, then random bytes."""
    head = image_bytes("JPEG")[:64]
    return head + os.urandom(total_bytes - len(head))
