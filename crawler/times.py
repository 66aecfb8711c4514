"""Moments and durations as the daemon, `newsmill status` and the logs write them."""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC)


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def duration_text(seconds: float) -> str:
    """3s, 12m, 5h, 2d; 1h30m for what one unit says badly (logs, `newsmill status`)."""
    seconds = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            smaller = {"d": ("h", 3600), "h": ("m", 60), "m": ("s", 1)}[unit]
            part = rest // smaller[1]
            return f"{whole}{unit}" + (f"{part}{smaller[0]}" if part and whole < 10 else "")
    return f"{seconds}s"
