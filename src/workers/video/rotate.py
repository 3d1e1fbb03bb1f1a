"""Turn decoded frames upright according to the display matrix (FFmpeg's transpose filters)."""

from __future__ import annotations

from av.filter import Graph
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

#: Filters that undo a counter-clockwise display rotation of the key's degrees.
_FILTERS: dict[int, list[tuple[str, str]]] = {
    90: [("transpose", "cclock")],
    -90: [("transpose", "clock")],
    180: [("hflip", ""), ("vflip", "")],
}


class Rotator:
    """Applies ``rotation`` (0, 90, 180, -90 counter-clockwise) to frames of ``stream``."""

    def __init__(self, stream: VideoStream, rotation: int) -> None:
        self.graph: Graph | None = None
        if rotation == 0:
            return
        graph = Graph()
        node = graph.add_buffer(template=stream)
        for name, args in _FILTERS[rotation]:
            nxt = graph.add(name, args) if args else graph.add(name)
            node.link_to(nxt)
            node = nxt
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        self.graph = graph

    def apply(self, frame: VideoFrame) -> list[VideoFrame]:
        """The upright frame(s) for ``frame`` (a graph may hold frames back; usually one)."""
        if self.graph is None:
            return [frame]
        self.graph.vpush(frame)
        out: list[VideoFrame] = []
        while True:
            try:
                out.append(self.graph.vpull())
            except (BlockingIOError, EOFError):
                return out
