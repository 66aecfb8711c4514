"""Where an article is judged new, updated, unchanged or a duplicate, and written: one
`articles` row per article, its URLs, versions, near-duplicate keys and fetch state."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from pipelines.store_core import utcnow
from pipelines.urls import scheme_and_www_variants

logger = logging.getLogger("pipelines.database")

# Which outcome a run counts when one article comes back several times in it; the other
# pages of that article count as `alias` (runs.aliases).
OUTCOME_RANK = {"unchanged": 0, "duplicate": 1, "new": 2, "updated": 3}
# The runs column each outcome of save_batch is counted in.
OUTCOME_COLUMN = {"new": "articles_new", "updated": "articles_updated",
                  "unchanged": "articles_unchanged", "duplicate": "articles_duplicate",
                  "alias": "aliases"}

# A page fetched this long before the stored text was last seen is an older capture, not
# an edit: clocks of machines crawling into one store may differ by seconds, never by this.
OLDER_CAPTURE = timedelta(minutes=10)


def older_capture(fetched_at: str, last_seen: str | None) -> bool:
    """A page fetched well before the stored text was last seen (a WARC from an earlier crawl
    imported after a newer one): its text is the past, and must not replace the newer."""
    if not last_seen:
        return False
    try:
        return datetime.fromisoformat(fetched_at) < datetime.fromisoformat(last_seen) - OLDER_CAPTURE
    except (TypeError, ValueError):
        return False


# The fields an earlier version keeps in article_versions.fields (schema 17), besides the
# title, text, content_hash and modified it has columns for.
VERSION_FIELDS = ("author", "published", "sitename", "publisher", "description", "section",
                  "tags", "image", "language")
_FIELDS_OBJECT = ", ".join(
    f"'{name}', CASE WHEN json_valid(tags) THEN json(tags) ELSE tags END" if name == "tags"
    else f"'{name}', {name}" for name in VERSION_FIELDS)


def keep_version(db, article_id: int, reason: str = "fetched") -> None:
    """Keep the article as it is now in article_versions, before it changes: its title,
    text and fields, and why it is replaced (`reason`: 'fetched' or 're-extraction')."""
    db.execute(
        "INSERT INTO article_versions (article_id, version, title, text, content_hash, "
        "modified, seen_at, reason, fields) SELECT id, version, title, text, content_hash, "
        f"modified, last_seen, ?, json_object({_FIELDS_OBJECT}) FROM articles WHERE id = ?",
        [reason, article_id])


class ArticleJudgement:
    """ArticleStore's article writes (a mixin: needs `db` and `write()` from StoreConnection,
    `add_to_run` from RunRecords)."""

    # --- articles and errors ---------------------------------------------------------
    def save_batch(self, articles: list[dict], errors: list[dict], run_ids: dict[str, int],
                   not_modified: list[dict] = (), counted: dict | None = None) -> Counter:
        """Write a batch of articles, not-modified answers and errors in one transaction.

        Every judgement (new, updated, unchanged, duplicate) is made inside the write
        transaction, so two crawls writing at once see each other's rows. `counted` maps
        (source, url) to the outcome already counted in these runs: an article seen again
        under another URL of the same source (its AMP page, say) is not counted twice.
        Returns counts keyed by (source, outcome).
        """
        counted = {} if counted is None else counted
        outcomes: Counter = Counter()
        with self.write():
            if errors:
                self.db["errors"].insert_all(
                    {**e, "run_id": run_ids.get(e["source"])} for e in errors)
                # A run's `limit` row stands for requests never made, not for a page.
                pages = Counter(e["source"] for e in errors if e["url"] or e["kind"] != "limit")
                for source, n in pages.items():
                    if source in run_ids:
                        self.add_to_run(run_ids[source], errors=n)
            judged = [(a["source"], *self._save_article(a)) for a in articles]
            judged += self._save_not_modified(list(not_modified))
            for source, outcome, counted_as in judged:
                before = counted.get((source, counted_as))
                if before is None:
                    counted[source, counted_as] = outcome
                elif OUTCOME_RANK[outcome] > OUTCOME_RANK[before]:
                    # Its AMP page may come before the article's own page: the stronger
                    # outcome (updated over unchanged) is the one the run counts.
                    counted[source, counted_as] = outcome
                    outcomes[source, before] -= 1
                    outcomes[source, "alias"] += 1
                else:
                    outcome = "alias"  # another page of an article this run counted already
                outcomes[source, outcome] += 1
            for (source, outcome), n in outcomes.items():
                if source in run_ids and n:
                    self.add_to_run(run_ids[source], **{OUTCOME_COLUMN[outcome]: n})
        return outcomes

    def _save_article(self, article: dict) -> tuple[str, str]:
        """Store one extracted article; returns (outcome, the URL it is counted under)."""
        now = article.pop("fetched_at", None) or utcnow()
        seen_urls = article.pop("seen_urls", [])
        fetch = article.pop("fetch", None) or {}
        keys = article.pop("near_duplicate_keys", [])
        article["tags"] = json.dumps(article.get("tags") or [], ensure_ascii=False)
        url = article["url"]
        existing, kind = self._article_for_url(url)
        if existing is not None and kind in ("duplicate", "near_duplicate"):
            article_id, outcome = existing["id"], "duplicate"
            if url in fetch.get("urls", [url]) and is_original_of(article, existing):
                # The page itself, fetched again, tells that it is the original after all
                # (the article's claim was unknown before, or what a page declares changed).
                self._crown(existing, article, keys, seen_urls, now, kind, existing["similarity"])
            else:  # a page already known as a copy of another article: still a copy
                self._touch(article_id, now)
                self._add_urls(article_id, article["source"], seen_urls, now, kind,
                               existing["similarity"])
        elif existing is not None and self._claims_other_text(existing, article, fetch):
            # rel=canonical points at a page with another text (some sites point every page
            # at their home page): this page is an article of its own, at its own URL.
            article["url"] = fetch["urls"][-1]
            seen_urls = [u for u in seen_urls if u != url]
            article_id, outcome, url = self._save_new_url(article, keys, seen_urls, now)
        elif existing is not None:
            article_id = existing["id"]
            outcome = self._update_article(existing, article, keys, fetch, now)
            self._add_urls(article_id, article["source"], [url, *seen_urls], now, "alias")
        else:
            article_id, outcome, url = self._save_new_url(article, keys, seen_urls, now)
        self._record_fetch(fetch, article["source"], article_id, now)
        return outcome, url

    def _save_new_url(self, article: dict, keys: list[int], seen_urls: list[str], now: str):
        """An article URL never seen: a new article, a copy of a stored one, or the
        original of a stored copy."""
        url, source = article["url"], article["source"]
        original, similarity = self.find_duplicate(article, keys)
        if original is None:
            table = self.db["articles"]
            table.insert({**article, "version": 1, "first_seen": now, "last_seen": now})
            article_id = table.last_pk
            self._add_keys(article_id, keys)
            self._add_urls(article_id, source, [url], now, "canonical")
            self._add_urls(article_id, source, seen_urls, now, "alias")
            return article_id, "new", url
        kind = "duplicate" if similarity == 1.0 else "near_duplicate"
        article_id = original["id"]
        if is_original_of(article, original):
            # The stored article is a copy of this page (syndication found first).
            self._crown(original, article, keys, seen_urls, now, kind, similarity)
        else:
            self._touch(article_id, now)
            self._add_urls(article_id, source, [url, *seen_urls], now, kind, similarity)
        return article_id, "duplicate", url

    def _crown(self, stored: dict, article: dict, keys: list[int], seen_urls: list[str],
               now: str, kind: str, similarity: float | None) -> None:
        """`article`, the original of the `stored` article's page, becomes the article: the
        row keeps its id (what points at it stays right) and takes the original's URL,
        source and fields; the stored page's URLs become its copies (`kind`)."""
        article_id, url, source = stored["id"], article["url"], article["source"]
        self._remove_keys(article_id, stored["text"])
        self.db.execute("UPDATE article_urls SET kind = ?, similarity = ? WHERE article_id = ? "
                        "AND kind IN ('canonical', 'alias')", [kind, similarity, article_id])
        self.db["articles"].update(article_id, {**article, "last_seen": now})
        self._add_keys(article_id, keys)
        self._set_urls(article_id, source, [url], now, "canonical")
        self._set_urls(article_id, source, [u for u in seen_urls if u != url], now, "alias")

    def _claims_other_text(self, existing: dict, article: dict, fetch: dict) -> bool:
        """Fetched under another URL, naming a stored article whose text is not its own."""
        from pipelines.fingerprints import similarity

        fetched = fetch.get("urls") or []
        if not fetched or article["url"] in fetched or existing["url"] in fetched \
                or existing["content_hash"] == article["content_hash"]:
            return False
        if self._article_for_url(fetched[-1])[0] is not None:
            return False  # that URL is already known as this article's alias or a copy
        return similarity(existing["text"] or "", article["text"]) < self.near_duplicate_threshold

    def _update_article(self, existing: dict, article: dict, keys: list[int], fetch: dict,
                        now: str) -> str:
        """A known article fetched again: unchanged, or a new version.

        Only the article's own page makes a version: its AMP or print page, fetched under
        another URL, may differ in small ways and must not make versions flip back and forth.
        Nor does the own page of an article first stored from its AMP or print page.
        """
        article_id = existing["id"]
        same = (existing["content_hash"] == article["content_hash"]
                and existing["title"] == article.get("title"))
        own_page = article["url"] in fetch.get("urls", [article["url"]]) or \
            existing["url"] in fetch.get("urls", [])
        claim = article.get("claims_original")
        if own_page and claim is not None and claim != existing["claims_original"]:
            # What the page declares now (an article stored before schema 8 had no claim):
            # a copy of it found later, or fetched again, is judged against this.
            self.db.execute("UPDATE articles SET claims_original = ? WHERE id = ?",
                            [claim, article_id])
        if same or not own_page or older_capture(now, existing["last_seen"]):
            self._touch(article_id, now)
            return "unchanged"
        changes = {k: v for k, v in article.items() if k not in ("url", "source")}
        if fetch.get("urls") and not self._fetched(existing["url"]):
            # First stored from its AMP or print page (fetched first, its article only asked
            # for then): the article's own page takes its place, and nothing was edited.
            self._remove_keys(article_id, existing["text"])
            self._add_keys(article_id, keys)
            self.db["articles"].update(article_id, {**changes, "last_seen": now})
            return "unchanged"
        keep_version(self.db, article_id)
        self._remove_keys(article_id, existing["text"])
        self._add_keys(article_id, keys)
        changes["modified"] = article.get("modified") or now
        self.db["articles"].update(
            article_id, {**changes, "version": existing["version"] + 1, "last_seen": now})
        return "updated"

    def _fetched(self, url: str) -> bool:
        """Whether this URL (or its http/https, www twin) was ever fetched (fetch_state)."""
        variants = scheme_and_www_variants(url)
        return self.db.execute(f"SELECT 1 FROM fetch_state WHERE url IN ({', '.join('?' * len(variants))}) "
                               "LIMIT 1", variants).fetchone() is not None

    def _article_for_url(self, url: str) -> tuple[dict | None, str | None]:
        """The stored article this URL (or its http/https, www twin) belongs to, and how."""
        variants = scheme_and_www_variants(url)
        marks = ", ".join("?" * len(variants))
        row = self.db.execute(
            f"SELECT id FROM articles WHERE url IN ({marks}) ORDER BY id LIMIT 1", variants
        ).fetchone()
        kind, similarity = "canonical", None
        if row is None:
            row = self.db.execute(
                f"SELECT article_id, kind, similarity FROM article_urls WHERE url IN ({marks}) "
                "ORDER BY url = ? DESC LIMIT 1", [*variants, url]).fetchone()
            if row is None:
                return None, None
            kind, similarity = row[1], row[2]
        article = self._article(row[0])
        article["similarity"] = similarity
        return article, kind

    def _article(self, article_id: int) -> dict:
        return dict(zip(
            ("id", "url", "content_hash", "title", "text", "version", "modified", "last_seen",
             "published", "claims_original"),
            self.db.execute("SELECT id, url, content_hash, title, text, version, modified, "
                            "last_seen, published, claims_original FROM articles WHERE id = ?",
                            [article_id]).fetchone()))

    def find_duplicate(self, article: dict, keys: list[int]) -> tuple[dict | None, float]:
        """The stored article with the same text (similarity 1.0), else the most similar
        one at or above the threshold among those sharing a near-duplicate key."""
        from pipelines.fingerprints import similarity

        row = self.db.execute("SELECT id FROM articles WHERE content_hash = ? ORDER BY id LIMIT 1",
                              [article["content_hash"]]).fetchone()
        if row is not None:
            return self._article(row[0]), 1.0
        best, best_similarity = None, 0.0
        for candidate_id in self.near_duplicate_candidates(keys):
            candidate = self._article(candidate_id)
            score = similarity(article["text"], candidate["text"] or "")
            if score >= self.near_duplicate_threshold and score > best_similarity:
                best, best_similarity = candidate, score
        return best, round(min(best_similarity, 0.9999), 4)

    def near_duplicate_candidates(self, keys: list[int]) -> list[int]:
        """Articles sharing at least one LSH band key: an index lookup per key."""
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT article_id FROM near_duplicate_keys WHERE key IN ({marks})", keys)]

    def _add_keys(self, article_id: int, keys: list[int]) -> None:
        self.db.conn.executemany("INSERT OR IGNORE INTO near_duplicate_keys VALUES (?, ?)",
                            [(k, article_id) for k in keys])

    def _remove_keys(self, article_id: int, old_text: str | None) -> None:
        from pipelines.fingerprints import near_duplicate_keys

        self.db.conn.executemany("DELETE FROM near_duplicate_keys WHERE key = ? AND article_id = ?",
                            [(k, article_id) for k in near_duplicate_keys(old_text or "")])

    def _touch(self, article_id: int, now: str) -> None:
        self.db.execute("UPDATE articles SET last_seen = ? WHERE id = ? AND last_seen < ?",
                        [now, article_id, now])

    def _add_urls(self, article_id: int, source: str, urls, now: str, kind: str,
                  similarity: float | None = None) -> None:
        """Record URLs of an article; a URL already recorded keeps what it was."""
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO article_urls (url, article_id, source, kind, similarity, "
            "first_seen) VALUES (?, ?, ?, ?, ?, ?)",
            [(u, article_id, source, kind, similarity, now) for u in dict.fromkeys(urls)])

    def _set_urls(self, article_id: int, source: str, urls, now: str, kind: str) -> None:
        self.db.conn.executemany(
            "INSERT INTO article_urls (url, article_id, source, kind, similarity, first_seen) "
            "VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (url) DO UPDATE SET "
            "article_id = excluded.article_id, kind = excluded.kind, similarity = NULL",
            [(u, article_id, source, kind, now) for u in dict.fromkeys(urls)])

    def _record_fetch(self, fetch: dict, source: str, article_id: int, now: str) -> None:
        """Remember what each URL of the request chain returned, for the next re-check."""
        self.db.conn.executemany(
            "INSERT INTO fetch_state (url, source, article_id, etag, last_modified, lastmod, "
            "status, fetched, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO "
            "UPDATE SET source = excluded.source, article_id = excluded.article_id, "
            "etag = excluded.etag, last_modified = excluded.last_modified, "
            "lastmod = coalesce(excluded.lastmod, lastmod), status = excluded.status, "
            "fetched = excluded.fetched, checked = excluded.checked",
            [(u, source, article_id, fetch.get("etag"), fetch.get("last_modified"),
              fetch.get("lastmod"), fetch.get("status"), now, now)
             for u in dict.fromkeys(fetch.get("urls", []))])

    def _save_not_modified(self, items: list[dict]) -> list[tuple[str, str | None, str]]:
        """Known URLs that did not change: their articles are seen, nothing else is written.

        One lookup per 500 URLs and two executemany for the whole batch, not a few
        statements per URL: a re-crawled sitemap brings thousands of them.
        Returns (source, outcome, the URL it is counted under) per item.
        """
        urls = list(dict.fromkeys(item["url"] for item in items))
        found: dict[str, tuple] = {}
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            found.update((row[0], row[1:]) for row in self.db.execute(
                "SELECT f.url, f.article_id, u.kind, a.url FROM fetch_state f JOIN articles a "
                "ON a.id = f.article_id LEFT JOIN article_urls u ON u.url = f.url "
                f"WHERE f.url IN ({', '.join('?' * len(chunk))})", chunk))
        known = [item for item in items if item["url"] in found]
        self.db.conn.executemany(
            "UPDATE fetch_state SET checked = ?, lastmod = coalesce(?, lastmod) WHERE url = ?",
            [(item["at"], item.get("lastmod"), item["url"]) for item in known])
        self.db.conn.executemany(
            "UPDATE articles SET last_seen = ? WHERE id = ? AND last_seen < ?",
            [(item["at"], found[item["url"]][0], item["at"]) for item in known])
        judged = []
        for item in items:
            if item["url"] not in found:  # the server said unchanged; the store forgot it
                judged.append((item["source"], "unchanged", item["url"]))
                continue
            _article_id, kind, article_url = found[item["url"]]
            if kind in ("duplicate", "near_duplicate"):
                judged.append((item["source"], "duplicate", item["url"]))
            else:
                judged.append((item["source"], "unchanged", article_url))
        return judged


