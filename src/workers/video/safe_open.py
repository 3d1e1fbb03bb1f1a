"""Open untrusted video files without letting FFmpeg follow what is inside them.

FFmpeg's probing picks a demuxer by content, and some demuxers (hls, concat, dash, ...) open the
URLs and paths a file names: an ``.m3u8`` renamed ``.mp4`` that lists ``/etc/passwd`` or an
internal URL would be read. So the container is sniffed here from its first bytes, the file is
opened with that one demuxer forced (nothing is probed), only the ``file`` protocol is allowed,
and the mov demuxer's external data references stay off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
from av.container import InputContainer

from media_grpc.domain.failure_text import describe
from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected

#: ISO BMFF / QuickTime top-level boxes a file may start with.
_MOV_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
#: EBML header magic of Matroska and WebM.
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def sniff_container(path: Path) -> str | None:
    """The FFmpeg demuxer (``mov`` or ``matroska``) the file's first bytes call for, or None."""
    with path.open("rb") as f:
        head = f.read(12)
    if head.startswith(_EBML_MAGIC):
        return "matroska"
    if len(head) >= 8 and head[4:8] in _MOV_BOXES:
        return "mov"
    return None


def container_options(demuxer: str, *, ignore_edits: bool = False) -> dict[str, str]:
    """AVFormatContext options that keep the demuxer on the local file.

    ``ignore_edits``: the mov demuxer reads every sample of its index, also those an edit list
    leaves out (for counting them, not for playing).
    """
    options = {"protocol_whitelist": "file", "format_whitelist": demuxer}
    if demuxer == "mov":
        options["enable_drefs"] = "0"
        options["use_absolute_path"] = "0"
        if ignore_edits:
            options["ignore_editlist"] = "1"
    return options


def open_input(
    path: Path, allowed: tuple[str, ...], *, ignore_edits: bool = False
) -> InputContainer:
    """Open ``path`` with the sniffed demuxer if it is in ``allowed``.

    Raises MediaRejected: UNSUPPORTED_FORMAT when the file is not an allowed container (nothing
    is opened by FFmpeg then), CORRUPT when the allowed demuxer cannot read it.
    """
    demuxer = sniff_container(path)
    if demuxer is None or demuxer not in allowed:
        raise MediaRejected(
            FailureReason.UNSUPPORTED_FORMAT,
            f"not an allowed container ({', '.join(allowed)}): the file starts with neither "
            "an MP4/MOV box nor a Matroska/WebM header",
        )
    try:
        return av.open(
            str(path),
            mode="r",
            format=demuxer,
            container_options=container_options(demuxer, ignore_edits=ignore_edits),
        )
    except av.FFmpegError as e:
        raise MediaRejected(
            FailureReason.CORRUPT, f"the video file cannot be read: {describe(e)}"
        ) from None


@contextmanager
def decoding() -> Iterator[None]:
    """Around decoding an opened input: a decoder error is the file's fault, MediaRejected
    CORRUPT ("the video does not decode: ..."), never retried."""
    try:
        yield
    except av.FFmpegError as e:
        raise MediaRejected(
            FailureReason.CORRUPT, f"the video does not decode: {describe(e)}"
        ) from None
