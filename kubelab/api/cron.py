"""Cron schedules as the CronJob controller reads them (robfig/cron's standard parser).

Five fields (minute hour day-of-month month day-of-week) with ``*``, lists, ranges, ``/``
steps and month/day names, or a descriptor: ``@yearly`` ``@monthly`` ``@weekly`` ``@daily``
``@hourly`` and ``@every <duration>``. Day of month and day of week match like cron: when both
are restricted, either may match.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}
_BOUNDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 7, _DAYS))
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")


class ScheduleError(ValueError):
    """A schedule the parser rejects; the message is robfig/cron's."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day-of-month was '*'
    any_weekday: bool  # day-of-week was '*'
    every: float = 0.0  # '@every' interval in seconds, else 0

    def next_after(self, at: float, tz: tzinfo = timezone.utc) -> float:
        """The first scheduled instant strictly after ``at`` (seconds since the epoch)."""
        if self.every:
            return at + self.every - (at % 1)  # robfig rounds @every down to whole seconds
        t = datetime.fromtimestamp(int(at) - int(at) % 60, tz) + timedelta(minutes=1)
        limit = t.year + 5
        while t.year <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            return t.timestamp()
        raise ScheduleError("no time matches the schedule within five years")

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow


def parse(text: str) -> Schedule:
    """Parse a CronJob's ``spec.schedule``; raises ScheduleError with robfig's wording."""
    spec = text.strip()
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        raise ScheduleError("CRON_TZ or TZ used in schedule is not supported, please use timeZone field")
    if spec.startswith("@every "):
        seconds = _go_duration(spec[len("@every "):].strip())
        if seconds is None:
            raise ScheduleError(f"failed to parse duration {spec}: time: invalid duration \"{spec[7:].strip()}\"")
        return Schedule(frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), True, True,
                        max(1.0, float(int(seconds))))
    if spec.startswith("@"):
        if spec not in _DESCRIPTORS:
            raise ScheduleError(f"unrecognized descriptor: {spec}")
        spec = _DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {spec}")
    sets = [_field(f, *b) for f, b in zip(fields, _BOUNDS)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Schedule(frozenset(sets[0]), frozenset(sets[1]), frozenset(sets[2]), frozenset(sets[3]),
                    weekdays, fields[2] in ("*", "?"), fields[4] in ("*", "?"))


def _field(text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit():
                raise ScheduleError(f"failed to parse int from {step_text}: strconv.Atoi: parsing "
                                    f"\"{step_text}\": invalid syntax")
            step = int(step_text)
            if step == 0:
                raise ScheduleError(f"step of range should be a positive number: {part}")
        if rng in ("*", "?"):
            start, end = low, high
        else:
            first, dash, last = rng.partition("-")
            start = _number(first, names)
            end = _number(last, names) if dash else (high if step_text else start)
        if start < low:
            raise ScheduleError(f"beginning of range ({start}) below minimum ({low}): {part}")
        if end > high:
            raise ScheduleError(f"end of range ({end}) above maximum ({high}): {part}")
        if start > end:
            raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        values.update(range(start, end + 1, step))
    return values


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}: strconv.Atoi: parsing \"{text}\": invalid syntax")
    return int(text)


def _go_duration(text: str) -> float | None:
    """Seconds in a Go duration like ``1h30m`` or ``45s``; None when it is not one."""
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and text else None


def time_zone(name: str | None) -> tzinfo | None:
    """The zone a CronJob's ``spec.timeZone`` names (UTC when unset), None when unknown."""
    if not name or name == "UTC":
        return timezone.utc
    if name.startswith((".", "/")) or ".." in name:
        return None
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    except ImportError:  # pragma: no cover - Python without zoneinfo
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
