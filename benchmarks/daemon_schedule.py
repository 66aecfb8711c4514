"""Does the daemon keep its schedule? Two sources every 2 s for 60 s.

Must show: each source has at least 20 runs, no run of a source overlaps the previous one,
no run failed. The ratio reported is runs per source against the 30 starts the schedule
asks for in that time. Usage: .venv/bin/python benchmarks/daemon_schedule.py [SECONDS]
"""

from __future__ import annotations

import sys
import time
from itertools import pairwise

from daemon_common import DaemonBench


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    bench = DaemonBench(sources=2, every="2s")
    time.sleep(seconds)
    code = bench.stop()
    ok = code == 0
    for name in ("s0", "s1"):
        runs = bench.query(f"select started, finished, status from runs where source = '{name}' "
                           "order by id")
        overlaps = sum(b[0] < a[1] for a, b in pairwise(runs))
        failed = sum(r[2] == "failed" for r in runs)
        statuses = sorted({r[2] for r in runs})
        print(f"{name}: {len(runs)} runs ({len(runs) / (seconds / 2):.2f} of the schedule's "
              f"{seconds / 2:.0f}), {overlaps} overlapping, {failed} failed, statuses {statuses}")
        ok = ok and len(runs) >= 20 and overlaps == 0 and failed == 0
    print(f"daemon exit status: {code}; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
