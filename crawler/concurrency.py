"""How many crawls the daemon runs at once: as many as are due, while the machine carries them.

A check of an unchanged feed mostly waits on the network and costs a few hundredths of a
second of CPU; a full crawl is mostly extraction, which the cores bound. So no fixed number
fits both: `CrawlSlots` grows its limit while crawls wait for a slot and the machine has CPU
and memory to spare, holds it while the daemon's crawls keep the cores busy, and halves it
when memory runs short. `--max-parallel` is only its ceiling. Crawls waiting for a slot are
served first come, first served (and APScheduler never queues a source twice), so a daemon
that cannot keep up makes every source a little late, not some never checked.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import psutil

from crawler.times import now_utc

# The ceiling when none is given (--max-parallel): a slot costs a thread of the daemon and a
# Scrapy crawler in a worker (a few MB), nothing while unused.
AUTO_CEILING = 256
# The daemon's crawls keep the machine busy above this share of its cores: the limit holds.
CPU_BUSY = 0.85
# The whole machine (other programs too) is this busy: reported as the reason crawls wait.
MACHINE_BUSY = 0.95
# Memory runs short below this share of the machine's, or below MEMORY_FLOOR bytes: halve.
MEMORY_SHORT = 0.10
MEMORY_FLOOR = 256 * 1024 * 1024


@dataclass
class MachineLoad:
    """One heartbeat's reading of the machine, and of the daemon's own processes."""

    own_cpu: float  # cores' worth of CPU the daemon and all it started used (2.0: two cores)
    machine_cpu: float  # share of all cores busy, every program counted, 0-1
    memory_available: int  # bytes
    memory_total: int

    @property
    def memory_short(self) -> bool:
        return (self.memory_available < MEMORY_FLOOR
                or self.memory_available < self.memory_total * MEMORY_SHORT)


class LoadMeter:
    """Reads `MachineLoad` once a heartbeat: CPU used since the last reading, memory now."""

    def __init__(self):
        self.process = psutil.Process()
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds at the last reading
        self.when = time.monotonic()
        psutil.cpu_percent(None)  # the first call only starts psutil's count

    def read(self) -> MachineLoad:
        now, used, seen = time.monotonic(), 0.0, {}
        for process in [self.process, *self._children()]:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seen[process.pid] = times.user + times.system
            # A process started since the last reading counts from its start.
            used += max(0.0, seen[process.pid] - self.cpu.get(process.pid, 0.0))
        elapsed, self.when, self.cpu = max(now - self.when, 1e-3), now, seen
        memory = psutil.virtual_memory()
        return MachineLoad(used / elapsed, psutil.cpu_percent(None) / 100, memory.available,
                           memory.total)

    def _children(self) -> list[psutil.Process]:
        try:
            return self.process.children(recursive=True)
        except psutil.Error:
            return []


class CrawlSlots:
    """The crawls that may run at once; the others wait, first come first served."""

    def __init__(self, ceiling: int | None = None, cores: int | None = None,
                 follow_load: bool = True):
        # The cores the crawls can use: the machine's, or fewer when fewer processes crawl
        # and extract (the daemon's workers x (1 + their extraction workers)).
        self.cores = cores or os.cpu_count() or 1
        self.ceiling = ceiling or AUTO_CEILING
        self.chosen = ceiling is not None  # --max-parallel: the user's ceiling
        self.follow_load = follow_load  # False: always the ceiling
        self.floor = min(self.ceiling, 2 * self.cores) if follow_load else self.ceiling
        self.limit = self.floor
        self.lock = threading.Lock()
        self.running = 0
        self.queue: deque[threading.Event] = deque()
        self.due: dict[str, datetime] = {}  # source -> when its waiting crawl was due
        self.pressure: str | None = None  # why crawls wait, in words; None when none do
        self.load: MachineLoad | None = None

    # --- crawls ------------------------------------------------------------------------
    def submitted(self, name: str, due: datetime) -> None:
        """A source's crawl was due at `due` and handed to a thread (it waits from now)."""
        with self.lock:
            self.due.setdefault(name, due)

    def acquire(self, name: str, stopping: threading.Event) -> float | None:
        """Wait for a slot; the seconds the crawl started after it was due, or None if the
        daemon stopped first."""
        with self.lock:
            if self.running < self.limit and not self.queue:
                self.running += 1
                return self._started(name)
            ticket = threading.Event()
            self.queue.append(ticket)
        while not ticket.wait(1.0):
            if stopping.is_set():
                with self.lock:
                    if ticket.is_set():  # granted meanwhile: pass the slot on
                        self.running -= 1
                        self._grant()
                    else:
                        self.queue.remove(ticket)
                    self.due.pop(name, None)
                return None
        with self.lock:
            return self._started(name)

    def forget(self, name: str) -> None:
        """The source's crawl will not wait for a slot after all (removed, stopping)."""
        with self.lock:
            self.due.pop(name, None)

    def release(self) -> None:
        with self.lock:
            self.running -= 1
            self._grant()

    def _started(self, name: str) -> float:
        due = self.due.pop(name, None)
        return max(0.0, (now_utc() - due).total_seconds()) if due else 0.0

    def _grant(self) -> None:
        while self.queue and self.running < self.limit:
            self.running += 1
            self.queue.popleft().set()

    # --- the limit -----------------------------------------------------------------------
    def adjust(self, load: MachineLoad) -> None:
        """Once a heartbeat: follow the work within what the machine carries."""
        with self.lock:
            self.load = load
            waiting = len(self.due)  # due and not started: in a thread, or in the pool's queue
            if not self.follow_load:
                self.pressure = f"--max-parallel {self.ceiling}" if waiting else None
            elif load.memory_short:
                self.limit = max(1, self.limit // 2)
                self.pressure = (f"memory: {load.memory_available / 2**20:.0f} MiB available "
                                 f"of {load.memory_total / 2**20:.0f} MiB")
            elif not waiting:
                self.pressure = None
                # An unused limit costs nothing, but one far above the work would let a burst
                # of full crawls start at once: it comes back down slowly.
                if self.limit > max(self.floor, 2 * self.running):
                    self.limit = max(self.floor, 2 * self.running, self.limit * 3 // 4)
            elif load.own_cpu >= CPU_BUSY * self.cores:
                self.pressure = (f"CPU: the crawls use {load.own_cpu:.1f} of "
                                 f"{self.cores} cores")
            elif self.limit < self.ceiling:
                self.limit = min(self.ceiling, self.limit + max(1, self.limit // 2))
                self.pressure = None
            elif self.chosen:
                self.pressure = f"--max-parallel {self.ceiling}: every slot in use"
            else:
                self.pressure = (f"the network: {self.running} crawls running, most of them "
                                 "waiting for answers")
            if self.pressure is None and waiting and load.machine_cpu >= MACHINE_BUSY:
                self.pressure = f"CPU: the machine is {load.machine_cpu:.0%} busy"
            self._grant()

    def report(self) -> dict:
        """What status and the metrics show: the limit, the crawls, how far behind."""
        with self.lock:
            oldest = min(self.due.values(), default=None)
            waiting = len(self.due)
            return {"limit": self.limit, "ceiling": self.ceiling, "running": self.running,
                    "waiting": waiting,
                    "behind": max(0.0, (now_utc() - oldest).total_seconds()) if oldest else 0.0,
                    "pressure": self.pressure if waiting else None}
