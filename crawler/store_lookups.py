"""Which look-ups of the store a crawl uses: chosen here, and only here.

pipelines/lookups.py defines each look-up (known URLs, robots.txt answers kept, listings'
validators) on the SQLite file; crawler/remote_lookups.py implements the same interface for a
crawl in `newsmill worker`, which has no file and asks the writer through Redis. The
middlewares, the spider and the pipelines ask for a kind, never for an implementation (the
pipelines through the NEWSMILL_STORE_LOOKUP setting, which names this function).
"""

from __future__ import annotations

from typing import TypeVar

from pipelines.lookups import KnownUrls, ListingValidators, RobotsCache

Lookup = TypeVar("Lookup", KnownUrls, RobotsCache, ListingValidators)


def store_lookup(kind: type[Lookup], settings, *args) -> Lookup:
    """The store's look-up of this kind for a crawl with these Scrapy settings: the SQLite
    file's (NEWSMILL_DB) on one machine; in `newsmill worker` (NEWSMILL_REDIS_URL), the
    writer's, asked through Redis. `args` go to the look-up (RobotsCache: its max age)."""
    if settings.get("NEWSMILL_REDIS_URL"):
        # Imported here: a crawl on one machine needs neither redis-py nor the link.
        from crawler.remote_lookups import REMOTE, StoreQuestions

        return REMOTE[kind](StoreQuestions.from_settings(settings), *args)
    return kind(settings.get("NEWSMILL_DB"), *args)
