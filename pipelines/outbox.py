"""The last pipeline of a crawl in `newsmill worker`: the store's batches, sent to Redis.

The storage pipeline's batching, counting and run summaries (StoragePipeline), with the
writes replaced by messages down the results stream, in order: the run's opening, each
batch of articles, not-modified answers and errors, the run's closing with its counters
and status. The writer (crawler/remote_writer.py) writes them into the store. Sending
happens on a thread of the worker's (crawler.remote_worker.ResultSender), so a crawl never
waits on Redis; if Redis is away, messages queue up in the worker until it is back.
"""

from __future__ import annotations

import os
import socket

from pipelines.storage import StoragePipeline
from pipelines.store_core import utcnow


class OutboxPipeline(StoragePipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.sender = crawler.redis_sender  # set by the worker (RemoteWorkerProcess)
        self.attempt = crawler.settings.get("NEWSMILL_TASK")
        self.task = self.attempt.rpartition("/")[0]
        self.seq = 0

    def _message(self, kind: str, **fields) -> dict:
        return {"kind": kind, "task": self.task, "attempt": self.attempt, **fields}

    def _open_runs(self) -> None:
        names = [source.name for source in self.crawler.spider.sources]
        self.sender.result(self._message("open", sources=names, host=socket.gethostname(),
                                         pid=os.getpid(), started=utcnow()))
        self.run_ids = {name: 0 for name in names}  # the writer numbers the runs
        self.opened = True

    def _save(self, articles: list[dict], errors: list[dict], not_modified: list[dict]) -> dict:
        self.seq += 1
        self.sender.result(self._message("batch", seq=self.seq, articles=articles,
                                         errors=errors, not_modified=not_modified))
        return {}  # new, updated or unchanged: the writer judges

    def _finish_runs(self, reason: str) -> None:
        # Closed for good unless the worker stopped it to hand its task to another worker.
        final = reason == "finished" or not getattr(self.crawler, "newsmill_hand_back", False)
        self.stats.set_value("newsmill/final", final)
        self.sender.result(self._message("close", reason=reason, final=final,
                                         runs=self.run_summaries(reason)))
