"""A year of news in one file: how a store of N articles and M runs writes, reads and weighs.

Usage: .venv/bin/python benchmarks/store_scale.py [--articles 100000] [--runs 10000000]
           [--sources 1000] [--db /tmp/newsmill-scale.db] [--reuse] [--roll-up]

Articles go through the real write path, `ArticleStore.save_batch`, in batches of 200 (the
crawl's NEWSMILL_STORE_BATCH), with a near-duplicate key set and content hash computed as
the extraction worker computes them; their texts are a few hundred words drawn (Zipf) from
a 20,000-word vocabulary, published over the last year, with tags, sections and URLs.
Runs are inserted as rows of the public `runs` table (a crawl writes one per check; a
year's worth through the crawler would take a year): one check per source every 5 minutes
back from now, most of them "nothing new", a share storing articles, with errors, failed.

Every read is timed over real HTTP against `newsmill serve`, as a browser waits for it:
the HTML of the articles table, an article page, a search and the runs table; the
dashboard page (it runs the source picker's query) and each of its charts through
`/newsmill.json?sql=...&_shape=objects`, the request datasette-dashboards' script makes;
and `newsmill status` with a sources file of every source, as a subprocess (its wall time,
Python's start included). Each is asked 3 times: the first and the median are printed.

--reuse measures an existing store again (opening it runs any newer migration, timed);
--resume grows a store whose build was stopped (a build of 1 M articles takes an hour or
more on a shared machine) to --articles, then measures it;
--roll-up then folds runs older than 30 days into runs_daily (ArticleStore.roll_up_runs)
and reports the run history's size for a simulated year with and without the roll-up.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.database import ArticleStore
from pipelines.fingerprints import content_hash, near_duplicate_keys

ROOT = Path(__file__).resolve().parent.parent
NEWSMILL = Path(sys.executable).with_name("newsmill")
BATCH = 200
CHECKS_PER_DAY = 288  # every 5 minutes
SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ro", "si", "ta", "vu", "ze", "bra", "cle", "dro",
             "fin", "gal", "hot", "jur", "kem", "lan", "mor", "nix", "pol", "quo", "rin"]
SECTIONS = ["world", "politics", "business", "technology", "science", "health", "sport",
            "culture", "opinion", "climate", "education", "travel", "food", "local",
            "media", "law", "economy", "energy", "transport", "weather"]


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words, key=lambda w: (len(w), w))  # short words are the frequent ones


class Writer:
    """Realistic article dicts, as the extraction pipeline hands them to the store."""

    def __init__(self, sources: list[str], seed: int = 27):
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.words = np.array(vocabulary(self.rng))
        ranks = np.arange(1, len(self.words) + 1)
        self.weights = (1 / ranks) / (1 / ranks).sum()
        self.sources = sources
        self.tags = [f"{w}" for w in self.words[200:500]]

    def draw(self, n: int) -> list[str]:
        return list(self.words[self.np.choice(len(self.words), size=n, p=self.weights)])

    def article(self, n: int, published: datetime) -> dict:
        source = self.sources[n % len(self.sources)]
        words = self.draw(self.rng.randint(200, 600))
        paragraphs = [" ".join(words[i:i + 60]).capitalize() + "." for i in range(0, len(words), 60)]
        text = "\n".join(paragraphs)
        title = " ".join(self.draw(8)).capitalize()
        section = self.rng.choice(SECTIONS)
        url = f"https://{source}.example/{section}/{n}-{'-'.join(title.lower().split()[:5])}"
        fetched = published + timedelta(minutes=self.rng.randint(2, 90))
        return {
            "source": source, "url": url, "title": title, "author": " ".join(self.draw(2)).title(),
            "published": published.isoformat(timespec="seconds")
            if self.rng.random() > 0.05 else None,
            "modified": None, "sitename": source, "publisher": source,
            "description": " ".join(words[:25]) + "…", "section": section,
            "tags": self.rng.sample(self.tags, self.rng.randint(1, 4)),
            "image": f"https://{source}.example/images/{n}.jpg",
            "language": self.rng.choices(["en", "de", "fr", "es"], [85, 5, 5, 5])[0],
            "text": text, "word_count": len(words), "content_hash": content_hash(text),
            "fetched_at": fetched.isoformat(timespec="seconds"), "seen_urls": [url],
            "fetch": {"urls": [url], "etag": f'"{n:x}"', "status": 200,
                      "last_modified": None, "lastmod": None},
            "near_duplicate_keys": near_duplicate_keys(text), "claims_original": 2,
        }


def write_articles(store: ArticleStore, count: int, sources: list[str], now: datetime,
                   first: int = 0) -> list:
    """Articles `first` to `count` through save_batch, in publication order; (stored, ms per
    article) per step."""
    writer = Writer(sources, seed=27 + first)
    rng = np.random.default_rng(1)
    published = sorted(now - timedelta(seconds=float(s))
                       for s in rng.uniform(0, 365 * 86400, size=count))
    run_ids = {s: store.start_run(s, pid=os.getpid()) for s in sources}
    steps, step = [], max(BATCH, count // 10)
    save_seconds = keys_seconds = 0.0
    for start in range(first, count, BATCH):
        begun = time.perf_counter()
        batch = [writer.article(n, published[n]) for n in range(start, min(count, start + BATCH))]
        keys_seconds += time.perf_counter() - begun
        begun = time.perf_counter()
        store.save_batch(batch, [], run_ids)
        save_seconds += time.perf_counter() - begun
        done = start + len(batch)
        if done % step == 0 or done == count:
            since = done - (steps[-1][0] if steps else first)
            steps.append((done, 1000 * save_seconds / since, 1000 * keys_seconds / since))
            print(f"  {done:>9,} articles: save_batch {steps[-1][1]:.2f} ms/article "
                  f"(making the article and its keys: {steps[-1][2]:.2f} ms)", flush=True)
            save_seconds = keys_seconds = 0.0
    for run_id in run_ids.values():
        store.finish_run(run_id, "ok")
    return steps


def insert_runs(store: ArticleStore, count: int, sources: list[str], now: datetime) -> float:
    """`count` runs, one check per source every 5 minutes up to `now`: 95.8 % stored
    nothing, 3 % stored articles, 1 % partial (one error row each), 0.2 % failed."""
    rng = np.random.default_rng(2)
    per_source = -(-count // len(sources))
    begun = time.perf_counter()
    conn = store.db.conn
    host = socket.gethostname()
    made, chunk = 0, 200_000
    first = now - timedelta(minutes=5 * per_source)
    while made < count:
        n = min(chunk, count - made)
        at = np.arange(made, made + n)
        tick, which = at // len(sources), at % len(sources)
        roll = rng.random(n)
        rows, errors = [], []
        for i in range(n):
            started = first + timedelta(minutes=5 * int(tick[i]), seconds=int(which[i]) % 300)
            seconds = 1 + int(roll[i] * 1000) % 9
            status, new, errs, pages = "ok", 0, 0, 2
            if roll[i] < 0.002:
                status, errs, pages = "failed", 1, 1
            elif roll[i] < 0.012:
                status, errs, pages = "partial", 1, 3
            elif roll[i] < 0.042:
                new = 1 + int(roll[i] * 1e6) % 5
                pages = 2 + new
            rows.append((sources[which[i]], started.isoformat(timespec="seconds"),
                         (started + timedelta(seconds=seconds)).isoformat(timespec="seconds"),
                         status, pages, new, 0, 0, pages - new - errs, errs, 18_000 * pages,
                         4242, host))
        with store.write():
            cursor = conn.cursor()
            for row in rows:
                cursor.execute(
                    "INSERT INTO runs (source, started, finished, status, pages, articles_new, "
                    "articles_updated, not_articles, listings, errors, bytes, pid, host) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                    row[:6] + row[7:])
                if row[9]:
                    errors.append((cursor.lastrowid, row[0], f"https://{row[0]}.example/feed",
                                   "timeout" if row[3] == "partial" else "dns",
                                   "no answer in 30 s", row[1]))
            conn.executemany("INSERT INTO errors (run_id, source, url, kind, message, at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", errors)
        made += n
        if made % 2_000_000 < chunk:
            print(f"  {made:>11,} runs", flush=True)
    return time.perf_counter() - begun


def table_sizes(path: Path) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    finally:
        conn.close()


def article_bytes(path: Path, store: ArticleStore) -> dict:
    """The file against the articles' stored text (title, description and text, UTF-8)."""
    sizes = table_sizes(path)
    run_parts = sum(v for k, v in sizes.items()
                    if re.search(r"(^|_)(runs|errors|runs_daily|runs_per_day)($|_)", k))
    articles, text = store.db.execute(
        "SELECT count(*), sum(length(CAST(coalesce(title, '') || coalesce(description, '') "
        "|| coalesce(text, '') AS BLOB))) FROM articles").fetchone()
    return {"file": path.stat().st_size, "runs_part": run_parts, "articles": articles,
            "text": text, "sizes": sizes}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Timer:
    def __init__(self, base: str):
        self.base = base
        self.rows: list[tuple[str, float, float]] = []

    def get(self, path: str) -> tuple[float, bytes]:
        """The time to the whole answer; an error's (Datasette's "SQL query took too
        long" is a 400) is timed and said too."""
        begun = time.perf_counter()
        try:
            with urllib.request.urlopen(self.base + path, timeout=120) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            found = re.search(rb'"error": "([^"]*)"', body)
            print(f"    HTTP {exc.code}: {found.group(1).decode() if found else body[:200]}")
        return time.perf_counter() - begun, body

    def time(self, label: str, path: str, times: int = 3) -> bytes:
        seconds, body = zip(*(self.get(path) for _ in range(times)))
        self.rows.append((label, seconds[0], statistics.median(seconds)))
        print(f"  {label:<46} first {seconds[0]:6.3f} s   median {statistics.median(seconds):6.3f} s",
              flush=True)
        return body[0]


