"""The archive: every page a crawl downloads in full, kept as WARC records (docs/archive.md).

The store keeps what was extracted and would throw the page away; the archive keeps the
page itself, in the format replay and research tools read (pywb, ReplayWeb.page, warcio),
so that pages can be replayed and extracted again later.

- What: each full answer (articles, section pages, feeds, sitemaps, robots.txt, and the
  redirects on the way) as a `response` record and the `request` that asked for it,
  taken from Scrapy's `response_downloaded` signal: only real downloads (a robots.txt
  answer kept in the store, a skipped known page never reach it), before any downloader
  middleware. So the body is what the server sent, compressed or not: its Content-Encoding
  header stays true, and replay tools decode it as a browser would. Twisted has already
  undone a chunked transfer coding, so Transfer-Encoding is left out of the stored headers;
  Scrapy keeps neither the reason phrase nor the case of header names, so the status line
  has the standard phrase for its code and the names are in Scrapy's Title-Case.
  A 304 writes nothing: it carries no page.
- Where: gzip WARC files (one gzip member per record) in ARCHIVE_DIR, by default
  `archive/` beside the database, named by time, host and process like Heritrix's and
  wget's (`newsmill-20261204073000-host-1234-00000.warc.gz`), a new one past
  ARCHIVE_MAX_FILE_SIZE bytes. Each file opens with a `warcinfo` record.
- How: off the reactor thread. The signal handler copies the headers and hands the
  response to one writer thread per process and folder (`WarcFiles`), which builds the
  records with warcio and writes each request/response pair with one os.write of whole
  gzip members: a process killed at any moment leaves every file readable up to its last
  whole record. A long-lived crawl worker shares one writer between its crawls
  (crawler/worker.py), so the daemon does not make a file per crawl.
- The index: the writer hands back where each response record went; the storage
  pipeline writes it into `archived_pages` (pipelines/archive_index.py).
"""

from __future__ import annotations

import io
import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.sources import sources_from_settings

logger = logging.getLogger(__name__)

# Headers that describe the transfer, not the payload the record holds (see the docstring).
DROPPED_HEADERS = {b"transfer-encoding"}


def archive_dir(settings) -> Path:
    """ARCHIVE_DIR, or `archive/` beside the database (`data/archive/` for data/newsmill.db;
    a `newsmill worker`, with no database, writes into `data/archive/` of its directory)."""
    if given := settings.get("ARCHIVE_DIR"):
        return Path(given)
    db = settings.get("NEWSMILL_DB") or "data/newsmill.db"
    return Path(db).parent / "archive"


@dataclass
class Fetched:
    """One download as the writer needs it, copied on the reactor thread."""

    source: str
    url: str
    method: str
    request_headers: list[tuple[bytes, bytes]]
    request_body: bytes
    status: int
    protocol: str
    response_headers: list[tuple[bytes, bytes]]
    body: bytes
    ip: str | None
    date: datetime
    sink: ArchiveSink


class ArchiveSink:
    """One crawl's side of a writer: how many of its records are still to be written, and
    where those written went (rows for `archived_pages`)."""

    def __init__(self):
        self.condition = threading.Condition()
        self.pending = 0
        self.rows: list[dict] = []
        self.failed = 0

    def added(self) -> None:
        with self.condition:
            self.pending += 1

    def done(self, row: dict | None) -> None:
        with self.condition:
            self.pending -= 1
            if row is None:
                self.failed += 1
            else:
                self.rows.append(row)
            self.condition.notify_all()

    def take(self, wait: float = 0.0) -> list[dict]:
        """The rows written so far; waits up to `wait` seconds for the records still queued."""
        with self.condition:
            if wait > 0:
                self.condition.wait_for(lambda: self.pending == 0, timeout=wait)
            rows, self.rows = self.rows, []
        return rows


class GzipMember:
    """What warcio writes a record into: compressed as it comes, as one gzip member.

    Compressed with ISA-L (isal), not zlib: warcio's gzip is zlib's level 9, 4.6 ms of CPU
    for a 170 KB page, where ISA-L's default level takes 0.27 ms, for files 16% larger
    (zlib's level 1: 1.05 ms, 19% larger). The crawl is CPU-bound, so this is most of the
    archive's cost to throughput (benchmarks/README.md, "The archive").
    """

    def __init__(self):
        from isal import isal_zlib

        self.isal = isal_zlib
        self.parts: list[bytes] = []
        self.gzip = None

    def start(self) -> None:
        isal = self.isal
        self.gzip = isal.compressobj(isal.ISAL_DEFAULT_COMPRESSION, isal.DEFLATED,
                                     isal.MAX_WBITS | 16)
        self.parts = []

    def write(self, data) -> int:
        self.parts.append(self.gzip.compress(data))
        return len(data)

    def flush(self) -> None:  # warcio flushes after each record; finish() ends it
        pass

    def finish(self) -> bytes:
        self.parts.append(self.gzip.flush())
        member, self.parts, self.gzip = b"".join(self.parts), [], None
        return member


