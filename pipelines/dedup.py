"""Where an article gets its one URL: every URL of it in normal form, before the store.

The fingerprints the store judges articles by (pipelines.fingerprints) are normally
computed in the extraction worker already; articles that come without them get them here.
"""

from __future__ import annotations

from pipelines.items import Article
from pipelines.urls import clean_url


class DedupPipeline:
    """Normal-form URLs and fingerprints for every article; the store judges by them."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    def process_item(self, item):
        if not isinstance(item, Article):
            return item
        item.url = clean_url(item.url)
        item.seen_urls = list(dict.fromkeys([item.url, *(clean_url(u) for u in item.seen_urls)]))
        if item.fetch.get("urls"):
            item.fetch["urls"] = list(dict.fromkeys(clean_url(u) for u in item.fetch["urls"]))
        if not item.content_hash:  # normally computed in the extraction worker, off the reactor
            # Imported here, on this rare path: ~10 ms of every crawl's start otherwise.
            from pipelines.fingerprints import content_hash, near_duplicate_keys

            item.content_hash = content_hash(item.text)
            item.near_duplicate_keys = near_duplicate_keys(item.text)
        return item
