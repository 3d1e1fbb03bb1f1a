"""What a user reads of a failure: the input and the limit in force, never our internals.

A FAILED media's message is shown to the uploader. It may say what was wrong with the file
("Invalid data found when processing input") and which limit it broke, but never a path
(the worker's temporary files), a host, a URL or an exception dump: those go to the log,
with the job id. ``describe`` turns a decoder's exception into such a text, ``scrub`` is the
last filter before a message is recorded.
"""

from __future__ import annotations

import re

#: Longest failure text kept, in characters.
MAX_CHARS = 300

#: ``scheme://anything`` (endpoint URLs, presigned links), quoted or not, with its ": ".
_URL = re.compile(r"""(?::\s*)?(['"]?)\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"]*\1""")
#: An absolute path, quoted or not, with the ": " that introduces it.
_PATH = re.compile(r"""(?::\s*)?(['"]?)(?<![\w.])/[^\s'"]*\1""")
#: A worker's temporary directory named without its root.
_TEMP = re.compile(r"\S*media-job-\S*")
#: ``[Errno 1094995529] `` prefixes of FFmpeg and OS errors.
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def scrub(text: str) -> str:
    """``text`` without URLs, absolute paths, temporary names or errno prefixes, cut short."""
    for pattern in (_URL, _TEMP, _PATH, _ERRNO):
        text = pattern.sub("", text)
    text = re.sub(r"\s+", " ", text).strip(" :;,")
    return text[:MAX_CHARS]


def describe(error: BaseException) -> str:
    """A decoder's complaint about the input, without the file names it mentions."""
    strerror = getattr(error, "strerror", None)  # av.FFmpegError, OSError: the text alone
    text = strerror if isinstance(strerror, str) and strerror else str(error)
    return scrub(text) or type(error).__name__
