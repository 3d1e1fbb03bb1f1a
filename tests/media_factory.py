"""Small real media files made in the test (never committed binaries).

Each maker writes one file and returns its path. Content is deterministic: a coloured left
band, a middle and a right band, so crops and rotations can be checked by sampling pixels.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageCms

RED = (220, 30, 30)
GREEN = (30, 200, 60)
BLUE = (40, 60, 220)

#: EXIF tag ids used below (TIFF/EXIF 2.3).
ORIENTATION, MAKE, MODEL, EXIF_IFD, GPS_IFD = 0x0112, 0x010F, 0x0110, 0x8769, 0x8825
DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
#: A GPS position written into test files; its text must never appear in an output.
GPS_LATITUDE = (52.0, 31.0, 12.0)
CAMERA_MAKE, CAMERA_MODEL = "Testcam", "Model T-1000"
TAKEN_AT = "2024:05:01 12:34:56"


def banded(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """``size`` image: left quarter RED, middle GREEN, right quarter BLUE."""
    width, height = size
    image = Image.new("RGB", size, GREEN)
    image.paste(RED, (0, 0, max(1, width // 4), height))
    image.paste(BLUE, (width - max(1, width // 4), 0, width, height))
    return image.convert(mode)


def exif_bytes(*, orientation: int | None = None, gps: bool = False, camera: bool = True) -> bytes:
    """An EXIF block with camera, capture time, optional orientation and GPS position."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if camera:
        exif[MAKE] = CAMERA_MAKE
        exif[MODEL] = CAMERA_MODEL
        exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: TAKEN_AT, OFFSET_TIME_ORIGINAL: "+02:00"}
    if gps:
        exif[GPS_IFD] = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (13.0, 24.0, 0.0)}
    return exif.tobytes()


def srgb_icc() -> bytes:
    """A real sRGB ICC profile (littleCMS' built-in)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def make_jpeg(
    path: Path,
    size: tuple[int, int] = (600, 400),
    *,
    exif_orientation: int | None = None,
    gps: bool = False,
    camera: bool = True,
    icc: bytes | None = None,
    mode: str = "RGB",
) -> Path:
    """A baseline JPEG with EXIF (camera, capture time; orientation and GPS on request)."""
    extra: dict[str, bytes] = {"icc_profile": icc} if icc else {}
    banded(size, mode).save(
        path,
        "JPEG",
        quality=90,
        exif=exif_bytes(orientation=exif_orientation, gps=gps, camera=camera),
        comment=b"secret comment",
        **extra,
    )
    return path


def make_mpo(path: Path, size: tuple[int, int] = (600, 400), *, exif_orientation: int = 6) -> Path:
    """A multi-picture JPEG (MPO, as many phones write): the photo, then a black second image."""
    second = Image.new("RGB", size)
    banded(size).save(
        path,
        "MPO",
        save_all=True,
        append_images=[second],
        exif=exif_bytes(orientation=exif_orientation),
    )
    return path


def make_png(path: Path, size: tuple[int, int] = (300, 200), *, alpha: bool = True) -> Path:
    """A PNG; with ``alpha`` its right quarter is fully transparent."""
    image = banded(size, "RGBA")
    if alpha:
        width, height = size
        image.paste((0, 0, 0, 0), (width - max(1, width // 4), 0, width, height))
    image.save(path, "PNG")
    return path


def make_heic(path: Path, size: tuple[int, int] = (600, 400), *, gps: bool = False) -> Path:
    """A HEIC (HEVC in HEIF, as phones write) through pillow-heif, with EXIF."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    banded(size).save(path, "HEIF", quality=80, exif=exif_bytes(gps=gps))
    return path


