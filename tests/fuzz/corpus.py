"""Inputs that crashed (or got past) the parsers and policies, kept as regression tests.

Each came from a security review or a fuzz run; the fuzz targets run them on every test run
before any generated input. Add what a fuzz run finds here, with where it came from.
"""

from __future__ import annotations

#: Import URLs: review round three (UnicodeError, ValueError -> INTERNAL, stuck FETCHING), and
#: port tricks.
URLS = [
    "http://localhost..:18091/",
    "http://[localhost]:18091/",
    "http://[::1/",
    "http://x:99999/",
    "http://x:-1/",
    "http://x:0/",
    "http://%41:80/",
    "http://bücher.example/",
    "http://" + "a" * 64 + ".example/",
    "http://a b/",
    "http:///x",
    "https://legacy.utfs.io@169.254.169.254/latest",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http:\\\\legacy.utfs.io\\a",
    "http://legacy.utfs.io:443\x00/",
]

#: Addresses a host resolved to: review round three (NAT64, 6to4 passed ``is_global``).
ADDRESSES = [
    "64:ff9b::a00:5",
    "64:ff9b:1::a00:5",
    "2002:a00:5::1",
    "2001:0:4136:e378:8000:63bf:f5ff:fffa",
    "::a00:5",
    "::ffff:169.254.169.254",
    "fe80::1%eth0",
    "not-an-address",
    "",
]

#: Allowlist entries.
ALLOW_ENTRIES = ["[::1", "[::1]:", "host:", ":80", ".:80", "[]:80", "a:b:c", "x" * 300]

#: Page tokens: review round two (100k nested brackets gave INTERNAL through RecursionError).
PAGE_TOKENS = [
    "[" * 100_000,
    "W1tbW1tbW1tb.AAAA",
    ".",
    "..",
    "é.é",
    "AAAA.AAAA",
    "=" * 10,
]

#: JWT claims with the right signature: review round one (``role: 123`` and ``role: true``
#: crashed the interceptor with UNKNOWN).
CLAIMS = [
    {"role": 123},
    {"role": True},
    {"role": [1, "x"]},
    {"role": {"a": 1}},
    {"sub": 123},
    {"sub": ""},
    {"sub": "a/../b"},
    {"sub": "x" * 1000},
    {"exp": "tomorrow"},
    {"exp": 10**30},
    {"iat": "yesterday"},
    {"iat": 10**30},
    {"iat": None},
    {"aud": ["media-grpc", 1]},
    {"aud": {"a": 1}},
    {"iss": 5},
    {"nbf": "now"},
]
