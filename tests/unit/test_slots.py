from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from etp.market import slots

TAIPEI = ZoneInfo("Asia/Taipei")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021/03/24 09", local(2021, 3, 24, 9)),
        ("2021/03/24 9", local(2021, 3, 24, 9)),
        ("2021/03/24 0", local(2021, 3, 24, 0)),
        ("2021/03/24 24", local(2021, 3, 25, 0)),
        ("2021/12/31 24", local(2022, 1, 1, 0)),
        ("2024/02/29 23", local(2024, 2, 29, 23)),
    ],
)
def test_front_end_times_parse_with_hour_24_meaning_next_midnight(text, expected):
    assert slots.parse_dh(text, TAIPEI) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2021-03-24 09",
        "2021/3/24 09",
        "2021/03/24 25",
        "2021/02/30 10",
        "2021/03/24",
        "2021/03/24 09:00",
        None,
        2021,
        "2021/03/24 -1",
        "2021/03/24 12\n",  # `$` would take the newline
        "2021/03/24 12\n\n",
        "２０２１/０３/２４ １２",  # full-width digits: `\d` would take them
        "2021/03/24 １２",
        "٢٠٢١/٠٣/٢٤ 12",  # Arabic-Indic digits
        "9999/12/31 23",  # beyond the supported days: a slot there cannot be moved to UTC
        "9999/12/31 24",
        "0001/01/01 0",
        "1969/12/31 23",
    ],
)
def test_malformed_times_are_refused(text):
    with pytest.raises(slots.BadSlotTime):
        slots.parse_dh(text, TAIPEI)


def test_the_supported_days_end_at_1970_and_9998():
    assert slots.parse_dh("1970/01/01 0", TAIPEI) == local(1970, 1, 1)
    assert slots.parse_dh("9998/12/31 24", TAIPEI) == local(9999, 1, 1)
    with pytest.raises(slots.BadSlotTime, match=r"'9999/01/01 0' is not between 1970/01/01 and 9998/12/31"):
        slots.parse_dh("9999/01/01 0", TAIPEI)


def test_formats_are_zero_padded_local_time():
    assert slots.format_dh(datetime(2021, 3, 24, 1, tzinfo=UTC), TAIPEI) == "2021/03/24 09"
    assert slots.http_date(datetime(2020, 3, 12, 14, 15, tzinfo=UTC), TAIPEI) == "Thu, 12 Mar 2020 22:15:00 +0800"


def test_the_gate_closes_at_twenty_to_the_hour_before():
    start = local(2021, 3, 24, 10)
    assert slots.gate_closure(start) == local(2021, 3, 24, 9, 40)
    assert slots.is_open(start, local(2021, 3, 24, 9, 39, 59))
    assert not slots.is_open(start, local(2021, 3, 24, 9, 40))


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (local(2021, 3, 24, 9, 0), local(2021, 3, 24, 10)),
        (local(2021, 3, 24, 9, 39, 59), local(2021, 3, 24, 10)),
        (local(2021, 3, 24, 9, 40), local(2021, 3, 24, 11)),
        (local(2021, 3, 24, 23, 45), local(2021, 3, 25, 1)),
    ],
)
def test_the_next_open_slot(now, slot):
    assert slots.next_open_slot(now.astimezone(UTC), TAIPEI) == slot
