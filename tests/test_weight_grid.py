"""benchmarks/weight_grid.py: aggregation of the runs' metrics and the table (no training here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "weight_grid.py"


@pytest.fixture(scope="module")
def grid():
    return load_script(SCRIPT, "weight_grid")


def _run(modes: float, overshoot: float | None) -> dict:
    last = {"ms_ratio": 0.4, "collapsed": 0.0} | ({} if overshoot is None else {"overshoot": overshoot})
    return {"evaluation": {"modes_classified": modes, "ndb": 3}, "last_log": last}


def test_summary_takes_evaluation_and_training_log_values_over_the_seeds(grid):
    table = grid.summarize({"a": [_run(4.0, 0.5), _run(6.0, 0.7)], "b": [_run(2.0, None)]})
    assert table["a"]["modes_classified"] == pytest.approx([5.0, 2**0.5, 2])
    assert table["a"]["overshoot"] == pytest.approx([0.6, 0.1414, 2], rel=1e-3)
    assert "overshoot" not in table["b"]  # a run without a ceiling logs none
    text = grid.markdown(table)
    assert "| a | 5 +/- 1.4 |" in text
    assert text.splitlines()[0].count("|") == len(text.splitlines()[2].split("|")) - 1


def test_every_configuration_is_trainer_options(grid):
    for options in grid.CONFIGS.values():
        assert options[0] == "--ms-weight"
    assert grid.slug("clamped at the data ceiling, weight 5") == "clamped_at_the_data_ceiling__weight_5"
