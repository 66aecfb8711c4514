"""The SQLite store: the one place that writes SQL for newsmill's tables.

`ArticleStore` is assembled from one module per job: the connection, migrations and write
transactions (store_core.py, schema.py), run and daemon records (run_records.py), the
judgement and writing of articles (article_judgement.py); the read-only look-ups and caches
the crawl keeps in the store are in lookups.py. Everything is importable from here.
"""

from __future__ import annotations

from pipelines.article_judgement import OUTCOME_COLUMN, OUTCOME_RANK, ArticleJudgement, _earlier, is_original_of
from pipelines.lookups import KnownUrls, ListingValidators, RobotsCache
from pipelines.run_records import RunRecords, process_is_alive
from pipelines.schema import ARTICLES_FTS_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from pipelines.store_core import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_MAX_PAGES,
    StoreConnection,
    StoreError,
    StoreWriteError,
    utcnow,
)

__all__ = [
    "ARTICLES_FTS_COLUMNS", "DEFAULT_BUSY_TIMEOUT", "DEFAULT_MAX_PAGES", "MIGRATIONS",
    "OUTCOME_COLUMN", "OUTCOME_RANK", "SCHEMA_VERSION", "ArticleStore", "KnownUrls",
    "ListingValidators", "RobotsCache", "StoreError", "StoreWriteError", "_earlier",
    "is_original_of", "process_is_alive", "utcnow",
]


class ArticleStore(ArticleJudgement, RunRecords, StoreConnection):
    """One SQLite file holding articles, their URLs and versions, runs and errors."""
