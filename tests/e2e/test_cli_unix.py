"""`media-grpc` as a well-made Unix tool: quiet in a pipe, no traceback on a closed pipe, logs
above the progress bar in a terminal, the real type checked before any byte is sent, a refusal
for good leaving no resume state, sizes people read, a malformed token named as such, and the
reason of each FAILED media in `ls`. The servers store on the strict S3."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests.e2e.conftest import (
    CLI,
    ServedProcess,
    embedded_env,
    serving_on_strict_s3,
    upload_single,
)
from tests.upload_sessions import put_upload

MiB = 1024 * 1024
#: The ISO BMFF head of a HEIF still image (major brand mif1, no HEIC brand): image/heif.
HEIF_HEAD = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """`make run`'s server (SQLite, in-process worker) storing on the strict S3, on free ports."""
    with serving_on_strict_s3(embedded_env(tmp_path_factory.mktemp("served"))) as served:
        yield served


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """Post images of at most 1 MiB, HEIC and JPEG only (not HEIF); on the strict S3 too."""
    env = embedded_env(tmp_path_factory.mktemp("strict"))
    env["MEDIA_UPLOADS__POST_IMAGE__ALLOWED_TYPES"] = '["image/heic", "image/jpeg"]'
    env["MEDIA_UPLOADS__POST_IMAGE__MAX_BYTES"] = str(MiB)
    with serving_on_strict_s3(env) as served:
        yield served


