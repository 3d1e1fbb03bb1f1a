"""The rehearsal's four checks, each returning the counts it prints and asserts on."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlparse

import grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from tests.rehearsal.client import Client, jpeg, spread_channel
from tests.rehearsal.cluster import LIMITS, SERVERS, WORKERS, Cluster
from tests.waiting import eventually, until

UNFINISHED = (pb.STATUS_PENDING, pb.STATUS_UPLOADED, pb.STATUS_PROCESSING)
#: Threads uploading at once in the kill check.
CALLERS = 4


@dataclass
class Urls:
    """Every URL handed to clients during the run: presigned PUTs and public (CDN) URLs."""

    presigned: list[str] = field(default_factory=list)
    public: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_session(self, session: pb.CreateUploadSessionResponse) -> None:
        with self._lock:
            self.presigned.append(session.single_put.url)

    def add_media(self, media: pb.Media) -> None:
        found = [media.cdn_url, media.hls_url, *(v.url for v in media.variants)]
        with self._lock:
            self.public += [url for url in found if url]


def _jobs_by_worker(cluster: Cluster) -> dict[str, set[str]]:
    """Media ids each worker logged a successful job for."""
    return {
        name: {
            line["media_id"]
            for line in cluster.processes[name].lines()
            if line.get("message") == "job" and line.get("outcome") == "success"
        }
        for name in WORKERS
    }


def watch_across_nodes(cluster: Cluster, urls: Urls, count: int) -> str:
    """WatchMedia on s1 sees READY for media completed through s2 and processed on a worker
    node."""
    watcher, uploader = cluster.stub("s1"), cluster.stub("s2")
    seen: dict[str, list[int]] = {}
    for index in range(count):
        # A user per media: the session limits of one user would cap the count.
        client = Client(uploader, cluster.auth, f"watcher-{cluster.prefix}-{index}")
        data = jpeg(index)
        session = client.create(data, f"{cluster.prefix}-watch-{index}")
        urls.add_session(session)
        client.put(session, data)
        statuses: list[int] = []
        stream = watcher.WatchMedia(
            pb.WatchMediaRequest(media_id=session.media_id), metadata=client.metadata(), timeout=60
        )
        first = next(stream)  # the stream is open on s1 before the upload completes
        statuses.append(first.media.status)
        client.complete(session.media_id)
        for answer in stream:
            statuses.append(answer.media.status)
            if answer.media.status == pb.STATUS_READY:
                urls.add_media(answer.media)
        seen[session.media_id] = statuses
    ready = [m for m, s in seen.items() if s[-1] == pb.STATUS_READY]

    def all_logged() -> dict[str, set[str]] | None:
        found = _jobs_by_worker(cluster)
        return found if set(ready) <= set().union(*found.values()) else None

    by_worker = eventually(all_logged, "every watched media in a worker's log", 30)
    assert by_worker is not None
    counts = {name: len(set(ready) & ids) for name, ids in by_worker.items()}
    line = (
        f"watch: WatchMedia on s1 saw READY for {len(ready)}/{count} media completed through s2 "
        f"(first status seen PENDING: {sum(s[0] == pb.STATUS_PENDING for s in seen.values())}); "
        f"committed by workers " + ", ".join(f"{n}: {c}" for n, c in counts.items())
    )
    assert len(ready) == count, (line, seen)
    assert sum(counts.values()) == count, line
    return line


def limits_across_nodes(cluster: Cluster, urls: Urls) -> str:
    """The PENDING cap and the session rate, called alternately on s1 and s2, hold as one."""
    stubs = [cluster.stub(name) for name in SERVERS]
    cap = int(LIMITS["MEDIA_LIMITS__MAX_PENDING_SESSIONS"])
    burst = int(LIMITS["MEDIA_LIMITS__UPLOAD_SESSION_BURST"])

    def attempt(user: str, index: int, abort: bool) -> str:
        client = Client(stubs[index % 2], cluster.auth, user)
        try:
            session = client.create(b"x" * 100, f"{user}-{index}")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
            return "pending" if "pending" in (e.details() or "") else "rate"
        urls.add_session(session)
        if abort:
            client.call(
                lambda: client.stub.AbortUpload(
                    pb.AbortUploadRequest(media_id=session.media_id), metadata=client.metadata()
                )
            )
        return f"ok-{SERVERS[index % 2]}"

    pending = Counter(attempt(f"pending-{cluster.prefix}", i, False) for i in range(2 * cap))
    rated = Counter(attempt(f"rate-{cluster.prefix}", i, True) for i in range(2 * burst))
    line = (
        f"limits: PENDING cap {cap}: admitted {pending['ok-s1']} on s1 + {pending['ok-s2']} on "
        f"s2, refused {pending['pending']} (cap); session burst {burst}: admitted "
        f"{rated['ok-s1']} on s1 + {rated['ok-s2']} on s2, refused {rated['rate']} (rate)"
    )
    assert pending["ok-s1"] + pending["ok-s2"] == cap and pending["pending"] == cap, line
    assert rated["ok-s1"] + rated["ok-s2"] == burst and rated["rate"] == burst, line
    return line


@dataclass
class Load:
    """Uploads through the spread channel, each as a user of its own."""

    cluster: Cluster
    urls: Urls
    total: int
    started: int = 0
    completed: dict[int, str] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, callers: int, channel: grpc.Channel) -> ThreadPoolExecutor:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        pool = ThreadPoolExecutor(max_workers=callers)
        for index in range(self.total):
            pool.submit(self._one, stub, index)
        return pool

    def _one(self, stub: media_pb2_grpc.MediaServiceStub, index: int) -> None:
        client = Client(stub, self.cluster.auth, f"load-{self.cluster.prefix}-{index}")
        with self._lock:
            self.started += 1
        try:
            session, _ = client.upload(jpeg(1000 + index), f"{self.cluster.prefix}-load-{index}")
            self.urls.add_session(session)
            with self._lock:
                self.completed[index] = session.media_id
        except Exception as e:  # noqa: BLE001 (counted and reported: a lost upload)
            with self._lock:
                self.errors[index] = repr(e)
        finally:
            with self._lock:
                self.retries += client.retries


def _running_on(cluster: Cluster, name: str) -> set[str]:
    """Media ids whose stage the worker started and never finished (jobs cut short)."""
    lines = cluster.processes[name].lines()
    started = {line["media_id"] for line in lines if "stage for media" in str(line.get("message"))}
    return started - _jobs_by_worker(cluster)[name]


def _rpc_counts(cluster: Cluster) -> dict[str, int]:
    return {
        name: sum(line.get("message") == "rpc" for line in cluster.processes[name].lines())
        for name in SERVERS
    }


def kill_mid_traffic(cluster: Cluster, urls: Urls, total: int, settle: float) -> str:
    """Uploads spread over both servers; s2 and w2 crash a third of the way in. Every upload
    completes (retried on s1) and every media ends READY."""
    channel = spread_channel(cluster.targets())
    load = Load(cluster, urls, total)
    before = _rpc_counts(cluster)
    pool = load.run(CALLERS, channel)
    eventually(lambda: len(load.completed) + len(load.errors) >= total // 3, "a third done", 120)
    spread = {n: c - before[n] for n, c in _rpc_counts(cluster).items()}
    done_at_kill, in_flight = len(load.completed), load.started - len(load.completed)
    w2_jobs = len(_jobs_by_worker(cluster)["w2"])
    cluster.kill("s2")
    cluster.kill("w2")
    pool.shutdown(wait=True)
    cut_short = _running_on(cluster, "w2")
    client = Client(media_pb2_grpc.MediaServiceStub(channel), cluster.auth, "")
    statuses: dict[str, int] = {}

    def finished() -> bool:
        for index, media_id in load.completed.items():
            if statuses.get(media_id) in UNFINISHED or media_id not in statuses:
                client.user = f"load-{cluster.prefix}-{index}"
                media = client.get(media_id)
                statuses[media_id] = media.status
                if media.status == pb.STATUS_READY:
                    urls.add_media(media)
        return not any(s in UNFINISHED for s in statuses.values())

    until(finished, settle, every=0.5)  # what is still unfinished then is reported as stuck
    by_status = Counter(pb.Status.Name(s) for s in statuses.values())  # type: ignore[arg-type]
    stuck = sum(s in UNFINISHED for s in statuses.values())
    jobs = {name: len(ids & set(statuses)) for name, ids in _jobs_by_worker(cluster).items()}
    channel.close()
    line = (
        f"kill: {total} uploads, {CALLERS} callers over s1+s2 (calls before the kill: "
        + ", ".join(f"{n}: {c}" for n, c in spread.items())
        + f"); s2 and w2 (after {w2_jobs} jobs) killed with {done_at_kill} uploads completed "
        f"and {in_flight} in flight; completed {len(load.completed)}, "
        f"lost {len(load.errors)}, calls the clients sent again: {load.retries}; statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items()))
        + f"; stuck {stuck}; jobs cut short on w2: {len(cut_short)}, READY since: "
        + f"{sum(statuses.get(m) == pb.STATUS_READY for m in cut_short)}; READY committed by "
        + ", ".join(f"{n}: {c}" for n, c in jobs.items())
    )
    assert all(c > 0 for c in spread.values()), line  # round_robin used both servers
    assert done_at_kill < total, line  # the kill came mid-traffic
    assert not load.errors and len(load.completed) == total, (line, load.errors)
    assert by_status["STATUS_READY"] == total and stuck == 0, line
    return line


def urls_name_no_node(cluster: Cluster, urls: Urls) -> str:
    """No presigned or public URL names a node's own address or a loopback."""
    forbidden = cluster.node_addresses | {"127.0.0.1", "localhost", "0.0.0.0", "::1"}  # noqa: S104
    hosts = Counter(urlparse(url).hostname for url in urls.presigned + urls.public)
    bad = {host: n for host, n in hosts.items() if host in forbidden}
    line = (
        f"urls: {len(urls.presigned)} presigned, {len(urls.public)} public (CDN); hosts "
        + ", ".join(f"{h}: {n}" for h, n in hosts.items())
        + f"; naming a node or a loopback: {sum(bad.values())}"
    )
    assert urls.presigned and urls.public and not bad, line
    assert set(hosts) == {cluster.service_address}, line
    return line