class WarcFiles:
    """One process's WARC files in one folder, written by one thread of their own."""

    def __init__(self, directory: Path, max_bytes: int, user_agent: str = ""):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.host = socket.gethostname().split(".")[0] or "localhost"
        self.serial = 0
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0
        self.failures = 0
        self.warc = None  # warcio's writer, from the first record on
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="newsmill-warc-writer", daemon=True)
        self.thread.start()

    def submit(self, fetched: Fetched) -> None:
        self.queue.put(fetched)

    def close(self, timeout: float = 60.0) -> None:
        """Write what is queued, then close the file."""
        self.queue.put(None)
        self.thread.join(timeout)

    def _start(self) -> None:
        # Imported at the first record, on the writer's thread: ~30 ms of CPU that a
        # re-crawl which finds nothing changed (all 304s) never pays.
        from warcio.warcwriter import WARCWriter

        self.member = GzipMember()
        # warcio builds the records and writes them into GzipMember, which compresses them
        # as they come, one gzip member each (warcio's own gzip is zlib's level 9).
        self.warc = WARCWriter(self.member, gzip=False, warc_version="WARC/1.1")

    def _run(self) -> None:
        while (fetched := self.queue.get()) is not None:
            try:
                row = self._write(fetched)
            except Exception as exc:  # a full disk must not stop the crawl; it is logged
                self.failures += 1
                if self.failures in (1, 10, 100) or self.failures % 1000 == 0:
                    logger.error("cannot archive %s in %s (%d pages so far): %r", fetched.url,
                                 self.directory, self.failures, exc)
                row = None
            fetched.sink.done(row)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _member(self, record) -> bytes:
        """One record as one gzip member."""
        self.member.start()
        self.warc.write_record(record)
        return self.member.finish()

    def _open(self) -> None:
        """A new file, its warcinfo record written before the file has its name, so a kill
        never leaves a `.warc.gz` file without one."""
        from importlib.metadata import version

        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        info = {"software": f"newsmill {version('newsmill')} (warcio {version('warcio')})",
                "format": "WARC File Format 1.1", "hostname": socket.gethostname(),
                "robots": "obey"}
        if self.user_agent:
            info["http-header-user-agent"] = self.user_agent
        # Written under a name no reader lists, then linked to its own: a `.warc.gz` file
        # never exists without its warcinfo record, whenever the process is killed.
        partial = self.directory / f".newsmill-{self.host}-{os.getpid()}.warc.gz.partial"
        partial.unlink(missing_ok=True)
        self.fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self.size = 0
        while True:
            name = f"newsmill-{stamp}-{self.host}-{os.getpid()}-{self.serial:05d}.warc.gz"
            self.serial += 1
            if self.size == 0:
                self._append(self._member(self.warc.create_warcinfo_record(name, info)))
            try:
                os.link(partial, self.directory / name)  # fails if the name is taken
                partial.unlink()
                break
            except FileExistsError:  # the same second, host and pid as an earlier process
                os.ftruncate(self.fd, 0)  # its warcinfo names the file: written again
                self.size = 0
            except OSError:  # a file system without hard links: renamed, unless taken
                if not (self.directory / name).exists():
                    os.rename(partial, self.directory / name)
                    break
                os.ftruncate(self.fd, 0)
                self.size = 0
        self.path = self.directory / name

    def _append(self, data: bytes) -> None:
        """One write for whole gzip members: a kill never leaves half a record behind."""
        try:
            written = os.write(self.fd, data)
            while written < len(data):  # a short write (rare: a signal, a nearly full disk)
                written += os.write(self.fd, data[written:])
        except OSError:
            # A full disk mid-way: cut the file back to its last whole record, so that
            # what comes after (once there is room again) is readable too.
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise
        self.size += len(data)

    def _write(self, f: Fetched) -> dict:
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.timeutils import datetime_to_iso_date

        if self.warc is None:
            self._start()
        if self.fd is None or self.size >= self.max_bytes:
            self._open()
        date = datetime_to_iso_date(f.date, use_micros=True)
        try:
            reason = HTTPStatus(f.status).phrase
        except ValueError:
            reason = ""
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in f.response_headers
                   if k.lower() not in DROPPED_HEADERS]
        response_headers = StatusAndHeaders(f"{f.status} {reason}".strip(), headers,
                                            protocol=f.protocol)
        warc_headers = {"WARC-Date": date}
        if f.ip:
            warc_headers["WARC-IP-Address"] = f.ip
        # With its length given, warcio digests the body where it is; without, it copies it
        # into a temporary file first (on disk past 512 KB).
        response = self.warc.create_warc_record(f.url, "response", payload=io.BytesIO(f.body),
                                                length=len(f.body), http_headers=response_headers,
                                                warc_headers_dict=warc_headers)
        parts = urlsplit(f.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        asked = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in f.request_headers]
        if not any(k.lower() == "host" for k, _ in asked):
            asked.insert(0, ("Host", parts.netloc))  # what Scrapy's HTTP client sends
        request_headers = StatusAndHeaders(f"{f.method} {target} {f.protocol}", asked,
                                           is_http_request=True)
        request = self.warc.create_warc_record(
            f.url, "request", payload=io.BytesIO(f.request_body), length=len(f.request_body),
            http_headers=request_headers,
            warc_headers_dict={**warc_headers, "WARC-Concurrent-To":
                               response.rec_headers.get_header("WARC-Record-ID")})
        first, second = self._member(response), self._member(request)
        offset = self.size
        self._append(first + second)
        content_type = response_headers.get_header("Content-Type") or ""
        return {"url": f.url, "source": f.source, "status": f.status,
                "content_type": content_type.split(";")[0].strip().lower() or None,
                "file": str(self.path), "offset": offset, "length": len(first),
                "fetched": f.date.isoformat(timespec="seconds")}


