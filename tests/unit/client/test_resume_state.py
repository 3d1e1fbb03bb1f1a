"""The resume file next to an upload."""

from __future__ import annotations

from pathlib import Path

from media_grpc.client.resume import StateFile, UploadState, state_path
from media_grpc.client.upload import guess_content_type


def state_for(path: Path) -> UploadState:
    stat = path.stat()
    return UploadState(
        address="127.0.0.1:50051",
        media_id="m-1",
        size_bytes=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        purpose="PURPOSE_POST_IMAGE",
        part_size=5,
        part_count=2,
        upload_id="u-1",
    )


def test_state_lives_next_to_the_file_and_survives_a_reload(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"0123456789")
    states = StateFile(state_path(video))
    state = state_for(video)
    states.save(state)

    states.part_done(state, 2, '"e2"')

    assert state_path(video).name == "clip.mp4.upload-state.json"
    loaded = states.load()
    assert loaded is not None and loaded.parts == {"2": '"e2"'}
    assert loaded.matches("127.0.0.1:50051", video, "PURPOSE_POST_IMAGE")


def test_state_of_a_changed_file_or_another_server_does_not_match(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"0123456789")
    state = state_for(video)
    assert not state.matches("other:50051", video, "PURPOSE_POST_IMAGE")
    assert not state.matches("127.0.0.1:50051", video, "PURPOSE_POST_VIDEO")
    video.write_bytes(b"01234567890")
    assert not state.matches("127.0.0.1:50051", video, "PURPOSE_POST_IMAGE")


def test_unreadable_state_is_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "x.png.upload-state.json"
    broken.write_text("{not json")
    assert StateFile(broken).load() is None
    assert StateFile(tmp_path / "absent.json").load() is None


def test_content_type_is_guessed_from_the_name() -> None:
    assert guess_content_type(Path("a.HEIC")) == "image/heic"
    assert guess_content_type(Path("a.mp4")) == "video/mp4"
    assert guess_content_type(Path("a.unknown-ext")) == "application/octet-stream"
