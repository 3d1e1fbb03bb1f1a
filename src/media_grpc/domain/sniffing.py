"""The real type of an upload, from its first bytes (magic numbers), never from its name.

A small table written by hand rather than the ``filetype`` package: filetype 1.2 misses HEIC
brands other than ``heic`` (``heix``, ``hevc``, ``heim``, ...), the AVIF sequence brand ``avis``,
MP4 files whose brands are ``avc1``/``iso2``..``iso6``/``dash``, QuickTime files without an
``ftyp`` box, and reads the EBML DocType only when its size is coded on one byte.
"""

from __future__ import annotations

#: How many leading bytes sniffing needs at most (the ftyp box and the EBML header fit).
SNIFF_BYTES = 64 * 1024

_AVIF_BRANDS = frozenset({"avif", "avis"})
_HEIC_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"})
_HEIF_BRANDS = frozenset({"mif1", "msf1", "miaf", "mif2"})
_MP4_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso8", "iso9", "mp41", "mp42", "mp71"}
    | {"avc1", "dash", "M4V ", "M4VH", "M4VP", "MSNV", "f4v ", "mmp4"}
)
#: Top-level atoms an old QuickTime file may start with, before ftyp existed.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"pnot"})
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE_ID = 0x4282

#: Types that are one format for the purpose of "does it agree with the declared type":
#: HEIF is the container of HEIC, WebM a profile of Matroska, MP4 and MOV the same ISO box
#: structure (phones label one as the other).
_SAME_FORMAT = {
    "image/heif": "image/heic",
    "video/x-matroska": "video/webm",
    "video/quicktime": "video/mp4",
}


def sniff(head: bytes) -> str | None:
    """The MIME type the bytes really are, or None when they are no format we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    if head[4:8] in _QUICKTIME_ATOMS:
        return "video/quicktime"
    if head.startswith(_EBML_MAGIC):
        return _sniff_ebml(head)
    return None


def same_format(declared: str, sniffed: str) -> bool:
    """True when the sniffed type agrees with the declared one (see ``_SAME_FORMAT``)."""
    return _SAME_FORMAT.get(declared, declared) == _SAME_FORMAT.get(sniffed, sniffed)


def describe(head: bytes) -> str:
    """The first bytes, printable, for an error message."""
    return repr(head[:16])


def _sniff_iso_bmff(head: bytes) -> str | None:
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16:
        return None
    end = min(box_size, len(head))
    major = head[8:12].decode("latin-1")
    compatible = {head[i : i + 4].decode("latin-1") for i in range(16, end - 3, 4)}
    if major in _AVIF_BRANDS:
        return "image/avif"
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _HEIF_BRANDS:
        if compatible & _AVIF_BRANDS:
            return "image/avif"
        if compatible & _HEIC_BRANDS:
            return "image/heic"
        return "image/heif"
    if major == "qt  ":
        return "video/quicktime"
    if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
        return "video/mp4"
    return None


def _sniff_ebml(head: bytes) -> str | None:
    """Read the EBML header's DocType: ``webm`` or ``matroska``."""
    pos = len(_EBML_MAGIC)
    header_size, pos = _vint(head, pos, keep_marker=False)
    if header_size is None:
        return None
    end = min(len(head), pos + header_size)
    while pos < end:
        element_id, pos = _vint(head, pos, keep_marker=True)
        size, pos = _vint(head, pos, keep_marker=False)
        if element_id is None or size is None:
            return None
        if element_id == _EBML_DOCTYPE_ID:
            doctype = head[pos : pos + size].rstrip(b"\x00")
            return {b"webm": "video/webm", b"matroska": "video/x-matroska"}.get(doctype)
        pos += size
    return None


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int | None, int]:
    """An EBML variable-length integer at ``pos``: (value, position after it)."""
    if pos >= len(data) or data[pos] == 0:
        return None, pos
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None, pos
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length
