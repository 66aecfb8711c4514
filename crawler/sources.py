"""Loading and validating the sources file.

A sources file is read once, checked once, and turned into `Source` objects; every
mistake stops everything with one message naming the file, the source and the key.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import zoneinfo
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

KINDS = ("feed", "sitemap", "page", "article")
_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A DNS label: letters, digits, '-' inside; '_' too, as browsers and resolvers accept it.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


class SourcesError(ValueError):
    """A sources file that cannot be used; the message is meant for people."""


@dataclass(frozen=True)
class Source:
    """One site to crawl, with everything the spider and the scheduler need."""

    name: str
    urls: tuple[str, ...]
    kind: str | None = None
    follow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_depth: int = 1
    max_articles: int = 500
    hosts: tuple[str, ...] = ()
    every: str | None = "1h"  # a duration, or "auto": learnt from the source's articles
    every_min: str = "5m"  # with every = "auto": the shortest and longest interval
    every_max: str = "6h"
    cron: str | None = None
    timezone: str | None = None
    enabled: bool = True
    recheck_for: str = "2d"
    timeout: str | None = None
    archive: bool = True  # fetched pages kept as WARC records (crawler/archive.py)

    def to_dict(self) -> dict:
        """A plain, picklable form that travels through Scrapy settings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)

    @property
    def interval_seconds(self) -> int | None:
        """The `every` schedule in seconds, or None for a cron or an "auto" schedule."""
        if self.cron or not self.every or self.auto:
            return None
        return parse_duration(self.every)

    @property
    def auto(self) -> bool:
        """every = "auto": the daemon sets the interval from the source's rhythm."""
        return self.every == "auto"


# Keys a [[sources]] entry may carry, and which of them [defaults] may set too.
_LIST_KEYS = {"urls", "follow", "deny", "hosts"}
_SOURCE_KEYS = {f.name for f in fields(Source)}
_DEFAULT_KEYS = _SOURCE_KEYS - {"name", "urls"}


