"""The store's side of `newsmill reextract` (crawler/reextract.py): an article extracted
again from its archived page gets the new text and fields as a new version marked
're-extraction', is judged again against the other articles where its text changed, and
the re-extraction's progress is written in the same transaction as its articles.

Not `ArticleJudgement.save_batch`: that judges a page by its URL, as a fetch, where a
re-extraction knows which article it is (its id travels with the page, in `fetch`), must
not add a URL or touch `last_seen` (nothing was fetched), and keeps a change as a version
even when only the fields changed. The judgements themselves (the near-duplicate index,
similarity, which of two texts is the original) are the store's and fingerprints'.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, deque

from scrapy import signals

from pipelines.article_judgement import OUTCOME_COLUMN, is_original_of, keep_version
from pipelines.items import Article, FetchError, Page
from pipelines.storage import POLICY_KINDS, StoragePipeline, fields_of
from pipelines.store_core import utcnow

logger = logging.getLogger(__name__)

REASON = "re-extraction"  # article_versions.reason of a version a re-extraction replaced
# The fields a re-extraction compares and writes (`articles` columns).
FIELDS = ("title", "author", "published", "modified", "sitename", "publisher", "description",
          "section", "tags", "image", "language", "text", "word_count", "content_hash")
NOT_ARCHIVED = "not_archived"  # errors.kind of an article no archived page is kept of


class ReextractionProgress:
    """Which articles of a re-extraction are done: every id up to `last`, and `above`.

    Articles are handed out in id order and finish in any order (two extraction workers,
    batches): `last` only moves past an id once every id handed out before it is done, and
    the few done beyond it are kept by id. Both are written with the batch that did them.
    """

    def __init__(self, reextraction_id: int, last: int, above: list[int]):
        self.id = reextraction_id
        self.last = last
        self.above = set(above)  # done ids past `last` (from an earlier run, then this one's)
        self.open: deque[int] = deque()  # ids handed out, in order, up to the first not done
        self.done: set[int] = set()  # ids done this run, not yet past `last`
        self.by_url: dict[str, int] = {}  # the page each id went out as (for FetchErrors)
        self.unsaved: set[int] = set()  # done, not yet written

    def skip(self, article_id: int) -> bool:
        """Whether an earlier run did this article; if so it counts as done now."""
        if article_id not in self.above:
            return False
        self.open.append(article_id)
        self.done.add(article_id)
        return True

    def handed_out(self, article_id: int, url: str) -> None:
        self.open.append(article_id)
        self.by_url[url] = article_id

    def id_of(self, item) -> int | None:
        if isinstance(item, (Article, Page)) and "reextraction" in item.fetch:
            return item.fetch["reextraction"]
        return self.by_url.get(getattr(item, "url", None))

    def finished(self, article_id: int | None) -> None:
        if article_id is not None:
            self.unsaved.add(article_id)

    def state(self) -> tuple[int, list[int]]:
        """(last, above) with what is unsaved counted as done: the row to write."""
        self.done |= self.unsaved
        self.unsaved = set()
        while self.open and self.open[0] in self.done:
            self.last = max(self.last, self.open.popleft())
        self.done = {i for i in self.done if i > self.last}
        self.above = {i for i in self.above if i > self.last}
        return self.last, sorted(self.done | self.above)

    def all_done(self) -> bool:
        return not self.open and not self.unsaved


def save_reextracted(store, articles: list[dict], errors: list[dict], run_ids: dict[str, int],
                     progress: ReextractionProgress, merge_copies: bool = False) -> Counter:
    """Write a batch of re-extracted articles and errors, and the progress they make, in one
    transaction of `store` (an ArticleStore). Returns counts keyed by (source, outcome)."""
    outcomes: Counter = Counter()
    with store.write() as db:
        if errors:
            db["errors"].insert_all({**e, "run_id": run_ids.get(e["source"])} for e in errors)
            for source, n in Counter(e["source"] for e in errors).items():
                if source in run_ids:
                    store.add_to_run(run_ids[source], errors=n)
        for article in articles:
            outcomes[article["source"], reextracted(store, article, merge_copies)] += 1
        for (source, outcome), n in outcomes.items():
            if source in run_ids and outcome in OUTCOME_COLUMN:
                store.add_to_run(run_ids[source], **{OUTCOME_COLUMN[outcome]: n})
        write_progress(store, progress)
    return outcomes


def write_progress(store, progress: ReextractionProgress, finished: bool = False) -> None:
    last, above = progress.state()
    store.db.execute("UPDATE reextractions SET last_article_id = ?, done_above = ?, "
                     "finished = ? WHERE id = ?",
                     [last, json.dumps(above), utcnow() if finished else None, progress.id])


def reextracted(store, article: dict, merge_copies: bool = False) -> str:
    """One article extracted again: 'updated' (a new version), 'unchanged', 'duplicate' (its
    new text is another article's and REEXTRACT_MERGE_COPIES is on: one of the two is now
    a copy of the other)."""
    article_id = article["fetch"]["reextraction"]
    cursor = store.db.execute("SELECT * FROM articles WHERE id = ?", [article_id])
    row = cursor.fetchone()
    if row is None:  # merged into another in this re-extraction (as a copy): nothing to do
        return "unchanged"
    stored = dict(zip([d[0] for d in cursor.description], row))
    new = {name: article.get(name) for name in FIELDS}
    new["tags"] = json.dumps(new["tags"] or [], ensure_ascii=False)
    claim = article.get("claims_original")
    if claim is not None and claim != stored["claims_original"]:
        # What the page declares, judged by today's code: no change of the article's own.
        store.db.execute("UPDATE articles SET claims_original = ? WHERE id = ?", [claim, article_id])
    if all((new[name] or None) == (stored[name] or None) for name in FIELDS):
        return "unchanged"
    db = store.db
    keep_version(db, article_id, REASON)
    db["articles"].update(article_id, {**new, "version": stored["version"] + 1})
    if new["content_hash"] == stored["content_hash"]:
        return "updated"
    # Every key of the article, by the article_id index (schema 13), rather than
    # ArticleJudgement._remove_keys's: that works the old text's keys out again (MinHash,
    # ~1 ms of the command's CPU per changed article).
    store.db.execute("DELETE FROM near_duplicate_keys WHERE article_id = ?", [article_id])
    keys = article.get("near_duplicate_keys") or []
    store._add_keys(article_id, keys)
    return judge_again(store, {**stored, **new, "id": article_id,
                               "claims_original": claim if claim is not None
                               else stored["claims_original"]}, keys, merge_copies)


def judge_again(store, article: dict, keys: list[int], merge_copies: bool = False) -> str:
    """Whether the article's new text is another stored article's (the same text, or one at
    least NEWSMILL_NEAR_DUPLICATE_THRESHOLD similar), as a crawl judges a new page; if so,
    with REEXTRACT_MERGE_COPIES, the later publication becomes a copy of the earlier
    (is_original_of), which removes its row and versions.

    Without it (the default) both stay articles and a warning names them: a merge deletes
    stored rows, and an engine or option that extracts the same boilerplate from every page
    of a site would otherwise fold the site's articles into one. Run again with the setting
    once the new texts are known good."""
    from pipelines.fingerprints import similarity

    article_id = article["id"]
    other, score = None, 0.0
    row = store.db.execute("SELECT id FROM articles WHERE content_hash = ? AND id != ? "
                           "ORDER BY id LIMIT 1", [article["content_hash"], article_id]).fetchone()
    if row is not None:
        other, score = store._article(row[0]), 1.0
    else:
        for candidate_id in store.near_duplicate_candidates(keys):
            if candidate_id == article_id:
                continue
            candidate = store._article(candidate_id)
            found = similarity(article["text"] or "", candidate["text"] or "")
            if found >= store.near_duplicate_threshold and found > score:
                other, score = candidate, found
        score = round(min(score, 0.9999), 4)
    if other is None:
        return "updated"
    kind = "duplicate" if score == 1.0 else "near_duplicate"
    if not merge_copies:
        logger.warning("re-extraction: article %d's new text is a %s of article %d's "
                       "(similarity %.2f); both kept (-s REEXTRACT_MERGE_COPIES=True merges "
                       "them)", article_id, kind.replace("_", "-"), other["id"], score)
        return "updated"
    if is_original_of(article, other):
        merge(store, other["id"], article_id, kind, score)
    else:
        merge(store, article_id, other["id"], kind, score)
    return "duplicate"


def merge(store, copy_id: int, original_id: int, kind: str, similarity: float) -> None:
    """Article `copy_id` becomes a copy of `original_id`, as a crawl that had extracted its
    text so would have stored it: its URLs, fetch records and archived pages go to the
    original (its own URLs as `kind`), and its row, versions and index keys are removed."""
    db = store.db
    logger.warning("re-extraction: article %d is now a %s of article %d (similarity %.2f)",
                   copy_id, kind.replace("_", "-"), original_id, similarity)
    db.execute("UPDATE article_urls SET kind = ?, similarity = ? WHERE article_id = ? AND kind "
               "IN ('canonical', 'alias')", [kind, similarity, copy_id])
    db.execute("UPDATE article_urls SET article_id = ? WHERE article_id = ?", [original_id, copy_id])
    db.execute("UPDATE fetch_state SET article_id = ? WHERE article_id = ?", [original_id, copy_id])
    db.execute("UPDATE archived_pages SET article_id = ? WHERE article_id = ?", [original_id, copy_id])
    db.execute("DELETE FROM near_duplicate_keys WHERE article_id = ?", [copy_id])
    db.execute("DELETE FROM article_versions WHERE article_id = ?", [copy_id])
    db.execute("DELETE FROM articles WHERE id = ?", [copy_id])


class ReextractionStoragePipeline(StoragePipeline):
    """The storage pipeline of `newsmill reextract`: batches as a crawl's, written by
    save_reextracted, with the re-extraction's progress (`crawler.reextraction`, a
    ReextractionProgress the spider hands articles out through)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        for signal in (signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_left, signal=signal)

    @property
    def progress(self) -> ReextractionProgress:
        """The re-extraction's progress; one that records nothing if the store never
        opened (the crawl then stops, with the store's error, before any article)."""
        progress = getattr(self.crawler, "reextraction", None)
        if progress is None:
            progress = self.crawler.reextraction = ReextractionProgress(0, 0, [])
        return progress

    def _open_runs(self) -> None:
        """A crawl's runs, and the re-extraction's progress so far (NEWSMILL_REEXTRACTION,
        a `reextractions` row made by the command), which the spider hands articles out by."""
        super()._open_runs()
        reextraction = self.crawler.settings.getint("NEWSMILL_REEXTRACTION")
        with self.store.write() as db:
            row = db["reextractions"].get(reextraction)
            runs = json.loads(row["run_ids"] or "[]") + list(self.run_ids.values())
            db["reextractions"].update(reextraction, {"run_ids": json.dumps(runs)})
        self.crawler.reextraction = ReextractionProgress(
            reextraction, row["last_article_id"], json.loads(row["done_above"] or "[]"))

    def item_left(self, item, **kwargs) -> None:
        """A page that ended before the store (no article found in it now; an exception):
        done all the same, and kept as it was stored."""
        self.progress.finished(self.progress.id_of(item))

    def process_item(self, item):
        if isinstance(item, FetchError) and item.kind == NOT_ARCHIVED:
            # Counted and named, but no failure of the run: an article stored before the
            # archive was on, or of a source with `archive = false`, has no page to read.
            self.errors.append(fields_of(item))
            self.stats.inc_value("newsmill/errors")
            self.progress.finished(self.progress.id_of(item))
            if len(self.errors) + len(self.articles) >= self.batch_size:
                self.flush()
            return item
        self.progress.finished(self.progress.id_of(item))
        return super().process_item(item)

    def _save(self, articles, errors, not_modified) -> Counter:
        return save_reextracted(self.store, articles, errors, self.run_ids, self.progress,
                                self.crawler.settings.getbool("REEXTRACT_MERGE_COPIES"))

    def flush(self) -> None:
        super().flush()
        if self.progress.unsaved and self.progress.id and self.store is not None \
                and self.store_failure is None and not (self.articles or self.errors):
            with self.store.write():  # pages that left before the store (see item_left)
                write_progress(self.store, self.progress)

    def spider_closed(self, spider, reason: str) -> None:
        if self.opened and self.store is not None and self.store_failure is None \
                and reason == "finished" and self.progress.id:
            self.flush()
            self.progress.state()
            if self.progress.all_done():
                with self.store.write():
                    write_progress(self.store, self.progress, finished=True)
        super().spider_closed(spider, reason)


__all__ = ["FIELDS", "NOT_ARCHIVED", "POLICY_KINDS", "REASON", "ReextractionProgress",
           "ReextractionStoragePipeline", "save_reextracted"]
