"""Numbers as the API takes them, shared by every context that parses one. Pure logic.

An amount (a volume, a price) is a JSON number: finite, positive, at most a maximum and with at most
three decimals; it is kept as an integer number of thousandths (Wh of kWh, milli-NT$ of NT$), so
sums and comparisons are exact. A refusal is a BadNumber, whose text each context passes on as its
own error's.
"""

import math


class BadNumber(ValueError):
    """Why a value is not the amount asked for; the text names the field."""


def thousandths(name: str, value: object, maximum: int) -> int:
    """A positive JSON number with at most 3 decimals, as an integer number of thousandths."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadNumber(f"{name} must be a number")
    if not math.isfinite(value) or value <= 0 or value > maximum:
        raise BadNumber(f"{name} must be greater than 0 and at most {maximum}")
    thousandths = round(value * 1000)
    if thousandths < 1 or abs(value * 1000 - thousandths) > 1e-6 * max(1, thousandths):
        raise BadNumber(f"{name} has more than 3 decimals")
    return thousandths
