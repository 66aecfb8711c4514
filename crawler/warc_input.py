"""Reading WARC files someone else crawled, record by record, for `newsmill import-warc`.

warcio's ArchiveIterator streams the file (one record in memory at a time, its payload
read up to DOWNLOAD_MAXSIZE) and checks each record's block and payload digests. What it
does not do is go on after a record it cannot read: its iterator ends with the exception.
So a damaged stretch is reported here once, with its offset, and reading starts again at
the next record that can be read (the next gzip member of a record-per-member file, the
next `WARC/` line of an uncompressed one), with a new iterator from there.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from warcio.archiveiterator import ArchiveIterator

logger = logging.getLogger(__name__)

GZIP_MEMBER = b"\x1f\x8b\x08"  # a gzip member's magic number and its one method, deflate
WARC_LINE = re.compile(rb"(?:^|\n)WARC/[01]\.\d+\r?\n")
SCAN_BYTES = 1 << 20
# Headers that describe how the body travelled, which warcio has undone (chunks, gzip):
# what is handed on is the decoded body.
TRANSPORT_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


class NotWarc(Exception):
    """The file cannot be read as WARC at all (missing, unreadable, another format)."""


@dataclass
class HttpResponse:
    """An HTTP response record: what a crawl would have downloaded."""

    url: str
    fetched_at: str  # WARC-Date, as the store writes times
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    offset: int


@dataclass
class BadRecord:
    """A record, or a stretch of the file, that cannot be imported; `kind` as in `errors`."""

    offset: int
    url: str | None
    kind: str  # warc, bad_http, too_large
    message: str


@dataclass
class Skipped:
    """A record that is no page to import: revisit, request, metadata, warcinfo..."""

    offset: int
    url: str | None
    what: str


@dataclass
class FileCounts:
    """What one file held, for the line `import-warc` prints about it."""

    path: str
    size: int = 0
    records: int = 0
    responses: int = 0
    skipped: dict = field(default_factory=dict)  # what -> count
    bad: int = 0
    unreadable: str | None = None  # why the file could not be read at all


class _Iterator(ArchiveIterator):
    """ArchiveIterator, minus the warning it writes straight to stderr when a record is not
    followed by its blank lines (a wrong Content-Length): the reader reports that itself,
    with the file's name, through the log (`err_count` still counts it)."""

    INC_RECORD = ""


