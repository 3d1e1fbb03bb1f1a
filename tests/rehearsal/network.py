"""Network namespaces, veth pairs and addresses of one rehearsal, and their removal.

Node ``i`` lives in namespace ``{tag}n{i}`` and reaches the host over a veth pair on its own
/30 of 10.213.{subnet}.0/24: host side ``.4i+1``, node side ``.4i+2``, with a default route
through the host side. The host's services are reached on one more host address, ``.254``, on
a veth pair whose two ends both stay on the host (this kernel has no dummy links): the node's
packets for it arrive on its own veth and are delivered locally (no forwarding is enabled).
Everything is named after ``tag``, so ``remove()`` finds it again, also after a failure.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import subprocess
from dataclasses import dataclass, field

#: The rehearsal's addresses: 10.213.X.0/24, X picked free at random.
NETWORK_PREFIX = "10.213"


def ip(*args: str, namespace: str | None = None) -> str:
    command = ["ip", *args] if namespace is None else ["ip", "-n", namespace, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def addresses_in_use() -> set[str]:
    return {line.split()[3].split("/")[0] for line in ip("-o", "-4", "addr").splitlines()}


@dataclass
class Node:
    """One node's namespace and address, and the host-side address it routes through."""

    name: str
    namespace: str
    address: str
    gateway: str
    host_link: str


@dataclass
class Lab:
    """The namespaces and links of one rehearsal: ``create()`` them, ``remove()`` them."""

    tag: str = field(default_factory=lambda: f"mr{os.getpid() % 10000:04d}")
    subnet: int = -1
    nodes: dict[str, Node] = field(default_factory=dict)

    @property
    def service_address(self) -> str:
        """The host address the nodes reach PostgreSQL, RabbitMQ and S3 on."""
        return f"{NETWORK_PREFIX}.{self.subnet}.254"

    def create(self, names: list[str]) -> Lab:
        used = addresses_in_use()
        free = [
            x
            for x in range(16, 250)
            if not any(a.startswith(f"{NETWORK_PREFIX}.{x}.") for a in used)
        ]
        self.subnet = random.choice(free)
        try:
            self._service_link()
            for index, name in enumerate(names):
                self.nodes[name] = self._node(index, name)
        except BaseException:
            self.remove()
            raise
        return self

    def _service_link(self) -> None:
        outer, inner = f"{self.tag}s0", f"{self.tag}s1"
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        ip("addr", "add", f"{self.service_address}/32", "dev", outer)
        ip("link", "set", outer, "up")
        ip("link", "set", inner, "up")

    def _node(self, index: int, name: str) -> Node:
        namespace = f"{self.tag}n{index}"
        host_link, node_link = f"{self.tag}h{index}", f"{self.tag}v{index}"
        base = ipaddress.ip_address(f"{NETWORK_PREFIX}.{self.subnet}.{4 * index}")
        gateway, address = str(base + 1), str(base + 2)
        ip("netns", "add", namespace)
        ip("link", "add", host_link, "type", "veth", "peer", "name", node_link)
        ip("link", "set", node_link, "netns", namespace)
        ip("addr", "add", f"{gateway}/30", "dev", host_link)
        ip("link", "set", host_link, "up")
        ip("addr", "add", f"{address}/30", "dev", node_link, namespace=namespace)
        ip("link", "set", node_link, "up", namespace=namespace)
        ip("link", "set", "lo", "up", namespace=namespace)
        ip("route", "add", "default", "via", gateway, namespace=namespace)
        return Node(name, namespace, address, gateway, host_link)

    def cut(self, node: Node) -> None:
        """Take the node off the network: its host-side link goes down (its address vanishes)."""
        ip("link", "set", node.host_link, "down")

    def remove(self) -> list[str]:
        """Delete every namespace and link of this tag (killing what still runs in them);
        returns what was left that could not be removed."""
        for namespace in self._namespaces():
            for pid in ip("netns", "pids", namespace).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
            with contextlib.suppress(RuntimeError):
                ip("netns", "del", namespace)
        for link in self._links():
            with contextlib.suppress(RuntimeError):
                ip("link", "del", link)
        return self._namespaces() + self._links()

    def _namespaces(self) -> list[str]:
        listed = ip("netns", "list").split("\n")
        return [line.split()[0] for line in listed if line.startswith(f"{self.tag}n")]

    def _links(self) -> list[str]:
        names = [line.split(":")[1].strip().split("@")[0] for line in ip("-o", "link").splitlines()]
        return [name for name in names if name.startswith(self.tag)]