def is_original_of(page: dict, stored: dict) -> bool:
    """Whether `page`, a page with the text of the `stored` article, is its original.

    The earlier publication is the original when the dates tell (_earlier); when they do
    not, the page that declares itself the original more strongly (`claims_original`:
    rel=canonical on its own site, declared an article, its own site as publisher; a
    rel=canonical naming another site's page says "copy"). Dates come first: a page's
    rel=canonical may name its own publisher's other domain (a regional edition), which
    is no sign of a copy. On a tie, or a claim unknown (an article stored before schema 8),
    the stored article stays. Each step gives the same answer for the same two pages
    whichever came first, so neither crawl order nor concurrent crawls choose the original.
    """
    if _earlier(page.get("published"), stored["published"]):
        return True
    if _earlier(stored["published"], page.get("published")):
        return False
    mine, theirs = page.get("claims_original"), stored["claims_original"]
    return mine is not None and theirs is not None and mine > theirs


# The offsets of the world's time zones run from UTC-12 to UTC+14: a date, or a time
# without an offset, can mean any of them.
_WEST, _EAST = timedelta(hours=12), timedelta(hours=14)


def _span(value: str) -> tuple[datetime, datetime, bool] | None:
    """(first, last, is_instant) of what a `published` value can mean; None if unreadable.

    A time with an offset is one instant (in UTC). A date is a whole day, and a time
    without an offset one wall-clock time, both in an unknown time zone.
    """
    value = value.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        first = datetime.combine(day, time())
        return first, first + timedelta(days=1) - timedelta(microseconds=1), False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment, moment, False
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment, moment, True


def _earlier(published: str | None, other: str | None) -> bool:
    """True when both dates are known and the first is certainly earlier.

    Compared at the coarser of their precisions: a date and a time of that day are the same
    day, neither earlier (a page showing only its date, as trafilatura reads it, is not
    earlier than the publisher's 09:00 that day). A date, or a time without an offset, is
    on a calendar of unknown time zone: against an instant it is earlier only if it is
    earlier in every time zone (an instant falls on the day before or the day after
    somewhere on Earth); two of them are compared as written.
    """
    if not published or not other:
        return False
    a, b = _span(published), _span(other)
    if a is None or b is None:
        return False
    (a_first, a_last, a_instant), (b_first, b_last, b_instant) = a, b
    if a_instant and not b_instant:  # the instant's wall-clock times across the zones
        a_first, a_last = a_first - _WEST, a_last + _EAST
    elif b_instant and not a_instant:
        b_first, b_last = b_first - _WEST, b_last + _EAST
    return a_last < b_first
