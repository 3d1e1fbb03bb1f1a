"""Who may open one more stream: the counts behind ``StreamLimitInterceptor``.

Authenticated streams count against ``max_open`` alone. Unauthenticated ones (health Watch,
reflection) also count against their own cap, their peer address's and their connection's;
their cap stays below ``max_open``, so the difference is kept for callers with a token. The
event loop is the only caller: no lock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from media_grpc.config.streams import StreamSettings
from media_grpc.domain.errors import ResourceExhausted


def peer_address(peer: str) -> str:
    """The address part of a grpc peer string: ``ipv4:10.0.0.5:4242`` -> ``10.0.0.5``,
    ``ipv6:[::1]:4242`` -> ``::1``; a peer without a port (``unix:...``) is itself."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    return peer


@dataclass(frozen=True)
class Ticket:
    """One admitted stream, handed back to ``release``."""

    public: bool
    peer: str
    connection: str


@dataclass(eq=False)
class StreamBudget:
    settings: StreamSettings
    open: int = 0
    public_open: int = 0
    by_peer: Counter[str] = field(default_factory=Counter)
    by_connection: Counter[str] = field(default_factory=Counter)

    def admit(self, *, public: bool, peer: str) -> Ticket:
        """Count a new stream from ``peer`` (grpc's ``context.peer()``); raises
        ResourceExhausted (with a retry delay) naming the cap it would pass."""
        s = self.settings
        if self.open >= s.max_open:
            self._refuse(f"this server already holds {s.max_open} open streams")
        ticket = Ticket(public=public, peer=peer_address(peer), connection=peer)
        if public:
            if self.public_open >= s.public_max_open:
                self._refuse(
                    f"this server already holds {s.public_max_open} streams without a token "
                    "(a token's streams have a reserve of their own)"
                )
            if self.by_peer[ticket.peer] >= s.public_per_peer:
                self._refuse(
                    f"your address already holds {s.public_per_peer} streams without a token"
                )
            if self.by_connection[ticket.connection] >= s.public_per_connection:
                self._refuse(
                    f"this connection already holds {s.public_per_connection} streams "
                    "without a token"
                )
            self.public_open += 1
            self.by_peer[ticket.peer] += 1
            self.by_connection[ticket.connection] += 1
        self.open += 1
        return ticket

    def release(self, ticket: Ticket) -> None:
        self.open -= 1
        if ticket.public:
            self.public_open -= 1
            _decrement(self.by_peer, ticket.peer)
            _decrement(self.by_connection, ticket.connection)

    def _refuse(self, why: str) -> None:
        raise ResourceExhausted(
            f"{why}; retry later", retry_after_seconds=self.settings.retry_after_seconds
        )


def _decrement(counts: Counter[str], key: str) -> None:
    """Drop a key at zero, so that peers gone by leave nothing behind."""
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]
