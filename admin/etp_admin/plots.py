"""The operator CLI's pictures: pure functions from data to a PNG file, each answering what it drew.

matplotlib is the CLI's own dependency (requirements-dev.txt), never the Lambda layer's: it is
imported here only, inside the functions that draw, with the Agg backend (no display needed), so
every other command starts without it.

Each function answers `Drawn`: the data of every line it drew, by label, as matplotlib holds it
(x and y), read back from the figure's lines before the file is written. Tests compare that with the
book or the readings, so the picture is known to show them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Points = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True)
class Step:
    """One bid on a merit-order curve: its volume (kWh), its price (NT$/kWh), whose it is."""

    volume: float
    price: float
    label: str = ""


@dataclass(frozen=True)
class Match:
    """A matched pair of the clearing: buyer, seller, kWh."""

    buyer: str
    seller: str
    volume: float


@dataclass(frozen=True)
class Drawn:
    """What a picture shows: each drawn line's (x, y) by its label, and the file written."""

    path: Path
    lines: dict[str, Points] = field(default_factory=dict)


def as_json(drawn: Drawn) -> dict:
    """The file and the drawn lines as JSON: {"file": ..., "lines": {label: {"x": [...], "y": [...]}}}."""
    return {
        "file": str(drawn.path),
        "lines": {label: {"x": list(x), "y": list(y)} for label, (x, y) in drawn.lines.items()},
    }


def steps(bids: Sequence[Step]) -> Points:
    """A merit-order curve as a post-step line: x the cumulative volume from 0, y each bid's price
    from where its volume starts (the last price repeated at the end, so the last step has a width)."""
    xs, total = [0.0], 0.0
    for bid in bids:
        total += bid.volume
        xs.append(total)
    prices = [bid.price for bid in bids]
    return tuple(xs), tuple(prices + prices[-1:])


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _read_back(axes: Any) -> dict[str, Points]:
    return {
        line.get_label(): (tuple(map(float, line.get_xdata())), tuple(map(float, line.get_ydata())))
        for line in axes.get_lines()
    }


def _save(plt: Any, figure: Any, axes: Any, path: Path) -> Drawn:
    drawn = _read_back(axes)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
    return Drawn(path=path, lines=drawn)


def merit_order(
    path: Path,
    *,
    title: str,
    buys: Sequence[Step],
    sells: Sequence[Step],
    cleared: tuple[float, float] | None,
    matches: Sequence[Match] = (),
    note: str = "",
) -> Drawn:
    """The demand (buys, highest price first) and supply (sells, lowest first) steps of a slot, Q* and
    p* (`cleared`: kWh, NT$/kWh) and the matched pairs, laid along [0, Q*] at p* in the clearing's
    order. Lines: `demand`, `supply`, `Q*`, `p*`, and `pair N: buyer <- seller` for each pair."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(10, 6))
    if buys:
        axes.plot(*steps(buys), drawstyle="steps-post", color="tab:blue", linewidth=2, label="demand")
    if sells:
        axes.plot(*steps(sells), drawstyle="steps-post", color="tab:orange", linewidth=2, label="supply")
    if cleared is not None:
        volume, price = cleared
        top = max([bid.price for bid in (*buys, *sells)] + [price])
        axes.plot([volume, volume], [0.0, top], color="grey", linestyle="--", label="Q*")
        axes.plot([0.0, volume], [price, price], color="grey", linestyle=":", label="p*")
        axes.annotate(
            f"Q* = {volume:g} kWh, p* = {price:g} NT$/kWh", (volume, price), textcoords="offset points", xytext=(6, 6)
        )
        _matches(axes, matches, price)
    axes.set_xlabel("cumulative volume (kWh)")
    axes.set_ylabel("price (NT$/kWh)")
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.set_title(title + (f"\n{note}" if note else ""))
    if axes.get_lines():  # an empty book draws only its axes
        axes.legend(loc="best", fontsize="small")
    return _save(plt, figure, axes, path)


def _matches(axes: Any, matches: Sequence[Match], price: float) -> None:
    start = 0.0
    for n, match in enumerate(matches, 1):
        end = start + match.volume
        axes.plot(
            [start, end],
            [price, price],
            linewidth=6,
            alpha=0.5,
            solid_capstyle="butt",
            label=f"pair {n}: {match.buyer} <- {match.seller}",
        )
        start = end


def day_power(path: Path, *, title: str, series: Mapping[str, Sequence[tuple[float, float]]]) -> Drawn:
    """A day's power by type: one line per series label of (local hour of the day, kW) points, in
    time order. Lines: the series' labels."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(10, 5))
    for label, points in sorted(series.items()):
        ordered = sorted(points)
        axes.plot([x for x, _ in ordered], [y for _, y in ordered], marker=".", label=label)
    axes.axhline(0, color="black", linewidth=0.5, label="_zero")
    axes.set_xlim(0, 24)
    axes.set_xticks(range(0, 25, 3))
    axes.set_xlabel("local time (h)")
    axes.set_ylabel("power (kW)")
    axes.set_title(title)
    if series:
        axes.legend(loc="best", fontsize="small")
    drawn = _save(plt, figure, axes, path)
    drawn.lines.pop("_zero", None)
    return drawn
