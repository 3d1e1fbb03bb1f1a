"""The job publisher port: hands a processing job to the workers' transport."""

from __future__ import annotations

import abc
import threading

from media_grpc.domain.jobs import ProcessingJob


class PublishFailed(Exception):
    """The transport did not take the job (broker down, unroutable, nacked); retry later."""


class JobPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, job: ProcessingJob) -> None:
        """Return only once the transport holds the job durably; else raise PublishFailed."""

    def start(self) -> None:  # noqa: B027 - only connection-holding publishers need it
        """Called once when the relay starts: connect early (and declare what it needs)."""

    def idle(self) -> None:  # noqa: B027 - only connection-holding publishers need it
        """Called while nothing is pending: keep a connection alive (heartbeats)."""

    def wait_for_return(self, seconds: float, stop: threading.Event) -> None:
        """Wait out a backoff after PublishFailed: ``seconds``, or less when the transport is
        seen to be back, or until ``stop`` is set."""
        stop.wait(seconds)

    def close(self) -> None:  # noqa: B027 - most publishers hold nothing to release
        """Release connections."""
