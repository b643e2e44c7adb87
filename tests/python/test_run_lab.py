# run_lab: the schema-1 result of `dontpanic run` as a dict; bad ids and parameters raise.
import pytest

import dontpanic as dp


def test_quick_cpu_lab_returns_schema_1_with_checks_passing():
    r = dp.run_lab("graph-intro", {"max-width": 16}, history=False)
    assert r["schema"] == 1
    assert r["lab"] == "graph-intro"
    assert r["quick"] is True
    assert r["params"]["max-width"] == 16
    assert r["checks"] and all(c["passed"] for c in r["checks"])
    assert {s["variant"] for s in r["series"]} == {"cpu-immediate", "cpu-fused"}
    assert all(p["median_ns"] > 0 for s in r["series"] for p in s["points"])


def test_bad_id_raises_with_the_cli_message():
    with pytest.raises(dp.Error, match="graph-intr0") as e:
        dp.run_lab("graph-intr0", history=False)
    assert "graph-intro" in str(e.value)  # the CLI's "did you mean"


def test_bad_param_raises_with_the_cli_message():
    with pytest.raises(dp.Error, match="max-width"):
        dp.run_lab("graph-intro", {"max-width": 3}, history=False)
    with pytest.raises(dp.Error, match="no-such-param"):
        dp.run_lab("graph-intro", {"no-such-param": 1}, history=False)
