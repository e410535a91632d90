from datetime import datetime

import pytest
from helpers import ROOT

from etp.simulators import histories as simulation

SAMPLES = ROOT / "tests" / "data"  # the old service's sample files, copied
ABRI = "AMI_1,AMI_2,AMI_3,total_load(kW),PV_generate(kW),net_load(kW),TIME\n8,12.16,1.8,21.96,0,21.96,2020/5/2 00:00\n"
CARLAB = (
    "id,field,grid_power,inserted_at\n4451,carlab,12.228,2020/4/25 00:00\n4452,carlab,11.817,2020/4/25 00:15\n"
    "4453,carlab,12.13,2020/4/25 00:30\n4454,carlab,12.264,2020/4/25 00:45\n4455,carlab,12.069,2020/4/25 01:00\n"
)


def test_each_bems_has_its_shape_and_unknown_ones_fall_back_with_a_warning():
    assert simulation.shape_for("ABRI_BEMS") == ("abri", [])
    assert simulation.shape_for("NCKU_BEMS") == ("carlab", [])
    shape, warnings = simulation.shape_for("SGESC_C_BEMS")
    assert shape == "carlab" and "SGESC_C_BEMS" in warnings[0]


@pytest.mark.parametrize(("name", "shape"), [("ABRI_BEMS", "abri"), ("Carlab_BEMS", "carlab"), ("NCKU_BEMS", "carlab")])
def test_the_sample_files_of_the_old_service_parse(name, shape):
    samples = simulation.parse_csv((SAMPLES / f"{name}.sample.csv").read_text(), shape)
    assert samples and all(s.minute % 15 == 0 for s in samples)


def test_abri_rows_use_total_load_and_time():
    (sample,) = simulation.parse_csv(ABRI, "abri")
    assert sample == simulation.Sample(weekday=5, minute=0, grid_kw=21.96)  # 2020/5/2 was a Saturday


def test_the_nearest_minute_of_the_same_weekday_and_hour_is_picked():
    samples = simulation.parse_csv(CARLAB, "carlab")  # a Saturday, 00:00 .. 01:00
    saturday = datetime(2026, 11, 28, 0, 0)
    assert simulation.pick(samples, saturday.replace(minute=7)).grid_kw == 12.228
    assert simulation.pick(samples, saturday.replace(minute=8)).grid_kw == 11.817
    assert simulation.pick(samples, saturday.replace(minute=59)).grid_kw == 12.264, "stays within the hour"
    assert simulation.pick(samples, saturday.replace(hour=1, minute=40)).grid_kw == 12.069


def test_the_day_boundary_uses_the_weekday_of_now():
    samples = simulation.parse_csv(CARLAB.replace("2020/4/25 01:00", "2020/4/26 00:00"), "carlab")
    assert simulation.pick(samples, datetime(2026, 11, 29, 0, 5)).grid_kw == 12.069  # Sunday 00:05
    with pytest.raises(simulation.SimulationDataError, match="Friday 23"):
        simulation.pick(samples, datetime(2026, 11, 27, 23, 50))


@pytest.mark.parametrize(
    ("text", "shape", "why"),
    [
        ("a,b\n1,2\n", "carlab", "missing column"),
        (CARLAB.replace("12.228", "twelve"), "carlab", "line 2: grid_power"),
        (CARLAB.replace("12.228", "nan"), "carlab", "plausible"),
        (CARLAB.replace("2020/4/25 00:15", "25-04-2020"), "carlab", "line 3: inserted_at"),
        ("id,field,grid_power,inserted_at\n", "carlab", "no rows"),
        (CARLAB, "abri", "missing column"),
    ],
)
def test_broken_csvs_say_where_and_why(text, shape, why):
    with pytest.raises(simulation.SimulationDataError, match=why):
        simulation.parse_csv(text, shape)


def test_the_committed_demo_histories_are_what_the_generator_makes(tmp_path):
    from etp_admin import simdata

    for account in simdata.PROFILES:
        made = simdata.write(account, tmp_path).read_text()
        assert (simdata.DEFAULT_FOLDER / f"{account}.csv").read_text() == made, "run etp_admin.simdata"
        samples = simulation.parse_csv(made, simulation.shape_for(account)[0])
        assert {(s.weekday, s.minute // 60) for s in samples} == {(d, h) for d in range(7) for h in range(24)}


def test_pv_sites_export_at_noon():
    from etp_admin import simdata

    noon = [r for r in simdata.rows("SGESC_C_BEMS") if r["moment"].hour == 12 and r["moment"].weekday() == 6]
    assert all(r["net"] < 0 for r in noon)


def test_no_demo_or_sample_reading_exceeds_the_demo_meters_rating_or_the_default():
    """The simulators publish these rows as Demand readings: the capacity rule must never refuse one."""
    from etp.meters.registry import DEFAULT_RATED_KW
    from etp_admin import demo, simdata

    files = [(simdata.DEFAULT_FOLDER / f"{account}.csv", account) for account in simdata.PROFILES]
    files += [(SAMPLES / f"{name}.sample.csv", name) for name in ("ABRI_BEMS", "Carlab_BEMS", "NCKU_BEMS")]
    peak = max(
        abs(sample.grid_kw)
        for path, account in files
        for sample in simulation.parse_csv(path.read_text(), simulation.shape_for(account)[0])
    )
    assert 20 < peak <= demo.DEMO_RATED_KW <= DEFAULT_RATED_KW
