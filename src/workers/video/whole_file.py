"""A video cut short is CORRUPT, even where FFmpeg reads up to the cut without an error.

An MP4 written for streaming (``faststart``) has its index before its media data, so an upload
cut off part way still opens, probes and decodes: the demuxer stops at the cut as at a normal
end, and the ladder would be READY with the rest of the video missing. So every packet is read
once, without decoding, with the edit lists ignored (an edit can leave samples out of what is
demuxed; the index counts all of them). A packet read short, or fewer packets than the index
lists, means the file is cut short.

Matroska/WebM and fragmented MP4 do not count their samples up front: for them only a packet
read short is caught, and a cut at a cluster or fragment boundary reads as a shorter video.
"""

from __future__ import annotations

from pathlib import Path

from media_grpc.domain.model import FailureReason
from workers.stage import MediaRejected
from workers.video.safe_open import decoding, open_input


def _cut_short(detail: str) -> MediaRejected:
    return MediaRejected(
        FailureReason.CORRUPT,
        f"the file is cut short ({detail}); was the upload interrupted?",
    )


def require_every_sample(path: Path, allowed: tuple[str, ...]) -> None:
    """Raise MediaRejected CORRUPT unless every sample the file's index lists is in the file."""
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