def parse_duration(text: str) -> int:
    """`"30s"`, `"15m"`, `"2h"`, `"1d"` as seconds; ValueError otherwise."""
    match = _EVERY.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like \"30s\", \"15m\", \"2h\" or \"1d\"")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def load_sources(path: str | Path) -> list[Source]:
    """Read a TOML sources file, or a plain list of URLs (one a line, `#` comments)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourcesError(f"{path}: cannot read the sources file ({exc.strerror or exc})") from exc
    if path.suffix.lower() != ".toml":
        return [_source_from_url_list(path, raw.decode("utf-8", "replace"))]
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourcesError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{path}: TOML syntax error: {exc}") from exc
    return sources_from_document(document, str(path))


def sources_from_document(document: dict, where: str) -> list[Source]:
    """Validate a parsed sources document; `where` names it in messages."""
    unknown = set(document) - {"defaults", "sources"}
    if unknown:
        raise SourcesError(f"{where}: unknown top-level key {sorted(unknown)[0]!r} "
                           "(expected [defaults] and [[sources]])")
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SourcesError(f"{where}: [defaults] must be a table")
    for key in defaults:
        if key not in _DEFAULT_KEYS:
            raise SourcesError(f"{where}: [defaults]: unknown key {key!r}")
    entries = document.get("sources", [])
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"{where}: no [[sources]] entries")
    sources, seen = [], set()
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise SourcesError(f"{where}: sources entry #{index} must be a table")
        label = f"source {entry['name']!r}" if isinstance(entry.get("name"), str) else f"sources entry #{index}"
        merged = dict(defaults)
        if "every" in entry or "cron" in entry:  # a source's own schedule replaces the default
            merged.pop("every", None)
            merged.pop("cron", None)
        source = _build_source({**merged, **entry}, f"{where}: {label}")
        if source.name in seen:
            raise SourcesError(f"{where}: {label}: key 'name': duplicate source name")
        seen.add(source.name)
        sources.append(source)
    return sources


def _source_from_url_list(path: Path, text: str) -> Source:
    urls = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    urls = [u for u in urls if u]
    if not urls:
        raise SourcesError(f"{path}: no URLs in the file")
    return _build_source({"name": path.stem, "urls": urls}, f"{path}: source {path.stem!r}")


def adhoc_source(urls: list[str], **overrides) -> Source:
    """The source a `newsmill crawl URL ...` run makes of its arguments."""
    return _build_source({"name": "adhoc", "urls": list(urls), **overrides}, "command line")


def _build_source(entry: dict, where: str) -> Source:
    for key in entry:
        if key not in _SOURCE_KEYS:
            raise SourcesError(f"{where}: unknown key {key!r}")

    def fail(key: str, why: str):
        raise SourcesError(f"{where}: key {key!r}: {why}")

    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        fail("name", "missing or empty; every source needs a unique name")
    if not re.fullmatch(r"[\w.-]+", name):
        fail("name", "use letters, digits, '.', '_' or '-' only")
    values = dict(entry)
    for key in _LIST_KEYS & set(values):
        value = values[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(key, "must be a list of strings")
        values[key] = tuple(value)
    if not values.get("urls"):
        fail("urls", "missing or empty; list at least one URL")
    for url in values["urls"]:
        why = url_problem(url)
        if why:
            fail("urls", f"{url!r} {why}")
    for host in values.get("hosts", ()):
        why = host_problem(host)
        if why:
            fail("hosts", f"{host!r}: {why}")
    for key in ("follow", "deny"):
        for pattern in values.get(key, ()):
            try:
                re.compile(pattern)
            except re.error as exc:
                fail(key, f"bad regular expression {pattern!r}: {exc}")
    if values.get("kind") is not None and values["kind"] not in KINDS:
        fail("kind", f"must be one of {', '.join(KINDS)}")
    for key in ("max_depth", "max_articles"):
        if key in values and (not isinstance(values[key], int) or isinstance(values[key], bool)
                              or values[key] < 0):
            fail(key, "must be a whole number, 0 or more")
    for key in ("enabled", "archive"):
        if key in values and not isinstance(values[key], bool):
            fail(key, "must be true or false")
    for key in ("recheck_for", "timeout"):
        if values.get(key) is not None:
            try:
                parse_duration(values[key])
            except ValueError as exc:
                fail(key, str(exc))
    _check_schedule(values, fail)
    return Source(**values)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a start URL (not http(s), no valid host or port), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number 0-65535)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if not parts.hostname:
        return "is not an http(s) URL (no host)"
    why = host_problem(parts.hostname)
    return f"has an impossible host name: {why}" if why else None


def host_problem(host: str) -> str | None:
    """Why `host` can never be resolved or connected to, or None.

    Checked when the file is loaded, so that a typo stops everything before a crawl
    starts; a well-formed name that does not resolve is a crawl-time `dns` error.
    """
    host = host.strip("[]").lower()
    if not host:
        return "it is empty"
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    labels = host.removesuffix(".").split(".")
    if labels[-1].isdigit():  # as browsers read it: an IPv4 address, and then a whole one
        try:
            ipaddress.IPv4Address(host.removesuffix("."))
        except ValueError:
            return f"{host!r} is not an IPv4 address"
        return None
    total = 0
    for label in labels:
        if not label:
            return f"{host!r} has an empty label (two dots in a row?)"
        try:  # an international label is checked in its ASCII (punycode) form
            ascii_label = label if label.isascii() else label.encode("idna").decode("ascii")
        except UnicodeError:
            return f"label {label!r} is not a valid international name"
        if len(ascii_label) > 63:
            return f"label {label[:20]!r}... is longer than 63 characters"
        if not _LABEL.match(ascii_label):
            return f"label {label!r} may only hold letters, digits and '-' (not first or last)"
        total += len(ascii_label) + 1
    if total - 1 > 253:
        return f"longer than 253 characters ({total - 1})"
    return None


def _check_schedule(values: dict, fail) -> None:
    if values.get("timezone") is not None:
        try:
            zoneinfo.ZoneInfo(str(values["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            fail("timezone", f"unknown time zone {values['timezone']!r}")
    if values.get("cron") is not None:
        # APScheduler parses crontab lines exactly as the daemon will run them.
        from apscheduler.triggers.cron import CronTrigger

        try:
            trigger = CronTrigger.from_crontab(str(values["cron"]),
                                               timezone=values.get("timezone") or "UTC")
        except (ValueError, TypeError) as exc:
            fail("cron", f"{values['cron']!r} is not a cron expression ({exc})")
        if trigger.get_next_fire_time(None, datetime.now(trigger.timezone)) is None:
            fail("cron", f"{values['cron']!r} never fires (a date that does not exist, "
                         "such as 31 February)")
        if values.get("every") is not None:
            fail("cron", "set either 'every' or 'cron', not both")
        values["every"] = None
    elif values.get("every") is not None and values["every"] != "auto":
        try:
            parse_duration(values["every"])
        except ValueError as exc:
            fail("every", f"{exc}, or \"auto\"")
    bounds = {}
    for key in ("every_min", "every_max"):
        if key in values:
            try:
                bounds[key] = parse_duration(values[key])
            except ValueError as exc:
                fail(key, str(exc))
    lowest = bounds.get("every_min", parse_duration(Source.every_min))
    highest = bounds.get("every_max", parse_duration(Source.every_max))
    if lowest > highest:
        fail("every_min" if "every_min" in bounds else "every_max",
             f"every_min ({lowest}s) is longer than every_max ({highest}s)")


def select_sources(sources: list[Source], names: list[str] | tuple[str, ...]) -> list[Source]:
    """Keep the named sources, in file order; unknown names are an error."""
    if not names:
        return list(sources)
    known = {s.name for s in sources}
    for name in names:
        if name not in known:
            raise SourcesError(f"no source named {name!r} (known: {', '.join(sorted(known))})")
    return [s for s in sources if s.name in names]


def sources_from_settings(settings) -> list[Source]:
    """The sources a crawl runs: NEWSMILL_SOURCES if the command line set it, else the file.

    `scrapy crawl articles` reads NEWSMILL_SOURCES_FILE, narrowed by NEWSMILL_SOURCE_NAMES.
    """
    given = settings.getlist("NEWSMILL_SOURCES")
    if given:
        return [Source.from_dict(d) for d in given]
    sources = load_sources(settings.get("NEWSMILL_SOURCES_FILE"))
    names = settings.getlist("NEWSMILL_SOURCE_NAMES")
    return select_sources(sources, names) if names else [s for s in sources if s.enabled]
