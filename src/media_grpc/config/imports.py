"""Settings of imports from legacy URLs (MEDIA_IMPORT__*): which hosts, which schemes, limits."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from media_grpc.domain.import_policy import allow_entry


class ImportSettings(BaseModel):
    #: Hosts the server may fetch from: exact names (``cdn.example.com``) or suffixes starting
    #: with a dot (``.utfs.io`` matches ``x.utfs.io`` and ``utfs.io``). Empty: import is off.
    #: An entry allows the scheme's default port (443, or 80 for http) unless it names its own
    #: (``cdn.example.com:8443``, ``[2001:db8::1]:8443``): other ports of an allowed host stay
    #: closed.
    #: A host listed exactly is fetched even where it resolves to a private or loopback address
    #: (a host inside your network, or tests); every other host must resolve to public addresses.
    allowed_hosts: list[str] = Field(default_factory=list)
    #: Allow plain ``http://`` URLs (https only by default).
    allow_http: bool = False
    #: Redirects followed at most; every hop is checked like the first URL.
    max_redirects: int = Field(default=5, ge=0, le=20)
    #: Seconds to connect to the legacy host.
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    #: Seconds one read may wait for bytes.
    read_timeout_seconds: float = Field(default=30.0, gt=0)
    #: Seconds one whole fetch may take, body included.
    total_timeout_seconds: float = Field(default=900.0, gt=0)
    #: Seconds an import in progress is left alone before another call may take it over
    #: (a server that died mid-fetch): the total timeout plus this margin.
    takeover_margin_seconds: float = Field(default=60.0, ge=0)
    #: Imports one server process runs at once; more answer RESOURCE_EXHAUSTED (with
    #: RetryInfo) so that long fetches never take every thread unary calls need.
    max_concurrent: int = Field(default=4, ge=1, le=64)
    #: User-Agent header of the fetches.
    user_agent: str = "media-grpc-import/1"

    @field_validator("allowed_hosts")
    @classmethod
    def _entries_parse(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            allow_entry(entry)  # ValueError names the entry
        return entries

    @property
    def enabled(self) -> bool:
        return bool(self.allowed_hosts)
