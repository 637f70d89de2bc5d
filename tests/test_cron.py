"""The five-field cron parser: next_after against a table of UTC cases, and errors naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from moai_adk.config.cron import CronError, parse


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = [
    # expression, after, expected next
    ("0 3 * * *", "2024-06-01T02:59", "2024-06-01T03:00"),
    ("0 3 * * *", "2024-06-01T03:00", "2024-06-02T03:00"),          # strictly after
    ("0 3 * * *", "2024-06-01T03:00:30", "2024-06-02T03:00"),
    ("0 3 * * *", "2024-12-31T23:59", "2025-01-01T03:00"),          # year end
    ("* * * * *", "2024-01-31T23:59", "2024-02-01T00:00"),          # month end
    ("0 0 31 * *", "2024-04-01T00:00", "2024-05-31T00:00"),         # April has no 31st
    ("0 0 29 2 *", "2024-03-01T00:00", "2028-02-29T00:00"),         # next leap day
    ("0 0 29 2 *", "2024-02-28T12:00", "2024-02-29T00:00"),
    ("0 0 29 2 *", "2100-01-01T00:00", "2104-02-29T00:00"),         # 2100 is not a leap year
    ("0 0 1 * *", "2023-02-28T23:59", "2023-03-01T00:00"),          # Feb 28 in a common year
    ("*/15 * * * *", "2024-06-01T10:46", "2024-06-01T11:00"),
    ("10-50/20 * * * *", "2024-06-01T10:31", "2024-06-01T10:50"),   # 10,30,50
    ("10-50/20 * * * *", "2024-06-01T10:50", "2024-06-01T11:10"),
    ("5/20 * * * *", "2024-06-01T10:46", "2024-06-01T11:05"),       # 5,25,45
    ("0 */6 * * *", "2024-06-01T18:00", "2024-06-02T00:00"),
    ("30 2 * * 1-5", "2024-06-07T03:00", "2024-06-10T02:30"),       # Fri after 02:30 -> Mon
    ("0 0 * * 0", "2024-06-01T00:00", "2024-06-02T00:00"),          # Sunday as 0
    ("0 0 * * 7", "2024-06-01T00:00", "2024-06-02T00:00"),          # Sunday as 7
    ("0 0 * * sun", "2024-06-01T00:00", "2024-06-02T00:00"),
    ("0 12 1 jan,jul *", "2024-01-01T12:00", "2024-07-01T12:00"),
    # Vixie: both day fields restricted -> either matches (the 13th OR a Friday)
    ("0 0 13 * 5", "2024-06-01T00:00", "2024-06-07T00:00"),         # Fri 7 June
    ("0 0 13 * 5", "2024-06-07T00:00", "2024-06-13T00:00"),         # Thu 13 June
    # one restricted, the other "*": only the restricted one counts
    ("0 0 13 * *", "2024-06-01T00:00", "2024-06-13T00:00"),
    ("0 0 */2 * 5", "2024-06-01T00:00", "2024-06-07T00:00"),        # "*/2" starts with "*": odd day AND Friday
    ("0 0 29 2 1", "2024-03-01T00:00", "2025-02-03T00:00"),         # in February: the 29th OR a Monday
    ("59 23 28-31 * *", "2024-02-29T23:59", "2024-03-28T23:59"),
    ("0,30 9-10 * * *", "2024-06-01T10:30", "2024-06-02T09:00"),
]


@pytest.mark.parametrize(("expr", "after", "expected"), CASES)
def test_next_after(expr: str, after: str, expected: str) -> None:
    assert parse(expr).next_after(t(after)) == t(expected)


def test_naive_and_other_zones_are_read_as_instants() -> None:
    cron = parse("0 3 * * *")
    assert cron.next_after(datetime(2024, 6, 1, 2, 0)) == t("2024-06-01T03:00")
    plus2 = timezone(timedelta(hours=2))
    assert cron.next_after(datetime(2024, 6, 1, 4, 30, tzinfo=plus2)) == t("2024-06-01T03:00")


def test_consecutive_slots_of_a_step_range() -> None:
    cron = parse("0 0-12/4 * * *")
    got, at = [], t("2024-06-01T00:00")
    for _ in range(5):
        at = cron.next_after(at)
        got.append(at.strftime("%d %H"))
    assert got == ["01 04", "01 08", "01 12", "02 00", "02 04"]


@pytest.mark.parametrize(("expr", "field", "bit"), [
    ("60 3 * * *", "minute", "60 is out of range"),
    ("0 24 * * *", "hour", "24 is out of range"),
    ("0 3 0 * *", "day-of-month", "0 is out of range"),
    ("0 3 * 13 *", "month", "13 is out of range"),
    ("0 3 * * 8", "day-of-week", "8 is out of range"),
    ("0 3 * foo *", "month", "'foo' is not a number"),
    ("*/0 3 * * *", "minute", "step in '*/0' must be a positive number"),
    ("0 5-2 * * *", "hour", "the range '5-2' runs backwards"),
    ("0 3,,4 * * *", "hour", "'' is empty"),
])
def test_bad_field_is_named_with_the_fix(expr: str, field: str, bit: str) -> None:
    with pytest.raises(CronError) as exc:
        parse(expr)
    msg = str(exc.value)
    assert f"in the {field} field" in msg and bit in msg and '"0 3 * * *"' in msg


def test_wrong_field_count_and_impossible_day() -> None:
    with pytest.raises(CronError, match=r"has 6 field\(s\), cron takes 5 \(minute hour"):
        parse("0 0 3 * * *")
    with pytest.raises(CronError, match=r"day-of-month field \(30\) names no day that the month field \(2\) has"):
        parse("0 0 30 2 *")
    assert parse("0 0 30 2 1").next_after(t("2024-06-01T00:00")) == t("2025-02-03T00:00")  # February Mondays
