"""The fuzz harness (tools/fuzz/tle_fuzz.py) in CI: a bounded, seeded run over mutations of the
captured TTGIR and lit inputs, and every regression input of issue 11, through every TLE pass
and tle-pipeline (run_pipeline in worker processes, tle-opt with and without the upstream
verifiers). Nothing may crash, hang, write to the process's streams or fail without a
diagnostic. TLE_FUZZ_CASES=N runs N mutated cases instead of the default."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "fuzz"))
import tle_fuzz  # noqa: E402

CASES = int(os.environ.get("TLE_FUZZ_CASES", "6000"))
SEED = 20261201


@pytest.fixture(scope="module")
def setup(tle_opt):
    from tle import _native

    try:
        _native.library()
    except ImportError as e:
        pytest.skip(f"no native library: {e}")
    seeds, regressions = tle_fuzz.load_seeds()
    return seeds, regressions, tle_fuzz.all_pipelines(), tle_opt


def _report(findings, tmp_path):
    paths = tle_fuzz.write_findings(findings, tmp_path / "findings")
    return "\n".join(f"{f.kind}: {f.case} / {f.pipeline[:100]}: {f.detail[:300]} -> {p}"
                     for f, p in zip(findings, paths))


def test_harness_reports_every_kind_of_failure(tmp_path):
    """The supervisor notices a worker that aborts, one that hangs, native output on the
    process's streams and an error without a diagnostic (a worker-side self test each)."""
    kinds = ["!selftest-abort", "!selftest-hang", "!selftest-stderr", "!selftest-empty-diagnostics"]
    cases = [tle_fuzz.Case(k, "module {}", [k]) for k in kinds] + [tle_fuzz.Case("fine", "module {}", ["builtin.module()"])]
    findings, stats = tle_fuzz.fuzz(cases, jobs=2, timeout=5)
    assert sorted((f.case, f.kind) for f in findings) == sorted([
        ("!selftest-abort", "crash"), ("!selftest-hang", "hang"), ("!selftest-stderr", "stray-output"),
        ("!selftest-empty-diagnostics", "empty-diagnostics")])
    assert "SIGABRT" in next(f.detail for f in findings if f.kind == "crash")
    assert stats.cases == 5 and stats.accepted == 1


def test_cases_depend_only_on_seed_and_index(setup):
    seeds, _, pipelines, _ = setup
    first = [(c.name, c.text) for c in tle_fuzz.make_cases(200, 5, seeds, pipelines)]
    again = [(c.name, c.text) for c in tle_fuzz.make_cases(200, 5, seeds, pipelines)]
    other = [(c.name, c.text) for c in tle_fuzz.make_cases(200, 6, seeds, pipelines)]
    assert first == again and first != other
    # Every mutator contributes to a run of this size.
    applied = {part for name, _ in first for part in name.rsplit("[", 1)[1].rstrip("]").split("+")}
    assert applied == {f.__name__[2:] for f, _ in tle_fuzz.MUTATORS}


def test_every_pass_is_fuzzed(setup):
    _, _, pipelines, _ = setup
    import tle

    assert set(tle.list_passes()) <= set(pipelines)
    assert "tle-pipeline" in pipelines


def test_regression_inputs_run_clean(setup, tmp_path):
    """Every crash and hang input of issue 11 (tools/fuzz/regressions and the generated ones)
    through every pass by run_pipeline, and by tle-opt with the upstream verifiers on and off:
    clean results only."""
    _, regressions, pipelines, tle_opt = setup
    names = {r.name for r in regressions}
    assert len([n for n in names if n.startswith("regressions/gen_")]) == 4
    assert len(names) >= 14
    findings, stats = tle_fuzz.fuzz(tle_fuzz.regression_cases(regressions, pipelines), jobs=2, timeout=60,
                                    tle_opt=tle_opt)
    assert not findings, _report(findings, tmp_path)
    assert stats.tle_opt_runs > 100


def test_bounded_fuzz_run_finds_nothing(setup, tmp_path):
    seeds, _, pipelines, tle_opt = setup
    findings, stats = tle_fuzz.fuzz(tle_fuzz.make_cases(CASES, SEED, seeds, pipelines), jobs=2, timeout=30,
                                    tle_opt=tle_opt)
    assert not findings, _report(findings, tmp_path)
    assert stats.cases == CASES
    # A run that only exercised the parser would prove little: many cases reach the passes.
    assert stats.accepted > CASES // 5, stats
