"""Five-field cron expressions (``minute hour day-of-month month day-of-week``), in UTC.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n`` (or ``a/n``: from a
to the end), or a comma list of those; months and week days also take names (``jan``, ``mon``);
day-of-week 0 and 7 are both Sunday. As in Vixie cron, when both day-of-month and day-of-week
are restricted (neither starts with ``*``), a day matches when EITHER does; otherwise both must.

``next_after(t)`` is the first matching minute strictly after ``t``. Written here rather than
taken from a dependency: about a hundred lines, no time zones (schedules are UTC, so no DST gaps).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 7))
MONTHS = {n.lower(): i for i, n in enumerate(calendar.month_abbr) if n}
DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
EXAMPLE = '"0 3 * * *" (03:00 UTC every day) or "30 2 * * 1-5" (02:30 UTC on week days)'
SEARCH_YEARS = 9  # Feb 29 on a given week day can be years apart; beyond this nothing matches


class CronError(ValueError):
    """An invalid expression; the message names the field and the fix."""


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month starts with "*"
    any_weekday: bool  # day-of-week starts with "*"

    def day_matches(self, d: datetime) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, t: datetime) -> datetime:
        """The first matching minute strictly after ``t`` (naive times are taken as UTC)."""
        t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        start = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * SEARCH_YEARS):
            if self.day_matches(day):
                for h in sorted(self.hours):
                    for m in sorted(self.minutes):
                        slot = day.replace(hour=h, minute=m)
                        if slot >= start:
                            return slot
            day += timedelta(days=1)
        raise CronError(f"The schedule {self.text!r} matches no time in the next {SEARCH_YEARS} years.")


def _number(text: str, name: str, lo: int, hi: int, expr: str) -> int:
    names = MONTHS if name == "month" else DAYS if name == "day-of-week" else {}
    value = names.get(text.lower())
    if value is None:
        if not text.isdigit():
            raise _error(expr, name, f"{text!r} is not a number", lo, hi)
        value = int(text)
    if not lo <= value <= hi:
        raise _error(expr, name, f"{value} is out of range", lo, hi)
    return value


def _error(expr: str, name: str, why: str, lo: int, hi: int) -> CronError:
    extra = " (or jan-dec)" if name == "month" else " (0 and 7 are Sunday, or sun-sat)" if name == "day-of-week" else ""
    return CronError(f"Invalid cron schedule {expr!r}: in the {name} field, {why}. The {name} field takes "
                     f"{lo}-{hi}{extra}, '*', ranges a-b, steps */n or a-b/n, and comma lists; "
                     f"write e.g. {EXAMPLE}.")


def _field(text: str, name: str, lo: int, hi: int, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text or part.endswith("/"):
            if not step_text.isdigit() or int(step_text) == 0:
                raise _error(expr, name, f"the step in {part!r} must be a positive number", lo, hi)
            step = int(step_text)
        if body == "*":
            first, last = lo, hi
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _number(a, name, lo, hi, expr), _number(b, name, lo, hi, expr)
            if first > last:
                raise _error(expr, name, f"the range {body!r} runs backwards", lo, hi)
        elif body:
            first = _number(body, name, lo, hi, expr)
            last = hi if step_text else first
        else:
            raise _error(expr, name, f"{part!r} is empty", lo, hi)
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse(expr: str) -> Cron:
    parts = expr.split()
    if len(parts) != 5:
        raise CronError(f"Invalid cron schedule {expr!r}: it has {len(parts)} field(s), cron takes 5 "
                        f"(minute hour day-of-month month day-of-week); write e.g. {EXAMPLE}.")
    sets = [_field(p, name, lo, hi, expr) for p, (name, lo, hi) in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(expr, sets[0], sets[1], sets[2], sets[3], weekdays, parts[2].startswith("*"),
                parts[4].startswith("*"))
    if not cron.any_day and cron.any_weekday:  # "0 0 30 2 *": no month in the set has such a day
        longest = {m: 29 if m == 2 else calendar.monthrange(2001, m)[1] for m in cron.months}
        if not any(d <= longest[m] for m in cron.months for d in cron.days):
            raise CronError(f"Invalid cron schedule {expr!r}: the day-of-month field ({parts[2]}) names no day "
                            f"that the month field ({parts[3]}) has, so it would never run. Pick days that "
                            f"exist in those months, e.g. {EXAMPLE}.")
    return cron
