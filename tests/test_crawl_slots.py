"""The daemon's crawl slots (crawler/concurrency.py): how many crawls run at once follows the
work within what the machine carries, and waiting crawls are served in the order they came.
Real threads and the real rules; the machine's readings are given, so each rule is seen."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from crawler.concurrency import AUTO_CEILING, CrawlSlots, LoadMeter, MachineLoad
from crawler.times import now_utc

GIB = 2**30
IDLE = MachineLoad(own_cpu=0.1, machine_cpu=0.1, memory_available=20 * GIB, memory_total=24 * GIB)


def waiting_crawls(slots: CrawlSlots, names: list[str]) -> tuple[list[str], list[threading.Thread]]:
    """Start a thread per name that takes a slot and keeps it; returns the order they got in."""
    order: list[str] = []
    stopping = threading.Event()
    threads = []
    for name in names:
        slots.submitted(name, now_utc() - timedelta(seconds=40))
        thread = threading.Thread(target=lambda n=name: slots.acquire(n, stopping) is not None
                                  and order.append(n), daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # they arrive in this order
    return order, threads


def settle(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_limit_grows_while_crawls_wait_and_the_machine_is_idle():
    slots = CrawlSlots(cores=2)
    assert slots.limit == 4 and slots.ceiling == AUTO_CEILING
    order, _ = waiting_crawls(slots, [f"s{i}" for i in range(10)])
    settle(lambda: len(order) == 4)
    report = slots.report()
    assert (report["running"], report["waiting"]) == (4, 6)
    assert report["behind"] >= 39  # the oldest waiting crawl was due 40 s ago

    slots.adjust(IDLE)  # crawls wait, CPU and memory to spare: half as many again
    settle(lambda: len(order) == 6)
    assert sorted(order) == [f"s{i}" for i in range(6)]  # first come, first served
    slots.adjust(IDLE)
    settle(lambda: len(order) == 9)
    assert slots.limit == 9 and sorted(order) == [f"s{i}" for i in range(9)]


def test_the_limit_holds_when_the_crawls_keep_the_cores_busy_and_says_so():
    slots = CrawlSlots(cores=2)
    order, _ = waiting_crawls(slots, [f"s{i}" for i in range(6)])
    settle(lambda: len(order) == 4)
    slots.adjust(MachineLoad(1.9, 0.97, 20 * GIB, 24 * GIB))
    assert slots.limit == 4
    assert slots.report()["pressure"] == "CPU: the crawls use 1.9 of 2 cores"


def test_the_limit_halves_when_memory_runs_short():
    slots = CrawlSlots(cores=4)
    order, _ = waiting_crawls(slots, [f"s{i}" for i in range(9)])
    settle(lambda: len(order) == 8)
    slots.adjust(MachineLoad(0.5, 0.2, 1 * GIB, 24 * GIB))
    assert slots.limit == 4
    assert slots.report()["pressure"].startswith("memory: 1024 MiB available")
    for _ in range(8):  # the running crawls end; only four may run again
        slots.release()
    settle(lambda: len(order) == 9)
    assert slots.running == 1


def test_a_ceiling_given_is_kept_and_named_as_the_reason():
    slots = CrawlSlots(3, cores=8)
    assert slots.limit == 3
    order, _ = waiting_crawls(slots, ["a", "b", "c", "d"])
    settle(lambda: len(order) == 3)
    slots.adjust(IDLE)
    assert slots.limit == 3
    assert slots.report()["pressure"] == "--max-parallel 3: every slot in use"


def test_an_unused_limit_comes_back_down_slowly():
    slots = CrawlSlots(cores=2)
    slots.limit = 100
    slots.adjust(IDLE)
    assert slots.limit == 75  # a quarter a heartbeat, not at once
    for _ in range(20):
        slots.adjust(IDLE)
    assert slots.limit == 4 and slots.report()["pressure"] is None


def test_a_crawl_waiting_when_the_daemon_stops_gives_up_its_place():
    slots = CrawlSlots(1, cores=1)
    stopping = threading.Event()
    assert slots.acquire("first", stopping) == 0.0
    result = []
    thread = threading.Thread(target=lambda: result.append(slots.acquire("second", stopping)))
    thread.start()
    stopping.set()
    thread.join(5)
    assert result == [None] and slots.report()["waiting"] == 0
    slots.release()
    assert slots.running == 0


def test_the_meter_reads_this_process_and_the_machine():
    meter = LoadMeter()
    sum(i * i for i in range(2_000_000))  # some CPU of this process's own
    load = meter.read()
    assert load.own_cpu > 0 and 0 <= load.machine_cpu <= 1
    assert 0 < load.memory_available <= load.memory_total