def dashboard_queries() -> list[tuple[str, str]]:
    """The dashboard's chart queries as a browser first asks them (no source picked)."""
    meta = yaml.safe_load((ROOT / "crawler" / "datasette" / "metadata.yml").read_text())
    charts = meta["plugins"]["datasette-dashboards"]["newsmill"]["charts"]
    return [(name, re.sub(r"\[\[.*?\]\]", "", chart["query"], flags=re.S))
            for name, chart in charts.items()]


def timed_out(page: bytes) -> None:
    """Datasette's own note of the facets that ran past facet_time_limit_ms."""
    found = re.search(rb"These facets timed out: ([^<]*)", page)
    if found:
        print(f"    these facets timed out: {found.group(1).decode()}")


def measure_reads(path: Path, sources_file: Path, search_words: list[str]) -> dict:
    port = free_port()
    log = open(f"/tmp/newsmill-serve-{port}.log", "w")
    server = subprocess.Popen([str(NEWSMILL), "serve", "--db", str(path), "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    timer = Timer(f"http://127.0.0.1:{port}")
    result: dict = {}
    try:
        for _ in range(600):
            try:
                timer.get("/-/versions.json")
                break
            except OSError:
                time.sleep(0.2)
        page = timer.time("articles table, first page", "/newsmill/articles")
        timed_out(page)
        data = json.loads(timer.get("/newsmill/articles.json")[1])
        some = data["rows"][len(data["rows"]) // 2][data["columns"].index("id")]
        timer.time("article page", f"/newsmill/articles/{some}")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        for word in search_words:
            matches = conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts "
                                   "MATCH ?", (f'"{word}"',)).fetchone()[0]
            # What the articles page's search box sends.
            body = timer.time(f"search {word!r} ({matches:,} matches)", "/newsmill/articles?" +
                              urllib.parse.urlencode({"_search": word}))
            following = re.search(rb'href="([^"]*_next=[^"]*)"', body)
            if following:
                link = urllib.parse.urlsplit(html.unescape(following.group(1).decode()))
                timer.time("  its next page", f"{link.path}?{link.query}")
        conn.close()
        timed_out(timer.time("runs table, first page", "/newsmill/runs"))
        timer.time("dashboard page (source picker)", "/-/dashboards/newsmill")
        total_first, total_median = timer.rows[-1][1], timer.rows[-1][2]
        for name, sql in dashboard_queries():
            body = timer.time(f"  chart {name}", "/newsmill.json?" + urllib.parse.urlencode(
                {"sql": sql, "_shape": "objects"}))
            total_first += timer.rows[-1][1]
            total_median += timer.rows[-1][2]
            shown = json.loads(body)
            if not shown.get("ok", True):
                continue
            if name == "articles-per-day":
                result["articles_per_day_series"] = len({r["source"] for r in shown["rows"]})
            if shown.get("truncated"):
                print(f"    (truncated at {len(shown['rows'])} rows)")
        print(f"  {'dashboard, page and charts together':<46} first {total_first:6.3f} s   "
              f"median {total_median:6.3f} s")
        result["dashboard"] = (total_first, total_median)
        # The canned query that reads every source's runs and articles: the sources gone
        # quiet for a week, and (every source quiet) for the last quarter of an hour.
        for days in ("", "0.01"):
            timer.time(f"canned query quiet_sources, days={days or 7}",
                       "/newsmill/quiet_sources.json?" + urllib.parse.urlencode({"days": days}))
    finally:
        server.terminate()
        server.wait()
        log.close()
    seconds = []
    for _ in range(3):
        begun = time.perf_counter()
        subprocess.run([str(NEWSMILL), "status", "--db", str(path), "--sources",
                        str(sources_file)], check=True, stdout=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - begun)
    timer.rows.append(("newsmill status", seconds[0], statistics.median(seconds)))
    print(f"  {'newsmill status, every source':<46} first {seconds[0]:6.3f} s   "
          f"median {statistics.median(seconds):6.3f} s")
    result["times"] = timer.rows
    return result


def run_history_year(store: ArticleStore, path: Path, sources: int, keep_days: int = 30) -> None:
    """Fold runs older than `keep_days` into runs_daily (timed), then the run history of a
    simulated year (sources checked every 5 minutes) with and without the roll-up, from
    bytes per row measured in this store."""
    before = (datetime.now(UTC) - timedelta(days=keep_days)).isoformat(timespec="seconds")
    rows_before = store.db.execute("SELECT count(*) FROM runs").fetchone()[0]
    kept_share = store.db.execute(  # of all runs, before the roll-up leaves mostly these
        "SELECT avg(status != 'ok' OR articles_new > 0 OR articles_updated > 0 OR errors > 0) "
        "FROM runs").fetchone()[0]
    begun = time.perf_counter()
    folded = store.roll_up_runs(before)
    took = time.perf_counter() - begun
    print(f"  roll-up of runs older than {keep_days} days: {folded:,} of {rows_before:,} runs "
          f"folded in {took:.1f} s ({1e6 * took / max(folded, 1):.0f} µs a run, pauses included)")
    sizes = table_sizes(path)
    runs_rows = store.db.execute("SELECT count(*) FROM runs").fetchone()[0]
    daily_rows = store.db.execute("SELECT count(*) FROM runs_daily").fetchone()[0]
    runs_bytes = sum(v for k, v in sizes.items()
                     if k == "runs" or k.startswith(("idx_runs", "runs_per_day", "sqlite_autoindex_runs_per")))
    daily_bytes = sum(v for k, v in sizes.items() if "runs_daily" in k)
    per_run = runs_bytes / runs_rows
    per_daily = daily_bytes / max(daily_rows, 1)
    year = sources * CHECKS_PER_DAY * 365
    without = year * per_run
    kept = sources * CHECKS_PER_DAY * (keep_days + (365 - keep_days) * kept_share)
    with_roll_up = kept * per_run + sources * (365 - keep_days) * per_daily
    print(f"  a run row with its indexes: {per_run:.0f} bytes; a runs_daily row: {per_daily:.0f}"
          f" bytes; runs kept in full past {keep_days} days: {100 * kept_share:.1f} %")
    print(f"  a simulated year, {sources:,} sources every 5 minutes ({year / 1e6:.0f} M checks): "
          f"{without / 1e9:.1f} GB of run history without the roll-up, "
          f"{with_roll_up / 1e9:.2f} GB with it ({kept / 1e6:.1f} M runs + "
          f"{sources * (365 - keep_days):,} runs_daily rows)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000_000)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--db", default="/tmp/newsmill-scale.db")
    parser.add_argument("--reuse", action="store_true", help="measure an existing store")
    parser.add_argument("--resume", action="store_true",
                        help="grow an existing store (a build that was stopped) to --articles "
                             "and --runs, then measure it")
    parser.add_argument("--roll-up", action="store_true",
                        help="then roll up runs older than 30 days and size a year of runs")
    args = parser.parse_args()
    path = Path(args.db)
    sources = [f"source-{i:04d}" for i in range(args.sources)]
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"{os.cpu_count()} cores; {path}")
    if not (args.reuse or args.resume):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    begun = time.perf_counter()
    store = ArticleStore(path)
    print(f"opened (migrations included) in {time.perf_counter() - begun:.1f} s")
    if not args.reuse:
        # The run history first, then the crawls that store the articles: runs are numbered
        # as they start, which the roll-up and `newsmill status` rely on. A resumed build
        # has its runs (their number is not checked) and goes on from its last article.
        have = store.db.execute("SELECT count(*) FROM articles").fetchone()[0] if args.resume else 0
        if not args.resume:
            print(f"inserting {args.runs:,} runs")
            took = insert_runs(store, args.runs, sources, now - timedelta(minutes=1))
            print(f"  {took:.0f} s, {1e6 * took / max(args.runs, 1):.1f} µs a run")
        print(f"writing {args.articles - have:,} articles through save_batch, {BATCH} a batch "
              f"({have:,} there before)")
        write_articles(store, args.articles, sources, now, first=have)
    weight = article_bytes(path, store)
    articles_part = weight["file"] - weight["runs_part"]
    print(f"file {weight['file'] / 1e9:.2f} GB; runs and errors {weight['runs_part'] / 1e9:.2f} GB;"
          f" the rest {articles_part / weight['articles']:.0f} bytes per article, "
          f"{articles_part / weight['text']:.2f} × the stored text "
          f"({weight['text'] / weight['articles']:.0f} bytes per article)")
    largest = sorted(weight["sizes"].items(), key=lambda kv: -kv[1])[:12]
    print("  largest: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in largest))
    sources_file = path.with_suffix(".sources.toml")
    sources_file.write_text("".join(f'[[sources]]\nname = "{s}"\nurls = ["https://{s}.example/'
                                    f'feed.xml"]\n' for s in sources))
    writer = Writer(sources)
    # From a word in a fifth of the articles to the rarest (1,968 matches, under MANY_MATCHES).
    search_words = [str(writer.words[i]) for i in (150, 1000, 5000, 19999)]
    store.close()
    print("reads over HTTP (newsmill serve) and newsmill status")
    measure_reads(path, sources_file, search_words)
    if args.roll_up:
        store = ArticleStore(path)
        run_history_year(store, path, args.sources)
        store.close()


if __name__ == "__main__":
    main()
