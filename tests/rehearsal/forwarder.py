"""TCP forwarders from the rehearsal's service address to the host's services on 127.0.0.1.

PostgreSQL and RabbitMQ listen on 127.0.0.1 only, and the nodes' namespaces have loopbacks of
their own: these forwarders (asyncio, on a thread of the rehearsal) listen on the service
address and connect to 127.0.0.1, and stop with the rehearsal. The services see the
connections come from 127.0.0.1, as they always do here.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Forwarders:
    """``{listen port: target port}`` forwarded from ``address`` to 127.0.0.1."""

    def __init__(self, address: str, ports: dict[int, int]) -> None:
        self.address = address
        self.ports = ports
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []

    def start(self) -> Forwarders:
        self._thread.start()
        for listen, target in self.ports.items():
            started = asyncio.run_coroutine_threadsafe(self._listen(listen, target), self._loop)
            self._servers.append(started.result(timeout=10))
        return self

    async def _listen(self, listen: int, target: int) -> asyncio.Server:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        return await asyncio.start_server(accept, self.address, listen)

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until one side ends, then close the other: a node that dies closes its upstream
    connections, so RabbitMQ requeues what its worker held and PostgreSQL ends its session."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        writer.close()
