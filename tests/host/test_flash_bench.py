"""Smoke test of bench/flash.py's code paths at tiny sizes (no timing thresholds):
the churn workload for both systems, the populate + heap bisection path, and the
output lines. Needs the frozen unix port (make setup)."""

import json
import os

import pytest

from bench import common, flash


@pytest.fixture(autouse=True)
def frozen_port_is_built():
    """A missing toolchain fails the run; it never skips."""
    assert os.path.exists(common.MICROPYTHON_FROZEN), \
        "build/bin/micropython-frozen is missing: run `make setup`"


@pytest.mark.parametrize("system", ["sprig", "lfs"])
def test_churn_counts(system):
    r = flash.churn(system, 20, 3, 16, 2)
    assert r["prog_bytes"] > 0
    assert len(r["per_block"]) == 16
    assert sum(r["per_block"]) == r["erases"]


def test_churn_with_compaction_counts_erases():
    r = flash.churn("sprig", 20, 60, 8, 2)
    assert r["compactions"] > 0 and r["erases"] > 0
    assert flash.wear(r["per_block"]) >= 1


def test_wear():
    assert flash.wear([1, 1, 2, 4]) == 2.0
    assert flash.wear([0, 0]) is None


def test_peak_heap_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(flash, "CACHE", str(tmp_path))
    flash.peak_heap(50, 16)
    flash.peak_heap(50, 16)  # second time from the cache
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["metric"] for x in lines] == ["peak_heap@50keys"] * 2
    assert lines[0]["ours"] == lines[1]["ours"] > 4096
    assert len(os.listdir(tmp_path)) == 1
