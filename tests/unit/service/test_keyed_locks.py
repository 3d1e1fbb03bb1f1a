"""Per-key locks: one holder per key at a time, other keys free, nothing kept afterwards."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from media_grpc.service.keyed_locks import KeyedLocks


def test_holders_of_one_key_run_one_at_a_time_and_the_lock_is_dropped_after() -> None:
    locks = KeyedLocks()
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with locks.hold("media-1"):
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.002)  # a critical section that takes a while, not a test waiting
            with guard:
                inside -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(work) for _ in range(16)]:
            future.result()
    assert most == 1
    assert locks._locks == {}


def test_different_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    with locks.hold("a"):
        entered = threading.Event()

        def other() -> None:
            with locks.hold("b"):
                entered.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert entered.wait(timeout=5)
        thread.join()
