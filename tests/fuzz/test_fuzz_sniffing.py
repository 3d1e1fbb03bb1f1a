"""Fuzzing the type sniffer and the whole-file check of video containers: any bytes end as a
type (or none), any damaged video as a pass or MediaRejected, never another exception."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media_grpc.config.video import VideoSettings
from media_grpc.domain.sniffing import SNIFF_BYTES, describe, sniff
from media_grpc.domain.stage import MediaRejected
from tests.fuzz.budget import fuzz
from tests.video_factory import make_clip
from workers.video.whole_file import matroska_declared_end, require_every_sample

KNOWN = {
    None,
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/heic",
    "image/heif",
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-matroska",
}
ALLOWED = VideoSettings().allowed_containers
MAGICS = [
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\0\0\0\0WEBP",
    b"\0\0\0\x18ftyp",
    b"\xff\xff\xff\xffftypheic",
    b"\0\0\0\x08moov",
    b"\x1a\x45\xdf\xa3",
]


def ebml_vint(value: int) -> bytes:
    """``value`` as an EBML size of the shortest length."""
    for length in range(1, 9):
        if value < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | value).to_bytes(length, "big")
    raise ValueError(value)


@st.composite
def ebml_heads(draw: st.DrawFn) -> bytes:
    """An EBML header with a DocType and other elements, then a Segment of some size, with
    the sizes sometimes lying."""
    doctype = draw(st.sampled_from([b"webm", b"matroska", b"mkv", b"", b"webm\0\0"]))
    elements = b"\x42\x82" + ebml_vint(len(doctype)) + doctype
    elements += draw(st.binary(max_size=20))
    header_size = draw(st.integers(0, len(elements) + 8) | st.just(len(elements)))
    segment_size = draw(st.integers(0, 2**40))
    head = b"\x1a\x45\xdf\xa3" + ebml_vint(header_size) + elements
    head += b"\x18\x53\x80\x67" + ebml_vint(segment_size)
    return head + draw(st.binary(max_size=40))


heads = (
    st.binary(max_size=200)
    | st.builds(lambda magic, tail: magic + tail, st.sampled_from(MAGICS), st.binary(max_size=200))
    | ebml_heads()
)


@fuzz()
@given(heads)
def test_any_head_sniffs_as_a_known_type_or_none(head: bytes) -> None:
    assert sniff(head) in KNOWN
    assert sniff(head[:SNIFF_BYTES]) == sniff(head)
    assert isinstance(describe(head), str)


@fuzz()
@given(heads)
def test_any_head_has_a_declared_matroska_end_or_none(head: bytes) -> None:
    end = matroska_declared_end(head)
    assert end is None or end >= 0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[bytes]]:
    folder = tmp_path_factory.mktemp("fuzz-clips")
    mp4 = make_clip(folder / "a.mp4", 64, 36, 0.5, fps=10)
    webm = make_clip(
        folder / "a.webm", 64, 36, 0.5, fps=10, codec="libvpx-vp9", container="webm", audio=False
    )
    yield [mp4.read_bytes(), webm.read_bytes()]


@st.composite
def damaged(draw: st.DrawFn, clips: list[bytes]) -> bytes:
    """A clip cut somewhere, with some bytes overwritten."""
    data = bytearray(draw(st.sampled_from(clips)))
    cut = draw(st.integers(1, len(data)))
    del data[cut:]
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


@fuzz(0.3)
@given(data=st.data())
def test_a_damaged_video_passes_or_is_rejected_never_crashes(
    clips: list[bytes], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    video = data.draw(damaged(clips))
    path: Path = tmp_path_factory.mktemp("damaged") / "v"
    path.write_bytes(video)
    try:
        require_every_sample(path, ALLOWED)
    except MediaRejected as e:
        assert e.message