def make_avif(
    path: Path,
    size: tuple[int, int] = (600, 400),
    *,
    exif_orientation: int | None = None,
    gps: bool = False,
    alpha: bool = False,
) -> Path:
    """An AVIF through Pillow's own plugin, with EXIF; with ``alpha`` its right quarter is clear.

    Pillow stores the EXIF orientation as the AVIF ``irot``/``imir`` boxes and reports it back
    as EXIF orientation, leaving the pixels as stored.
    """
    image = banded(size, "RGBA" if alpha else "RGB")
    if alpha:
        width, height = size
        image.paste((0, 0, 0, 0), (width - max(1, width // 4), 0, width, height))
    exif = exif_bytes(orientation=exif_orientation, gps=gps)
    image.save(path, "AVIF", quality=80, exif=exif)
    return path


def make_gif(path: Path, size: tuple[int, int] = (120, 80), *, frames: int = 3) -> Path:
    """An animated GIF whose first frame is RED, then GREEN, BLUE, ..."""
    colours = [RED, GREEN, BLUE]
    images = [Image.new("RGB", size, colours[i % 3]).convert("P") for i in range(frames)]
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def make_animated_webp(path: Path, size: tuple[int, int] = (120, 80), *, frames: int = 3) -> Path:
    """An animated WebP whose first frame is RED."""
    colours = [RED, GREEN, BLUE]
    images = [Image.new("RGB", size, colours[i % 3]) for i in range(frames)]
    images[0].save(path, "WEBP", save_all=True, append_images=images[1:], duration=100)
    return path


def make_png_bomb(path: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A complete, valid 1-bit PNG declaring ``width`` x ``height`` pixels of zeros.

    30000x30000 is 900 megapixels (3.4 GB as RGBA) in a file of about 100 KB.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def make_truncated_jpeg(path: Path, size: tuple[int, int] = (400, 300)) -> Path:
    """A JPEG cut in the middle of its entropy-coded data."""
    make_jpeg(path, size, camera=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_svg(path: Path) -> Path:
    """An SVG document (text, with a script): never decoded as an image."""
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        '<script>alert(1)</script><rect width="100" height="100" fill="red"/></svg>\n'
    )
    return path


def make_html(path: Path) -> Path:
    """An HTML page (give it a .jpg name to play a renamed upload)."""
    path.write_text("<!doctype html><html><body><script>alert(1)</script></body></html>\n")
    return path


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk of a PNG, in order."""
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _noisy_png(size: tuple[int, int]) -> bytes:
    """A PNG of random-looking pixels (its IDAT is one chunk of poorly compressible data)."""
    width, height = size
    pixels = bytes(
        (x * 7 + y * 13 + (x * y) % 251) % 256 for y in range(height) for x in range(width)
    )
    image = Image.frombytes("L", size, pixels).convert("RGB")
    from io import BytesIO

    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _png_with_changed_chunk(
    path: Path, size: tuple[int, int], kind: bytes, change: Callable[[bytes], bytes]
) -> Path:
    """A noisy PNG of ``size`` written to ``path``, its ``kind`` chunk written as
    ``change(body)`` returns it (the whole chunk, or what stands in its place)."""
    out = b"\x89PNG\r\n\x1a\n"
    for each, body in _png_chunks(_noisy_png(size)):
        out += change(body) if each == kind else _png_chunk(each, body)
    path.write_bytes(out)
    return path


def make_png_with_flipped_idat(path: Path, size: tuple[int, int] = (300, 200)) -> Path:
    """A PNG with 64 bytes flipped in the middle of its IDAT, CRCs recomputed to match."""

    def flipped(body: bytes) -> bytes:
        middle = len(body) // 2
        inverted = bytes(b ^ 0xFF for b in body[middle : middle + 64])
        return _png_chunk(b"IDAT", body[:middle] + inverted + body[middle + 64 :])

    return _png_with_changed_chunk(path, size, b"IDAT", flipped)


def make_png_with_truncated_end_chunk(path: Path, size: tuple[int, int] = (300, 200)) -> Path:
    """A PNG whose pixels are whole but whose file ends inside a chunk after IDAT."""

    def half_a_text_chunk(_end: bytes) -> bytes:
        text = _png_chunk(b"tEXt", b"Comment\x00" + b"x" * 200)
        return text[: len(text) // 2]

    return _png_with_changed_chunk(path, size, b"IEND", half_a_text_chunk)


def make_png_with_broken_data_stream(path: Path, size: tuple[int, int] = (300, 200)) -> Path:
    """A PNG whose IDAT holds a zlib stream cut short and followed by garbage."""

    def cut_short(body: bytes) -> bytes:
        return _png_chunk(b"IDAT", body[: len(body) // 3] + bytes(range(256)) * 4)

    return _png_with_changed_chunk(path, size, b"IDAT", cut_short)
