"""Per-article cost of the duplicate check as the store grows from 10k to 1M articles.

Usage: .venv/bin/python benchmarks/dedup_scaling.py [--sizes 10000,100000,1000000]
                                                     [--queries 500] [--db PATH]

The store is grown in steps on one SQLite file. Bulk articles are inserted directly in
bulk (a crawl would take days): each gets a random content_hash and 14 random
near-duplicate keys, which is what unrelated texts produce (their MinHash bands are
independent). 100 "planted" articles get real texts and real keys, so that edited copies
of them are found and verified, as syndicated copies would be. At each size the benchmark
times `ArticleStore.find_duplicate` (exact lookup, LSH candidate lookup, verification)
for fresh unrelated texts (misses) and for edited copies of planted articles (hits), and
the same plus computing the keys (the whole per-article check). Ratios are against the
first size, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.database import ArticleStore
from pipelines.fingerprints import BANDS, content_hash, near_duplicate_keys

WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "si", "ta", "vu", "ze",
                              "bra", "cle", "dro", "fin", "gal", "hot", "jur", "kem")
         for b in ("n", "ra", "to", "mel", "dor", "vik", "sa", "po", "lin", "qu", "est")]
PLANTED = 100


def text(rng: random.Random, paragraphs: int = 8, words: int = 40) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(words)) + "."
                     for _ in range(paragraphs))


def edited(original: str, rng: random.Random) -> str:
    """A syndicated copy: one sentence partly rewritten, a credit line added."""
    lines = original.split("\n")
    words = lines[3].split()
    words[5:12] = [rng.choice(WORDS) for _ in range(7)]
    lines[3] = " ".join(words)
    return "Republished with permission.\n" + "\n".join(lines)


def grow(store: ArticleStore, start: int, stop: int, seed: int) -> None:
    """Append articles start..stop-1 in bulk: one transaction, keys inserted sorted."""
    rng = np.random.default_rng(seed)
    n = stop - start
    ids = np.arange(start + 1, stop + 1)
    hashes = rng.integers(0, 2**63, size=n, dtype=np.int64)
    db = store.db.conn
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO articles (id, url, source, content_hash, version, first_seen, last_seen) "
        "VALUES (?, ?, 'bench', ?, 1, '2026-01-01', '2026-01-01')",
        ((int(i), f"https://bench.example/{i}", f"{h:064x}") for i, h in zip(ids, hashes)))
    keys = rng.integers(-2**63, 2**63 - 1, size=(n, BANDS), dtype=np.int64).ravel()
    owners = np.repeat(ids, BANDS)
    order = np.argsort(keys, kind="stable")
    chunk = 1_000_000
    for at in range(0, len(order), chunk):
        part = order[at:at + chunk]
        db.executemany("INSERT OR IGNORE INTO near_duplicate_keys VALUES (?, ?)",
                       zip(keys[part].tolist(), owners[part].tolist()))
    db.execute("COMMIT")
    db.execute("PRAGMA synchronous = NORMAL")


def plant(store: ArticleStore, rng: random.Random) -> list[str]:
    """Real articles whose edited copies the queries will look for."""
    texts = [text(rng) for _ in range(PLANTED)]
    table = store.db["articles"]
    with store.write():
        for n, body in enumerate(texts):
            table.insert({
                "url": f"https://planted.example/{n}", "source": "bench", "text": body,
                "content_hash": content_hash(body), "version": 1,
                "first_seen": "2026-01-01", "last_seen": "2026-01-01"})
            store.db.conn.executemany("INSERT INTO near_duplicate_keys VALUES (?, ?)",
                                      [(k, table.last_pk)
                                       for k in near_duplicate_keys(body)])
    return texts


def measure(store: ArticleStore, queries: list[tuple[str, bool]]) -> dict:
    prepared = [({"text": t, "content_hash": content_hash(t)}, near_duplicate_keys(t), hit)
                for t, hit in queries]
    lookup, found = {True: [], False: []}, 0
    for article, keys, hit in prepared:
        started = time.perf_counter()
        match, _ = store.find_duplicate(article, keys)
        lookup[hit].append(time.perf_counter() - started)
        found += match is not None and hit
    full = []
    for (t, _), (article, _, _) in zip(queries, prepared):
        started = time.perf_counter()
        store.find_duplicate(article, near_duplicate_keys(t))
        full.append(time.perf_counter() - started)
    return {"miss_us": 1e6 * statistics.mean(lookup[False]),
            "hit_us": 1e6 * statistics.mean(lookup[True]),
            "full_us": 1e6 * statistics.mean(full),
            "found": found, "hits": len(lookup[True])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(4)
    workdir = tempfile.TemporaryDirectory(prefix="newsmill-bench-")
    path = Path(args.db or os.path.join(workdir.name, "bench.db"))
    store = ArticleStore(path)
    planted = plant(store, rng)
    stored, rows = PLANTED, []
    print(f"{os.cpu_count()} cores; {args.queries} misses + {PLANTED} hits per size; {path}")
    for size in sizes:
        started = time.perf_counter()
        grow(store, stored, size, seed=size)
        stored = size
        build = time.perf_counter() - started
        store.close()
        store = ArticleStore(path)  # measure as a crawl opens it: default cache, warm OS cache
        queries = [(text(rng), False) for _ in range(args.queries)]
        queries += [(edited(t, rng), True) for t in planted]
        rng.shuffle(queries)
        result = measure(store, queries)
        rows.append((size, build, result))
        print(f"  {size:>9,} articles (built in {build:.0f}s): lookup miss "
              f"{result['miss_us']:.0f} µs, hit {result['hit_us']:.0f} µs, with keys "
              f"{result['full_us']:.0f} µs; found {result['found']}/{result['hits']} copies",
              flush=True)
    base = rows[0][2]
    print("\n| stored articles | lookup, miss (µs) | lookup, hit (µs) | keys + lookup (µs) "
          "| ratio to first (miss / hit / full) | copies found |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, _, r in rows:
        print(f"| {size:,} | {r['miss_us']:.0f} | {r['hit_us']:.0f} | {r['full_us']:.0f} | "
              f"{r['miss_us'] / base['miss_us']:.2f} / {r['hit_us'] / base['hit_us']:.2f} / "
              f"{r['full_us'] / base['full_us']:.2f} | {r['found']}/{r['hits']} |")
    size_mb = path.stat().st_size / 1e6
    store.close()
    last = rows[-1][2]
    print(f"\ndatabase: {size_mb:.0f} MB; per-item cost at {rows[-1][0]:,} vs {rows[0][0]:,}: "
          f"lookup miss x{last['miss_us'] / base['miss_us']:.2f}, "
          f"hit x{last['hit_us'] / base['hit_us']:.2f}, full x{last['full_us'] / base['full_us']:.2f}")


if __name__ == "__main__":
    main()
