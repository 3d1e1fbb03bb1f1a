"""A video cut short is CORRUPT, even where FFmpeg reads up to the cut without an error.

An MP4 written for streaming (``faststart``) has its index before its media data, and a WebM
written to a file gives its size in its header, so an upload cut off part way still opens,
probes and decodes: the demuxer stops at the cut as at a normal end, and the ladder would be
READY with the rest of the video missing. So, before anything is decoded:

- a Matroska/WebM file whose Segment says it is longer than the file is cut short (a live
  recording, such as a browser's MediaRecorder writes, leaves the size unknown: not checked);
- every packet is read once, without decoding, with the MP4 edit lists ignored (an edit can
  leave samples out of what is demuxed; the index counts all of them): a packet read short, or
  fewer packets than the MP4 index lists, means the file is cut short.

A fragmented MP4 or a live WebM does not say how long it is: a cut at a fragment or cluster
boundary reads as a shorter video.
"""

from __future__ import annotations

from pathlib import Path

from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected
from workers.video.safe_open import decoding, open_input

#: EBML ids (with their length marker bits) of the Matroska header, Segment and Void elements.
_EBML_HEADER_ID = 0x1A45DFA3
_SEGMENT_ID = 0x18538067
_VOID_ID = 0xEC
#: Enough of the file for the EBML header and the Segment's id and size.
_HEAD_BYTES = 4096


def _cut_short(detail: str) -> MediaRejected:
    return MediaRejected(
        FailureReason.CORRUPT,
        f"the file is cut short ({detail}); was the upload interrupted?",
    )


def _vint(data: bytes, at: int, *, marker: bool) -> tuple[int, int, bool] | None:
    """The EBML variable-size integer at ``at``: (value, its length, all value bits set).
    ``marker`` keeps the length bits (as element ids are written). None if unreadable."""
    if at >= len(data) or data[at] == 0:
        return None
    length = 9 - data[at].bit_length()
    if at + length > len(data):
        return None
    raw = int.from_bytes(data[at : at + length], "big")
    bits = (1 << (7 * length)) - 1
    value = raw & bits
    return (raw if marker else value), length, value == bits


def matroska_declared_end(head: bytes) -> int | None:
    """Where the file's Segment ends, in bytes from the start, as its header says; None when
    the file is not Matroska/WebM, the size is unknown (a live recording) or the header cannot
    be read this far."""
    at = 0
    while True:
        element = _vint(head, at, marker=True)
        size = _vint(head, at + element[1], marker=False) if element else None
        if element is None or size is None:
            return None
        data_start = at + element[1] + size[1]
        if element[0] == _SEGMENT_ID:
            return None if size[2] else data_start + size[0]
        before_segment = (_EBML_HEADER_ID, _VOID_ID) if at else (_EBML_HEADER_ID,)
        if element[0] not in before_segment or size[2]:
            return None  # not Matroska (it starts with the EBML header), or unreadable
        at = data_start + size[0]


def _check_declared_size(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    end = matroska_declared_end(head)
    held = path.stat().st_size
    if end is not None and end > held:
        raise _cut_short(f"its header says {end} bytes, the file holds {held}")


def require_every_sample(path: Path, allowed: tuple[str, ...]) -> None:
    """Raise MediaRejected CORRUPT unless the whole file the header describes is there."""
    _check_declared_size(path)  # Matroska only: any other head declares no Segment
    with open_input(path, allowed, ignore_edits=True) as src, decoding():
        read = {stream.index: 0 for stream in src.streams}
        for packet in src.demux():
            if packet.dts is None and packet.size == 0:
                continue  # the end-of-stream marker PyAV yields per stream
            if packet.is_corrupt:
                raise _cut_short(f"its {packet.stream.type} data ends inside a frame")
            read[packet.stream.index] += 1
        for stream in src.streams:
            if stream.frames > read[stream.index]:
                raise _cut_short(
                    f"its index lists {stream.frames} {stream.type} frames, "
                    f"the file holds {read[stream.index]}"
                )
