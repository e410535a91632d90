"""The operator console's pure parts: etp_admin.plots draws what it is given (PNG, lines read back from the
figure), the CLI starts without matplotlib, the layer never has it, and status names a slot's state."""

import subprocess
import sys
from datetime import UTC, datetime
from fractions import Fraction

from helpers import ROOT

from etp.market import bids, clearing, merit
from etp.market.slots import SlotState
from etp_admin import plots
from etp_admin.cli.status import slot_state

PNG = b"\x89PNG\r\n\x1a\n"


def test_steps_start_at_zero_and_repeat_the_last_price():
    assert plots.steps([plots.Step(2, 3.5), plots.Step(1.5, 2)]) == ((0.0, 2.0, 3.5), (3.5, 2.0, 2.0))


def test_the_merit_order_picture_is_the_clearings_book_and_result(tmp_path):
    book = [
        clearing.Bid("b1", "B1", "buy", 4000, 3500),
        clearing.Bid("b2", "B2", "buy", 3000, 3000),
        clearing.Bid("s2", "S2", "sell", 6000, 2500),
        clearing.Bid("s1", "S1", "sell", 2000, 1000),
    ]
    buys, sells = merit.merit_order(book)
    result = clearing.clear(book, Fraction(1, 2))
    assert result.price_milli is not None

    def step(bid: clearing.Bid) -> plots.Step:
        return plots.Step(bid.volume_wh / 1000, bid.price_milli / 1000)

    drawn = plots.merit_order(
        tmp_path / "book.png",
        title="slot",
        buys=[step(b) for b in buys],
        sells=[step(b) for b in sells],
        cleared=(result.volume_wh / 1000, result.price_milli / 1000),
        matches=[plots.Match(p.buyer, p.seller, p.volume_wh / 1000) for p in result.pairs],
    )
    assert (tmp_path / "book.png").read_bytes().startswith(PNG) and drawn.path == tmp_path / "book.png"
    assert drawn.lines["demand"] == ((0.0, 4.0, 7.0), (3.5, 3.0, 3.0))
    assert drawn.lines["supply"] == ((0.0, 2.0, 8.0), (1.0, 2.5, 2.5))
    assert drawn.lines["Q*"][0] == (7.0, 7.0) and drawn.lines["p*"][1] == (2.75, 2.75)
    assert (result.volume_wh, result.price_milli) == (7000, 2750)
    pairs = [(name, points[0]) for name, points in drawn.lines.items() if name.startswith("pair")]
    assert pairs == [
        ("pair 1: B1 <- S1", (0.0, 2.0)),
        ("pair 2: B1 <- S2", (2.0, 4.0)),
        ("pair 3: B2 <- S2", (4.0, 7.0)),
    ]


def test_a_day_of_power_is_drawn_in_time_order_per_type(tmp_path):
    drawn = plots.day_power(tmp_path / "day.png", title="day", series={"grid": [(0.5, 2.0), (0.25, 1.0)], "PV": []})
    assert (tmp_path / "day.png").read_bytes().startswith(PNG)
    assert drawn.lines == {"PV": ((), ()), "grid": ((0.25, 0.5), (1.0, 2.0))}
    assert plots.day_power(tmp_path / "none.png", title="none", series={}).lines == {}


def test_the_cli_starts_without_matplotlib_and_the_layer_never_has_it():
    probe = "import sys, etp_admin.cli; etp_admin.cli.build_parser(); print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
    assert "matplotlib" not in (ROOT / "layers/shared/requirements.txt").read_text().lower()
    assert "matplotlib==" in (ROOT / "requirements-dev.txt").read_text()
    assert "matplotlib==" in (ROOT / "constraints.txt").read_text()


SEALED_AT = datetime(2030, 1, 1, 1, 40, tzinfo=UTC)
CLEARED = SlotState(sealed_at=SEALED_AT, cleared_at=SEALED_AT)


def test_a_slots_state_comes_from_its_marker_then_its_won_bids():
    assert slot_state(SlotState(), set(), open_now=True) == "open"
    assert slot_state(SlotState(), {bids.SUBMITTED}, open_now=False) == "not sealed"
    assert slot_state(SlotState(sealed_at=SEALED_AT), {bids.SEALED}, open_now=False) == "sealed"
    assert slot_state(CLEARED, {bids.WON, bids.LOST}, open_now=False) == "cleared"
    assert slot_state(CLEARED, {bids.LOST}, open_now=False) == "cleared", "nothing won: nothing to settle"
    assert slot_state(CLEARED, {bids.DELIVERING, bids.LOST}, open_now=False) == "delivering"
    assert slot_state(CLEARED, {bids.SETTLING, bids.SETTLED}, open_now=False) == "settling"
    assert slot_state(CLEARED, {bids.SETTLED, bids.LOST}, open_now=False) == "settled"
