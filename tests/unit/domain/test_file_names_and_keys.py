"""File names are metadata; keys are built from owner, time and id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from media_grpc.domain import keys
from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.file_names import sanitize_file_name
from media_grpc.domain.model import Purpose

NOW = datetime(2026, 11, 25, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\pic.png", "pic.png"),
        ("bad\x00name\x1b[31m.gif", "badname[31m.gif"),
        ("..hidden", "hidden"),
        ("", "upload"),
        ("/", "upload"),
    ],
)
def test_file_names_are_reduced_to_a_clean_last_component(raw: str, clean: str) -> None:
    assert sanitize_file_name(raw) == clean


def test_long_file_names_keep_their_extension() -> None:
    name = sanitize_file_name("x" * 500 + ".jpeg")
    assert len(name) == 255
    assert name.endswith(".jpeg")


def test_absurdly_long_file_names_are_rejected() -> None:
    with pytest.raises(InvalidArgument):
        sanitize_file_name("y" * 10_000)


def test_post_and_profile_keys_follow_the_design() -> None:
    assert keys.original_key(Purpose.POST_IMAGE, "u1", "id1", "image/jpeg", NOW) == (
        "uploads/posts/u1/20261125T101500Z-id1.jpg"
    )
    assert keys.original_key(Purpose.PROFILE_IMAGE, "u1", "id1", "image/png", NOW) == (
        "uploads/profiles/u1/20261125T101500Z-id1.png"
    )


def test_owner_ids_cannot_escape_their_folder() -> None:
    key = keys.original_key(Purpose.POST_VIDEO, "../admin", "id1", "video/mp4", NOW)
    assert key.startswith("uploads/posts/.._admin/")
    assert key.count("/") == 3


def test_output_prefixes_split_images_and_videos() -> None:
    assert keys.output_prefix("posts/u/k.jpg", video=False) == "variants/posts/u/k/"
    assert keys.output_prefix("posts/u/k.mp4", video=True) == "transcoded/posts/u/k/"


def test_output_prefixes_leave_out_the_private_prefix_of_the_original() -> None:
    assert keys.output_prefix("uploads/posts/u/k.jpg", video=False) == "variants/posts/u/k/"
    assert keys.output_prefix("originals/posts/u/k.mp4", video=True) == "transcoded/posts/u/k/"
    assert keys.output_prefix("uploads/profiles/u/k.png", video=False) == ("variants/profiles/u/k/")