def warc_time(value: str | None) -> str:
    """A WARC-Date (`2026-12-04T07:51:57Z`, maybe with fractions) as the store writes times."""
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class WarcReader:
    """One WARC file (gzip record by record, or not compressed), read as a stream.

    `position` is how far into the file reading has come (for a progress bar by bytes).
    """

    def __init__(self, path: str, max_size: int):
        self.path = path
        self.max_size = max_size
        self.position = 0
        self.counts = FileCounts(path)

    def check(self) -> None:
        """NotWarc unless the file starts with a WARC record (compressed or not)."""
        try:
            self.counts.size = os.path.getsize(self.path)
            with open(self.path, "rb") as f:
                head = f.read(4096)
        except OSError as exc:
            raise NotWarc(f"cannot read it ({exc.strerror or exc})") from exc
        if not head:
            raise NotWarc("the file is empty")
        if head.startswith(GZIP_MEMBER):
            try:
                head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
            except zlib.error as exc:
                raise NotWarc(f"a gzip file whose first member cannot be read ({exc})") from exc
        if not head.startswith(b"WARC/"):
            shown = head[:24].decode("latin1").encode("unicode_escape").decode("ascii")
            raise NotWarc(f"not a WARC file (it starts with {shown!r}, not 'WARC/')")

    def records(self) -> Iterator[HttpResponse | BadRecord | Skipped]:
        """Every record of the file, as what it is for the import; bad stretches skipped."""
        with open(self.path, "rb") as f:
            gzipped = f.read(3) == GZIP_MEMBER
            start, report = 0, True
            while start is not None:
                f.seek(start)
                iterator = _Iterator(f, check_digests=True)
                at = start
                try:
                    for record in iterator:
                        at = iterator.offset
                        report = True  # a record read: the next failure is a new one
                        yield from self._record(iterator, record, at)
                        iterator.read_to_end()  # what was not read of it (once only)
                        self.position = iterator.offset
                        at = iterator.offset
                except Exception as exc:  # zlib, warcio's ArchiveLoadFailed, a header parser...
                    if report:
                        what = "a truncated or damaged gzip member" if gzipped else "a damaged record"
                        yield self._bad(at, None, "warc", f"unreadable: {what} ({_describe(exc)}); "
                                        "skipped to the next readable record")
                    report = False  # a false start found by the scan below is not reported again
                    start = self._next_start(f, at + 1, gzipped)
                    continue
                start = None
                end = iterator.offset
                if end < self.counts.size and report:
                    f.seek(end)
                    if f.read(64).strip(b"\r\n"):
                        what = "a truncated gzip member" if gzipped else "a truncated record"
                        yield self._bad(end, None, "warc", f"the file ends in {what} "
                                        f"({self.counts.size - end} bytes that are no whole record)")
            self.position = self.counts.size

    def record_at(self, offset: int) -> HttpResponse | BadRecord | Skipped:
        """The one record at `offset` (from an index such as archived_pages), judged as
        `records` judges each: what `newsmill reextract` reads of a crawl's archive."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                iterator = _Iterator(f, check_digests=True)
                for record in iterator:
                    return next(self._record(iterator, record, offset))
        except OSError as exc:
            return self._bad(offset, None, "warc", f"cannot read it ({exc.strerror or exc})")
        except Exception as exc:  # zlib, warcio's ArchiveLoadFailed, a header parser...
            return self._bad(offset, None, "warc", f"unreadable record ({_describe(exc)})")
        return self._bad(offset, None, "warc", "no record at this offset (the file is shorter)")

    def _record(self, iterator, record, offset):
        self.counts.records += 1
        kind = record.rec_type
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>") or None
        if kind != "response" or not url or not url.startswith(("http://", "https://")):
            # revisit (the same payload as an earlier capture), request, metadata, warcinfo,
            # resource, dns: responses...
            yield self._skip(offset, url, "revisit" if kind == "revisit" else "other")
            return
        http = record.http_headers
        status = http.get_statuscode() if http is not None else ""
        if http is None or not (http.protocol or "").upper().startswith("HTTP/") \
                or not (status.isdigit() and len(status) == 3):
            line = f"{http.protocol} {http.statusline}" if http is not None else ""
            iterator.read_to_end()
            yield self._bad(offset, url, "bad_http",
                            f"HTTP response with a broken status line ({line.strip()[:80]!r})")
            return
        if record.length is not None and record.length > self.max_size + 65536:
            iterator.read_to_end()  # streamed past, never held
            yield self._bad(offset, url, "too_large", f"a {record.length}-byte record, over the "
                            f"{self.max_size}-byte limit (DOWNLOAD_MAXSIZE)")
            return
        try:
            body = record.content_stream().read(self.max_size + 1)
        except Exception as exc:  # a broken chunked or compressed body
            iterator.read_to_end()
            yield self._bad(offset, url, "bad_http", f"unreadable body ({_describe(exc)})")
            return
        if len(body) > self.max_size:
            iterator.read_to_end()
            yield self._bad(offset, url, "too_large",
                            f"body over the {self.max_size}-byte limit (DOWNLOAD_MAXSIZE)")
            return
        errors_before = iterator.err_count
        iterator.read_to_end()  # the rest of the block: its digests are checked at its end
        problems = []
        if record.raw_stream.limit > 0:
            problems.append(f"the record is {record.raw_stream.limit} bytes shorter than its "
                            "Content-Length (truncated, or a wrong length)")
        if iterator.err_count > errors_before:
            problems.append("the record is not followed by its blank lines (a wrong Content-Length)")
        problems += [p.replace("failed", "does not match") for p in record.digest_checker.problems]
        if problems:
            yield self._bad(offset, url, "warc", "; ".join(problems))
            return
        self.counts.responses += 1
        headers = [(name, value) for name, value in http.headers
                   if name.lower() not in TRANSPORT_HEADERS]
        yield HttpResponse(url, warc_time(record.rec_headers.get_header("WARC-Date")), int(status),
                           headers, body, offset)

    def _skip(self, offset, url, what) -> Skipped:
        self.counts.skipped[what] = self.counts.skipped.get(what, 0) + 1
        return Skipped(offset, url, what)

    def _bad(self, offset, url, kind, message) -> BadRecord:
        self.counts.bad += 1
        return BadRecord(offset, url, kind, message)

    def _next_start(self, f, start: int, gzipped: bool) -> int | None:
        """The offset of the next place a record may start, from `start` on; None at the end."""
        pattern = re.compile(re.escape(GZIP_MEMBER)) if gzipped else WARC_LINE
        while True:
            f.seek(start)
            chunk = f.read(SCAN_BYTES + 16)
            if not chunk:
                return None
            found = pattern.search(chunk)
            if found is not None:
                at = found.start()
                if not gzipped and chunk[at:at + 1] == b"\n":
                    at += 1
                return start + at
            if len(chunk) <= 16:
                return None
            start += SCAN_BYTES
            self.position = start


def _describe(exc: Exception) -> str:
    """An exception in one short printable line (warcio's quote the bytes they choked on)."""
    text = " ".join(str(exc).split())
    if text.startswith("Invalid WARC record, first line:"):
        text = "no WARC record header where the next record should start"
    text = "".join(c if c.isprintable() and ord(c) < 0x7F else "?" for c in text)
    if len(text) > 100:
        text = text[:97] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
