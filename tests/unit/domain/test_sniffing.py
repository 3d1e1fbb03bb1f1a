"""The real type of an upload from its first bytes: real files made by Pillow and PyAV, and
hand-made ftyp boxes for the brands an encoder here cannot produce."""

from __future__ import annotations

import io

import av
import pillow_heif
import pytest
from PIL import Image

from media_grpc.domain.sniffing import same_format, sniff
from tests.samples import HTML, ftyp, image_bytes


def video_bytes(container: str, codec: str) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as output:
        stream = output.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"  # type: ignore[union-attr]
        for _ in range(2):
            frame = av.VideoFrame.from_image(Image.new("RGB", (32, 32)))
            for packet in stream.encode(frame):  # type: ignore[union-attr]
                output.mux(packet)
        for packet in stream.encode():  # type: ignore[union-attr]
            output.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize(
    ("format_name", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_images_encoded_by_pillow_sniff_as_their_format(format_name: str, mime: str) -> None:
    assert sniff(image_bytes(format_name)) == mime


def test_heic_encoded_by_pillow_heif_sniffs_as_heic() -> None:
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (8, 8))).save(out, format="HEIF")
    assert sniff(out.getvalue()) == "image/heic"


@pytest.mark.parametrize(
    ("container", "codec", "mime"),
    [
        ("mp4", "libx264", "video/mp4"),
        ("mov", "libx264", "video/quicktime"),
        ("webm", "libvpx", "video/webm"),
        ("matroska", "libx264", "video/x-matroska"),
    ],
)
def test_videos_muxed_by_pyav_sniff_as_their_container(
    container: str, codec: str, mime: str
) -> None:
    assert sniff(video_bytes(container, codec)) == mime


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (ftyp("avif", "avif", "mif1", "miaf"), "image/avif"),
        (ftyp("avis", "avis", "msf1"), "image/avif"),
        (ftyp("mif1", "mif1", "avif"), "image/avif"),
        (ftyp("heix", "mif1", "heix"), "image/heic"),
        (ftyp("mif1", "mif1", "heic"), "image/heic"),
        (ftyp("msf1", "msf1", "hevc"), "image/heic"),
        (ftyp("mif1", "mif1", "miaf"), "image/heif"),
        (ftyp("qt  ", "qt  "), "video/quicktime"),
        (ftyp("mp42", "mp42", "isom"), "video/mp4"),
        (ftyp("dash", "iso6"), "video/mp4"),
        (ftyp("XYZW", "avc1"), "video/mp4"),
        (b"\x00\x00\x00\x08wide\x00\x00\x10\x00mdat", "video/quicktime"),
    ],
)
def test_iso_bmff_brands_decide_the_type(head: bytes, mime: str) -> None:
    assert sniff(head + b"\x00" * 64) == mime


@pytest.mark.parametrize(
    "head",
    [
        HTML,
        b"",
        b"GIF8",
        b"%PDF-1.7\n",
        ftyp("M4A ", "M4A "),
        ftyp("3gp5", "3gp5"),
        b"\x00\x00\x00\x04ftypisom",
        b"\x1a\x45\xdf\xa3\x84\x42\x82\x81x",
        b"\x1a\x45\xdf\xa3\xff",
    ],
)
def test_unknown_or_truncated_bytes_sniff_as_nothing(head: bytes) -> None:
    assert sniff(head) is None


@pytest.mark.parametrize(
    ("declared", "sniffed", "agree"),
    [
        ("image/jpeg", "image/jpeg", True),
        ("image/jpeg", "image/png", False),
        ("image/heif", "image/heic", True),
        ("image/heic", "image/avif", False),
        ("video/mp4", "video/quicktime", True),
        ("video/x-matroska", "video/webm", True),
        ("video/webm", "video/mp4", False),
    ],
)
def test_declared_and_sniffed_types_agree_within_one_format(
    declared: str, sniffed: str, agree: bool
) -> None:
    assert same_format(declared, sniffed) is agree
