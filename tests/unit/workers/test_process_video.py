from __future__ import annotations

import fcntl
import os
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason, VariantKind
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome
from tests.hls_reader import decode_rendition, master_entries
from tests.video_factory import make_clip
from workers.stage_pool import StagePool
from workers.stage_registry import TimeLimitedStage
from workers.stages import process_video
from workers.time_limit import TimeLimitExceeded


def test_a_two_second_clip_gets_its_record_facts_poster_set_and_ladder(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 640, 360, seconds=2, fps=30)
    result = process_video.run(job, clip, tmp_path / "work", settings)
    assert result.outcome is StageOutcome.SUCCESS
    assert (result.width, result.height, result.duration_ms) == (640, 360, 2000)
    assert result.hls_key == "master.m3u8"
    assert result.metadata["poster_time_ms"] == "200"
    assert result.metadata["video_codec"] == "h264" and result.metadata["has_audio"] == "true"
    kinds = [v.kind for v in result.variants]
    assert kinds == [VariantKind.POSTER] * 2 + [VariantKind.VIDEO] * 3
    keys = {o.key for o in result.objects}
    assert {"poster.webp", "poster_w600.webp", "master.m3u8", "360p/index.m3u8"} <= keys
    assert len(keys) == len(result.objects)
    assert all(o.path.is_relative_to(tmp_path / "work") for o in result.objects)
    hls_dir = tmp_path / "work" / "hls"
    for _, uri in master_entries(hls_dir / "master.m3u8"):
        assert decode_rendition(hls_dir / uri).video_frames == 60


@pytest.fixture(scope="module")
def pool() -> Iterator[StagePool]:
    pool = StagePool(1)
    pool.start(wait=True)
    yield pool
    pool.close()


def limited(pool: StagePool, settings: VideoSettings, seconds: float = 120.0) -> TimeLimitedStage:
    """The video stage as the worker runs it: in a warm pool child, under ``seconds``."""
    return TimeLimitedStage(pool, process_video.run, settings, seconds)


def test_the_time_limited_run_returns_the_same_result_from_a_child_process(
    tmp_path: Path, settings: VideoSettings, job: StageJob, pool: StagePool
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 256, 144, seconds=1)
    result = limited(pool, settings)(job, clip, tmp_path / "work")
    assert [v.name for v in result.variants] == ["poster", "poster_w600", "hls_144p"]
    assert all(o.path.is_file() for o in result.objects)


class StalledSource:
    """A named pipe that yields the start of a real MP4 and then nothing, without closing:
    whoever reads it (FFmpeg, in C) waits forever, like a decode hung on a bad file.

    ``stalled`` is set once the reader has taken every byte written, so it is waiting.
    """

    def __init__(self, path: Path, head: bytes) -> None:
        self.path, self.head = path, head
        self.stalled, self._done = threading.Event(), threading.Event()
        os.mkfifo(path)
        threading.Thread(target=self._write, daemon=True).start()

    def _write(self) -> None:
        with open(self.path, "wb") as pipe:  # blocks until the child opens the pipe
            pipe.write(self.head)
            pipe.flush()
            while not self._done.is_set():
                unread = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
                if int.from_bytes(unread, sys.byteorder) == 0:
                    self.stalled.set()
                    break
                self._done.wait(0.01)
            self._done.wait(120)

    def close(self) -> None:
        self._done.set()


def test_a_hung_job_is_killed_at_its_time_limit_and_leaves_no_outputs(
    tmp_path: Path, settings: VideoSettings, job: StageJob, pool: StagePool
) -> None:
    head = make_clip(tmp_path / "real.mp4", 256, 144, seconds=1).read_bytes()[:1000]
    # The limit must expire after the stall began, or the test proves nothing; on a loaded
    # machine the child may need longer to reach it, so a longer limit is tried then.
    for attempt, seconds in enumerate((1.5, 6.0, 30.0)):
        work = tmp_path / f"work{attempt}"
        (work / "hls" / "360p").mkdir(parents=True)
        (work / "hls" / "360p" / "seg_00001.ts").write_bytes(b"half-written")
        source = StalledSource(tmp_path / f"stalled{attempt}.mp4", head)
        started = time.monotonic()
        try:
            with pytest.raises(TimeLimitExceeded):
                limited(pool, settings, seconds)(job, source.path, work)
        finally:
            source.close()
        if source.stalled.is_set():
            break
    assert source.stalled.is_set(), "the child never reached the stall"
    assert time.monotonic() - started >= seconds
    assert list(work.iterdir()) == []


def test_a_hostile_playlist_is_rejected_through_the_child_with_its_reason(
    tmp_path: Path, settings: VideoSettings, job: StageJob, pool: StagePool
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_text("#EXTM3U\n#EXTINF:6.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    with pytest.raises(MediaRejected) as caught:
        limited(pool, settings)(job, path, tmp_path / "work")
    assert caught.value.reason is FailureReason.UNSUPPORTED_FORMAT


def test_a_rejected_video_leaves_no_outputs(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 640, 360, seconds=2)
    short = settings.model_copy(update={"max_duration_seconds": 1.0})
    with pytest.raises(MediaRejected) as caught:
        process_video.run(job, clip, tmp_path / "work", short)
    assert caught.value.reason is FailureReason.LIMIT_EXCEEDED
    assert not (tmp_path / "work" / "hls").exists()