def user_env(served: ServedProcess, user: str) -> dict[str, str]:
    token = served.cli("token", "--user", user).strip()
    return {**served.env, "MEDIA_TOKEN": token, "MEDIA_ADDRESS": served.address}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with stdout and stderr pipes (no terminal), as a script runs it."""
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def jpeg(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    Image.new("RGB", size, "teal").save(path, "JPEG")
    return path


def noisy_png(path: Path, width: int, height: int) -> Path:
    """A PNG of random pixels: incompressible, about width * height * 3 bytes."""
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        path, compress_level=1
    )
    return path


def media_of(served: ServedProcess, env: dict[str, str]) -> list[dict[str, object]]:
    listed = run(env, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_upload_in_a_pipe_prints_only_the_result_and_no_progress_or_log_lines(
    server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(server, unique_user)
    done = run(env, "upload", str(jpeg(tmp_path / "photo.jpg")), "--purpose", "post_image")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert re.fullmatch(r"media \S+: READY\n(  \S+: http\S+\n)+", done.stdout), done.stdout


@pytest.mark.parametrize("command", ["ls", "get"])
def test_a_reader_that_goes_away_ends_the_command_quietly_as_sigpipe_would(
    server: ServedProcess, tmp_path: Path, unique_user: str, command: str
) -> None:
    env = user_env(server, unique_user)
    with grpc.insecure_channel(server.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        metadata = [("authorization", f"Bearer {env['MEDIA_TOKEN']}")]
        data = jpeg(tmp_path / "photo.jpg").read_bytes()
        media_id = upload_single(stub, metadata, data, content_type="image/jpeg")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes its first byte
    args = [CLI, command] + ([media_id] if command == "get" else [])
    done = subprocess.run(args, env=env, stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    assert done.stderr == ""  # no BrokenPipeError, no "Exception ignored"
    assert done.returncode == 141  # 128 + SIGPIPE, what `cat` shows in the same place


def test_ls_piped_into_head_prints_the_first_line_and_nothing_on_stderr(
    server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(server, unique_user)
    for n in range(3):
        done = run(env, "upload", str(jpeg(tmp_path / f"p{n}.jpg")), "--purpose", "post_image")
        assert done.returncode == 0, done.stderr
    piped = subprocess.run(
        ["bash", "-c", f"{CLI} ls | head -1"], env=env, capture_output=True, text=True
    )
    assert piped.stderr == ""
    assert len(piped.stdout.splitlines()) == 1 and "p2.jpg" in piped.stdout


def test_in_a_terminal_each_log_line_is_written_above_the_progress_bar(
    server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(server, unique_user)
    image = noisy_png(tmp_path / "big.png", 2000, 1700)  # about 10 MiB: two parts
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 100 columns
    process = subprocess.Popen(
        [CLI, "--log-level", "INFO", "upload", str(image), "--purpose", "post_image", "--no-wait"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    written: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(controller, written), daemon=True)
    reader.start()
    process.wait(timeout=120)
    reader.join(timeout=10)
    shown = b"".join(written).decode("utf-8", "replace")
    assert process.returncode == 0, shown
    sent = list(re.finditer(r"part \d+/\d+ sent", shown))
    assert len(sent) == 2, shown
    assert "%|" in shown  # the bar was drawn on the terminal
    for match in sent:
        line_start = shown[: match.start()].rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
        assert "%|" not in line_start, f"a log line was written onto the bar: {line_start!r}"


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        into.append(chunk)
    os.close(fd)


def test_a_declared_type_the_bytes_contradict_is_refused_before_a_session_is_made(
    server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(server, unique_user)
    photo = jpeg(tmp_path / "photo.jpg")
    done = run(env, "upload", str(photo), "--purpose", "post_image", "--content-type", "image/png")
    assert done.returncode == 1
    assert done.stderr == (
        "media-grpc: photo.jpg is image/jpeg, not image/png: declare it as image/jpeg "
        "(or leave --content-type out); nothing was sent\n"
    )
    notes = tmp_path / "notes.jpg"
    notes.write_text("shopping list: milk, bread\n")
    done = run(env, "upload", str(notes), "--purpose", "post_image")
    assert done.returncode == 1
    assert "notes.jpg is not an image or video the service takes" in done.stderr
    assert "nothing was sent" in done.stderr
    assert media_of(server, env) == []  # no session was created, so no byte could go
    assert not list(tmp_path.glob("*.upload-state.json"))


def test_a_refusal_for_good_removes_the_resume_state_and_a_rerun_does_not_claim_to_resume(
    strict_server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(strict_server, unique_user)
    still = tmp_path / "still.heic"
    still.write_bytes(HEIF_HEAD + os.urandom(4096))  # HEIF, which this server does not take
    args = ["--log-level", "INFO", "upload", str(still), "--purpose", "post_image"]
    args += ["--content-type", "image/heic"]
    first = run(env, *args)
    assert first.returncode == 1
    assert "FAILED_PRECONDITION" in first.stderr and "image/heif" in first.stderr
    assert not (tmp_path / "still.heic.upload-state.json").exists()
    again = run(env, *args)
    assert again.returncode == 1
    assert "resuming" not in again.stderr
    assert [m["status"] for m in media_of(strict_server, env)] == ["STATUS_FAILED"] * 2


def test_an_oversized_file_is_refused_with_human_sizes_and_exact_bytes(
    strict_server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(strict_server, unique_user)
    big = tmp_path / "big.jpg"
    big.write_bytes(jpeg(tmp_path / "small.jpg").read_bytes() + b"\0" * (MiB + MiB // 2))
    size = big.stat().st_size
    done = run(env, "upload", str(big), "--purpose", "post_image")
    assert done.returncode == 1
    shown = f"{size / MiB:.1f} MiB ({size} bytes)"
    assert f"size_bytes {shown} is over the 1 MiB (1048576 bytes) limit" in done.stderr


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("not-a-token", "the bearer token is not a JWT: it has 1 dot-separated part"),
        ("_w.e30.c2ln", "the bearer token's header is not JSON once base64url-decoded"),
        ("eyJhbGciOiJIUzI1NiJ9.@@.c2ln", "the bearer token's payload is not base64url"),
    ],
)
def test_a_malformed_token_is_told_what_is_wrong_with_it_by_the_cli_and_the_server(
    server: ServedProcess, token: str, said: str
) -> None:
    done = run({**server.env, "MEDIA_ADDRESS": server.address}, "ls", "--token", token)
    assert done.returncode == 1
    assert done.stderr.startswith(f"media-grpc: {said}"), done.stderr
    assert "codec" not in done.stderr and "padding" not in done.stderr
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as refused:
        media_pb2_grpc.MediaServiceStub(channel).ListMedia(
            pb.ListMediaRequest(), metadata=[("authorization", f"Bearer {token}")]
        )
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert str(refused.value.details()).startswith(said)


def test_ls_of_failed_media_shows_each_reason(
    server: ServedProcess, tmp_path: Path, unique_user: str
) -> None:
    env = user_env(server, unique_user)
    data = jpeg(tmp_path / "photo.jpg").read_bytes()
    metadata = [("authorization", f"Bearer {env['MEDIA_TOKEN']}")]
    with grpc.insecure_channel(server.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        session = put_upload(stub, metadata, data, file_name="photo.png")
        with pytest.raises(grpc.RpcError):
            stub.CompleteUpload(
                pb.CompleteUploadRequest(media_id=session.media_id), metadata=metadata
            )
    listed = run(env, "ls", "--status", "failed")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.startswith(session.media_id)
    assert line.endswith("(TYPE_MISMATCH: declared image/png, but the bytes are image/jpeg)")
