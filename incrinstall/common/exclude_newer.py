"""exclude-newer values: uv's timestamps, dates and durations ("4 days", P7D) read as one UTC instant, once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from incrinstall.common.errors import SpecError

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600,
          "hour": 3600, "d": 86400, "day": 86400, "w": 604800, "week": 604800}


def _duration_seconds(text: str) -> int | None:
    """uv's "friendly" (`4 days`, `1 week 2 days`) and ISO 8601 (`P7D`, `PT24H`) durations; None if neither."""
    iso = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text.upper())
    if iso and any(iso.groups()):
        w, d, h, m, sec = (int(g or 0) for g in iso.groups())
        return (((w * 7 + d) * 24 + h) * 60 + m) * 60 + sec
    parts = re.findall(r"(\d+)\s*([a-z]+)", text.lower())
    if not parts or re.sub(r"[\d\s,a-z]", "", text.lower()) or "".join(n + u for n, u in parts) != re.sub(
            r"[\s,]", "", text.lower()):
        return None
    total = 0
    for number, unit in parts:
        seconds = _UNITS.get(unit.removesuffix("s")) or _UNITS.get(unit)
        if seconds is None:
            return None  # months and years are calendar units: uv refuses them too
        total += int(number) * seconds
    return total


def normalize_exclude_newer(value: str, *, where: str | None = None, now: datetime | None = None) -> str | None:
    """uv's accepted forms as one UTC RFC 3339 timestamp (None for `false`).

    A timestamp stays itself; a bare date is midnight in the system's time zone (as uv reads it);
    a duration is counted back from now, once, so incrinstall and uv see the same instant.
    """
    text = str(value).strip()
    if text.lower() == "false":
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.strptime(text, "%Y-%m-%d").astimezone()
        elif (seconds := _duration_seconds(text)) is not None:
            moment = (now or datetime.now(timezone.utc)) - timedelta(seconds=seconds)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no time zone")
    except ValueError:
        raise SpecError(f"exclude-newer = {text!r} is not an RFC 3339 timestamp (2025-01-31T00:00:00Z), a date "
                        "(2025-01-31), a duration (4 days, P7D) or false", where=where) from None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def exclude_newer_cutoff(value: str | None) -> datetime | None:
    """The cutoff an IndexConfig holds (RFC 3339, UTC) as a datetime; None for none."""
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00"))
