#!/usr/bin/env python3
"""every = "auto" against fixed intervals: checks made, and delay from publication to storage.

A simulation (no crawling): sources publish at different rates for a number of days; each
schedule checks each source, and a check stores every article published since the one
before. The auto schedule is the daemon's own function (crawler.schedule.auto_interval), fed after
every check with the publication times found so far, as the daemon feeds it from the store.

    .venv/bin/python benchmarks/adaptive_schedule.py [--days 14] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
from datetime import UTC, datetime, timedelta

from crawler.schedule import auto_interval

START = datetime(2026, 11, 1, tzinfo=UTC)
DAY = 86400.0
HISTORY = 7  # days of publications before the first check, which its feed shows the end of
FEED_ITEMS = 20


def poisson(rate_per_day: float, days: float, rng: random.Random, daytime_only=False) -> list[float]:
    """Publication times (seconds from START, from HISTORY days before it) of a source
    publishing `rate_per_day`."""
    times, t = [], -HISTORY * DAY
    while True:
        t += rng.expovariate(rate_per_day / DAY) * (0.5 if daytime_only else 1.0)
        if t >= days * DAY:
            return times
        if daytime_only and not 7 <= (t % DAY) / 3600 < 19:
            continue  # a newsroom asleep at night: half the day, the same daily rate
        times.append(t)


def bursty(days: float, rng: random.Random) -> list[float]:
    """Quiet for days, then a story breaks: 30 articles in 6 hours."""
    burst = rng.uniform(3, days - 2) * DAY
    return sorted([*poisson(0.5, days, rng), *(burst + rng.uniform(0, 6 * 3600) for _ in range(30))])


def run_fixed(published: list[float], every: float, days: float) -> tuple[int, list[float]]:
    published = [p for p in published if p >= 0]
    checks = int(days * DAY // every)
    return checks, [math.ceil(p / every) * every - p for p in published]


def run_auto(published: list[float], days: float, lowest: float, highest: float,
             per_article: float) -> tuple[int, list[float]]:
    # The first check reads the source's feed: its last FEED_ITEMS articles, from before.
    before = [p for p in published if p < 0]
    found = [START + timedelta(seconds=p) for p in before[-FEED_ITEMS:]]
    published = [p for p in published if p >= 0]
    delays, checks, t, next_article = [], 0, 0.0, 0
    while t < days * DAY:
        checks += 1
        while next_article < len(published) and published[next_article] <= t:
            delays.append(t - published[next_article])
            found.append(START + timedelta(seconds=published[next_article]))
            next_article += 1
        interval, _ = auto_interval(found, START + timedelta(seconds=t), lowest, highest,
                                    7 * DAY, per_article)
        t += interval
    return checks, delays


def describe(checks: int, delays: list[float]) -> str:
    if not delays:
        return f"{checks:6d} checks, no article"
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{checks:6d} checks, delay mean {sum(delays) / len(delays) / 60:6.1f} min, p95 {p95 / 60:6.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = {
        "wire (300/day)": poisson(300, args.days, rng),
        "big newsroom (40/day, daytime)": poisson(40, args.days, rng, daytime_only=True),
        "section (6/day, daytime)": poisson(6, args.days, rng, daytime_only=True),
        "blog (1/day)": poisson(1, args.days, rng),
        "weekly (1/week)": poisson(1 / 7, args.days, rng),
        "bursty (0.5/day + 30 in 6h)": bursty(args.days, rng),
    }
    schedules = {
        "every 15m": lambda p: run_fixed(p, 900, args.days),
        "every 1h": lambda p: run_fixed(p, 3600, args.days),
        "auto 5m-6h, 2/article": lambda p: run_auto(p, args.days, 300, 6 * 3600, 2.0),
        "auto 5m-6h, 1/article": lambda p: run_auto(p, args.days, 300, 6 * 3600, 1.0),
    }
    totals = {name: [0, []] for name in schedules}
    print(f"{args.days:.0f} simulated days, seed {args.seed}")
    for source, published in sources.items():
        print(f"\n{source}: {sum(p >= 0 for p in published)} articles")
        for name, schedule in schedules.items():
            checks, delays = schedule(published)
            totals[name][0] += checks
            totals[name][1] += delays
            print(f"  {name:24s} {describe(checks, delays)}")
    print("\nall sources:")
    for name, (checks, delays) in totals.items():
        print(f"  {name:24s} {describe(checks, delays)}")


if __name__ == "__main__":
    main()
