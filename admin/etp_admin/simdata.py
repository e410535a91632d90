"""Generate the demo buildings' one-week meter histories for the power-data simulator.

    .venv/bin/python -m etp_admin.simdata      (rewrites layers/shared/etp/simulators/demo_histories/*.csv)

One row every 15 minutes from a Monday to the Sunday after, in each building's CSV shape (see
etp.simulators.histories). The load curves are synthetic but shaped like the buildings: offices with a
weekday daytime peak, a lab, PV-heavy sites that export at noon (negative net load), and ABRI's
three AMI feeders. A fixed seed makes the files reproducible.
"""

import csv
import math
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

START = datetime(2020, 5, 4)  # a Monday
STEPS = 7 * 96
# Shipped in the shared layer, so the simulator function reads them from its own package.
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "layers" / "shared" / "etp" / "simulators" / "demo_histories"

# account -> (base kW, weekday daytime extra kW, PV peak kW, noise kW)
PROFILES = {
    "Carlab_BEMS": (9.0, 6.0, 0.0, 0.4),
    "NCKU_BEMS": (0.8, 0.6, 0.0, 0.05),
    "SGESC_C_BEMS": (4.0, 3.0, 14.0, 0.5),
    "SGESC_D_BEMS": (5.0, 2.0, 9.0, 0.5),
    "ABRI_BEMS": (18.0, 8.0, 5.0, 0.6),
}


def _load(moment: datetime, base: float, daytime: float, noise: float, rng: random.Random) -> float:
    hour = moment.hour + moment.minute / 60
    office = daytime * math.exp(-(((hour - 13) / 3.5) ** 2)) * (1.0 if moment.weekday() < 5 else 0.3)
    return base + office + rng.gauss(0, noise)


def _pv(moment: datetime, peak: float) -> float:
    hour = moment.hour + moment.minute / 60
    return max(0.0, peak * math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0


def rows(account: str) -> list[dict]:
    base, daytime, pv_peak, noise = PROFILES[account]
    rng = random.Random(f"simdata:{account}")  # noqa: S311 (synthetic data, reproducible on purpose)
    out = []
    for step in range(STEPS):
        moment = START + timedelta(minutes=15 * step)
        load, pv = _load(moment, base, daytime, noise, rng), _pv(moment, pv_peak)
        out.append({"moment": moment, "load": round(load, 3), "pv": round(pv, 3), "net": round(load - pv, 3)})
    return out


def write(account: str, folder: Path) -> Path:
    path = folder / f"{account}.csv"
    stamp = "{d.year}/{d.month}/{d.day} {d:%H:%M}"
    with path.open("w", newline="") as handle:
        if account == "ABRI_BEMS":
            writer = csv.writer(handle)
            writer.writerow(["AMI_1", "AMI_2", "AMI_3", "total_load(kW)", "PV_generate(kW)", "net_load(kW)", "TIME"])
            for r in rows(account):
                a1, a2 = round(r["load"] * 0.4, 3), round(r["load"] * 0.5, 3)
                writer.writerow(
                    [a1, a2, round(r["load"] - a1 - a2, 3), r["load"], r["pv"], r["net"], stamp.format(d=r["moment"])]
                )
        else:
            writer = csv.writer(handle)
            writer.writerow(["id", "field", "grid_power", "inserted_at"])
            for index, r in enumerate(rows(account), start=1):
                writer.writerow([index, account.removesuffix("_BEMS").lower(), r["net"], stamp.format(d=r["moment"])])
    return path


def main(argv: list[str] | None = None) -> int:
    folder = Path((argv or sys.argv[1:] or [str(DEFAULT_FOLDER)])[0])
    folder.mkdir(parents=True, exist_ok=True)
    for account in PROFILES:
        print(write(account, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