class ArchiveFiles:
    """The writers of one process, one per folder: a long-lived crawl worker keeps them
    for all its crawls (crawler/worker.py); a one-off crawl closes them as it ends."""

    def __init__(self):
        self.lock = threading.Lock()
        self.writers: dict[tuple[Path, int], WarcFiles] = {}

    def get(self, directory: Path, max_bytes: int, user_agent: str) -> WarcFiles:
        with self.lock:
            key = (Path(directory).resolve(), max_bytes)
            if key not in self.writers:
                self.writers[key] = WarcFiles(directory, max_bytes, user_agent)
            return self.writers[key]

    def close(self) -> None:
        with self.lock:
            writers, self.writers = list(self.writers.values()), {}
        for writer in writers:
            writer.close()


class WarcArchive:
    """The extension: archives each download of the crawl's sources that have `archive`
    on; `crawler.warc_archive` is how the storage pipeline finds the rows to index."""

    def __init__(self, crawler, archiving: set[str], hosts: dict[str, bool]):
        s = crawler.settings
        self.crawler = crawler
        self.archiving = archiving
        self.hosts = hosts  # host -> whether a source of it archives (for robots.txt)
        self.sink = ArchiveSink()
        shared = getattr(crawler, "warc_files", None)  # a crawl worker's (crawler/worker.py)
        self.files = shared or ArchiveFiles()
        self.owns_files = shared is None
        self.writer = self.files.get(archive_dir(s), s.getint("ARCHIVE_MAX_FILE_SIZE"),
                                     s.get("USER_AGENT") or "")
        self.stats = crawler.stats
        crawler.warc_archive = self
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.getbool("ARCHIVE_ENABLED", True):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        sources = sources_from_settings(s)
        archiving = {source.name for source in sources if source.archive}
        if not archiving:
            raise NotConfigured("no source of this crawl is archived")
        hosts: dict[str, bool] = {}
        for source in sources:
            for url in source.urls:
                host = urlsplit(url).netloc
                hosts[host] = hosts.get(host, False) or source.archive
        return cls(crawler, archiving, hosts)

    def _archives(self, request) -> bool:
        source = request.meta.get("source")
        if source is not None:
            return source in self.archiving
        # Requests of no source (robots.txt, which Scrapy asks for per site): archived when
        # a source of that site archives, or any source does for a site no source names.
        return self.hosts.get(urlsplit(request.url).netloc, True)

    def response_downloaded(self, response, request, spider) -> None:
        if response.status == 304 or not request.url.startswith(("http://", "https://")):
            return
        if not self._archives(request):
            return
        ip = getattr(response, "ip_address", None)
        self.sink.added()
        self.writer.submit(Fetched(
            request.meta.get("source") or "", request.url, request.method,
            [(k, v) for k, values in request.headers.items() for v in values], request.body,
            response.status, getattr(response, "protocol", None) or "HTTP/1.1",
            [(k, v) for k, values in response.headers.items() for v in values], response.body,
            str(ip) if ip is not None else None, datetime.now(UTC), self.sink))
        self.stats.inc_value("newsmill/archived")

    def written(self, wait: float = 0.0) -> list[dict]:
        """Where the records written since the last call went (rows for archived_pages)."""
        return self.sink.take(wait)

    def spider_closed(self, spider) -> None:
        if self.owns_files:
            self.files.close()  # writes what is queued first
        if self.sink.failed:
            logger.error("%d fetched pages could not be archived (see the errors above)",
                         self.sink.failed)
