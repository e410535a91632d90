"""The simulators: buildings whose meters publish historical readings, and that bid every day.

Configuration (a JSON document in Secrets Manager, since it holds meter keys and passwords):
    {"api_url": ..., "node_url": ...,
     "buildings": [{"account", "csv" ("demo:<file>" shipped with the layer, "s3://bucket/key", or a path),
                    "meter_token", "meter_private_key_pem", "password",
                    "bid": {"type": "buy"|"sell", "volume": kWh, "price": NT$/kWh, "jitter": 0..0.5} | null}]}
Each building runs on its own: one that fails is logged with its cause and the others go ahead;
a failed building publishes nothing partial.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from etp.market import slots
from etp.simulators.histories import parse_csv, pick, shape_for


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BidPlan:
    side: str
    volume_kwh: float
    price: float
    jitter: float = 0.0


@dataclass(frozen=True)
class Building:
    account: str
    csv: str
    meter_token: str = field(default="", repr=False)
    meter_private_key_pem: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    bid: BidPlan | None = None


@dataclass
class Report:
    done: dict[str, object] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _bid_plan(account: str, plan) -> BidPlan:
    """A building's `bid`: its type (buy or sell), volume, price and jitter (0 to 0.5, 0 if absent)."""
    try:
        bid = BidPlan(
            side=plan["type"],
            volume_kwh=float(plan["volume"]),
            price=float(plan["price"]),
            jitter=float(plan.get("jitter", 0)),
        )
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{account}: bid needs type, volume and price") from None
    if bid.side not in ("buy", "sell") or not 0 <= bid.jitter <= 0.5:
        raise ConfigError(f"{account}: bid type buy|sell, jitter 0..0.5")
    return bid


def parse_config(document: object) -> tuple[str, str, list[Building]]:
    if not isinstance(document, dict) or not isinstance(document.get("buildings"), list):
        raise ConfigError("the simulator configuration needs a list of buildings")
    buildings = []
    for entry in document["buildings"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("account"), str):
            raise ConfigError(f"a building needs an account: {entry!r:.80}")
        plan = entry.get("bid")
        bid = None if plan is None else _bid_plan(entry["account"], plan)
        buildings.append(
            Building(
                account=entry["account"],
                csv=str(entry.get("csv") or f"demo:{entry['account']}.csv"),
                meter_token=str(entry.get("meter_token", "")),
                meter_private_key_pem=str(entry.get("meter_private_key_pem", "")),
                password=str(entry.get("password", "")),
                bid=bid,
            )
        )
    return str(document.get("api_url", "")), str(document.get("node_url", "")), buildings


def simulate_power(
    buildings: list[Building],
    now: datetime,
    *,
    zone: ZoneInfo,
    read_csv: Callable[[str], str],
    publish: Callable[[Building, float, datetime], str],
) -> Report:
    """Each building's meter publishes the historical reading of now's weekday, hour and nearest minute."""
    report = Report()
    for building in buildings:
        try:
            shape, warnings = shape_for(building.account)
            report.warnings += warnings
            sample = pick(parse_csv(read_csv(building.csv), shape), now.astimezone(zone).replace(tzinfo=None))
            report.done[building.account] = publish(building, sample.grid_kw, now)
        except Exception as error:  # one building's failure must not stop the others
            report.failed[building.account] = f"{type(error).__name__}: {error}"
    return report


def day_bids(plan: BidPlan, day, zone: ZoneInfo, rng: random.Random) -> list[dict]:
    """The POST /bidsubmit bodies of one local day: one bid per hour, jittered within the plan."""

    def wiggle(value: float) -> float:
        return max(0.001, round(value * (1 + rng.uniform(-plan.jitter, plan.jitter)), 3))

    bodies = []
    for hour in range(24):
        start = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hour)
        bodies.append(
            {
                "bid_type": plan.side,
                "start_time": slots.format_dh(start, zone),
                "end_time": slots.format_dh(start + slots.SLOT, zone),
                "value": wiggle(plan.volume_kwh),
                "price": wiggle(plan.price),
            }
        )
    return bodies


def simulate_bids(buildings: list[Building], now: datetime, *, zone: ZoneInfo, api, rng: random.Random) -> Report:
    """Each building bids every hour of the next local day, skipping slots where it already has a bid
    of that type (so a re-run adds nothing) and slots whose bidding has closed (in the last 20
    minutes of a local day, the next day's first hour); a building that fails midway withdraws what
    it placed."""
    report = Report()
    day = now.astimezone(zone).date() + timedelta(days=1)
    for building in buildings:
        plan = building.bid
        if plan is None:
            continue
        placed: list[str] = []
        token = ""
        try:
            token = api.login(building.account, building.password)
            taken = {b["start_time"] for b in api.my_bids(token, plan.side)}
            for body in day_bids(plan, day, zone, rng):
                if body["start_time"] not in taken and slots.is_open(slots.parse_dh(body["start_time"], zone), now):
                    placed.append(api.submit_bid(token, body))
            report.done[building.account] = len(placed)
        except Exception as error:  # one building's failure must not stop the others
            report.failed[building.account] = f"{type(error).__name__}: {error}"
            for bid_id in placed:  # nothing partial: withdraw what this run placed
                try:
                    api.delete_bid(token, bid_id)
                except Exception as cleanup:
                    report.warnings.append(f"{building.account}: could not withdraw {bid_id}: {cleanup}")
    return report
