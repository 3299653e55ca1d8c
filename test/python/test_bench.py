"""tle.bench sparse-mla on the CPU: arguments, suites, FlashMLA padding against the reference,
checking, the interleaved driver with fake providers, the writers, and the pipeline variants of
benchmarks/sparse_mla_variants.py. Fast; no GPU."""
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tle.bench import flashmla as fm  # noqa: E402
from tle.bench import providers, report, suites  # noqa: E402
from tle.bench import sparse_mla as bench  # noqa: E402
from tle.bench.__main__ import build_parser, main  # noqa: E402
from tle.ops.reference import sparse_mla_fwd_reference  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def parse(*argv):
    return build_parser().parse_args(["sparse-mla", *argv])


# --------------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------------
def test_help_names_the_flashmla_flags_and_suites(capsys):
    with pytest.raises(SystemExit) as e:
        main(["sparse-mla", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--flashmla-src", "--flashmla-lib", "--suite", "--rounds", "--only", "--show"):
        assert flag in text


def test_argument_parsing():
    a = parse("--suite", "serving", "--flashmla-src", "/x/src.so", "--flashmla-lib", "/y/lib.so", "--rounds", "4",
              "--ragged", "512,2048", "--s-kv", "8192, 65536")
    assert a.suite == "serving" and a.flashmla_src == "/x/src.so" and a.flashmla_lib == "/y/lib.so"
    assert a.rounds == 4 and a.ragged == (512, 2048) and a.s_kv == [8192, 65536]
    d = parse()
    assert d.suite == "sweep" and d.flashmla_src is None and d.index_order is None
    assert bench.timing_settings(d) == {"rounds": 5, "warmup": 10.0, "rep": 60.0}
    assert bench.timing_settings(parse("--quick"))["rounds"] == 3
    for bad in (["--ragged", "512"], ["--s-kv", "8k"], ["--suite", "nope"]):
        with pytest.raises(SystemExit):
            parse(*bad)


def test_no_gpu_returns_2_but_list_works(capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["sparse-mla", "--quick"]) == 2
    assert main(["sparse-mla", "--suite", "serving", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(suites.serving_suite()) and "base s_kv=8K" in lines[0]


def test_provider_names_default_and_unknown():
    serving = suites.serving_suite()
    names, explicit = bench.provider_names(parse(), serving)
    assert not explicit and names == list(bench.BUILTIN_PROVIDERS)
    names, _ = bench.provider_names(parse(), suites.sweep_suite([8192]))
    assert "tle_pad64" not in names  # no point pads heads
    names, explicit = bench.provider_names(parse("--providers", "tle,flashmla", "--provider", "m:f"))
    assert explicit and names == ["tle", "flashmla", "m:f"]
    with pytest.raises(SystemExit):
        bench.provider_names(parse("--providers", "nonsense"))


def test_output_names_carry_the_triton_version():
    assert bench.output_stem("serving", "3.9.0") == "sparse_mla-serving-triton3.9.0"


# --------------------------------------------------------------------------------------------------
# Suites
# --------------------------------------------------------------------------------------------------
def test_serving_suite_covers_the_classes():
    pts = suites.serving_suite()
    assert 16 <= len(pts) <= 24  # a cross of a few axes, not a full product
    assert len({p.label for p in pts}) == len(pts) and len({p.key for p in pts}) == len(pts)
    assert {p.h_q for p in pts} == {16, 32, 64, 128}
    assert {p.d_qk for p in pts} == {512, 576}
    assert {p.attn_sink for p in pts} == {True, False}
    assert {p.s_q for p in pts} == {512, 4096}
    assert {p.ragged for p in pts} == {None, (512, 2048)}
    assert min(p.s_kv for p in pts) == 8192 and max(p.s_kv for p in pts) == 131072
    assert {p.s_kv for p in pts if p.group == "base"} == {8192, 32768, 65536, 131072}
    assert all(p.order == "topk" and p.topk == 2048 and p.d_v == 512 for p in pts)
    # every non-base class is measured at an L2-resident and an HBM-bound s_kv
    for group in ("sink", "h_q=64", "h_q=32", "h_q=16", "d_qk=512", "s_q=512", "ragged"):
        kvs = {p.s_kv for p in pts if p.group == group}
        assert 8192 in kvs and max(kvs) >= 65536, group


def test_sweep_suite_select_and_order():
    pts = suites.sweep_suite([8192, 65536], h_q=64, attn_sink=True)
    assert [p.label for p in pts] == ["sweep s_kv=8K h_q=64 sink", "sweep s_kv=64K h_q=64 sink"]
    assert [p.s_kv for p in suites.select(pts, "64K")] == [65536]
    assert suites.select(pts, None) == pts
    assert {p.order for p in suites.with_order(pts, "sorted")} == {"sorted"}
    a = parse("--suite", "serving", "--only", "^h_q=16 ")
    assert [p.h_q for p in bench.build_points(a)] == [16, 16]


def test_point_validation_and_flops():
    with pytest.raises(ValueError):
        suites.Point("x", 1024, topk=2048)
    with pytest.raises(ValueError):
        suites.Point("x", 8192, ragged=(100, 4096))
    with pytest.raises(ValueError):
        suites.Point("x", 8192, order="random")
    p = suites.Point("x", 8192, s_q=4, h_q=16, topk=256, d_qk=576)
    assert p.flops() == 2 * 4 * 256 * 16 * (576 + 512)
    assert p.flops(valid_entries=100) == 2 * 100 * 16 * (576 + 512)
    assert p.as_dict()["label"] == p.label and json.dumps(p.as_dict())


# --------------------------------------------------------------------------------------------------
# Inputs and checking
# --------------------------------------------------------------------------------------------------
def test_indices_in_indexer_order_are_distinct_and_unsorted():
    q, kv, idx = bench.make_inputs(8, 16, 64, 576, 512, torch.bfloat16, seed=3, device="cpu", order="topk")
    _, _, idx_s = bench.make_inputs(8, 16, 64, 576, 512, torch.bfloat16, seed=3, device="cpu", order="sorted")
    assert idx.shape == (8, 1, 64) and idx.dtype == torch.int32 and q.shape == (8, 16, 576)
    assert kv.shape == (512, 1, 576)
    assert int(idx.min()) >= 0 and int(idx.max()) < 512
    for row in idx[:, 0]:
        assert len(set(row.tolist())) == 64
    assert torch.equal(idx.sort(dim=-1).values, idx_s)  # same rows, only the order differs
    assert not torch.equal(idx, idx_s)
    assert (q.float().abs().max() > 0) and not torch.equal(q[0], q[1])


def test_point_inputs_sink_ragged_and_flops():
    p = suites.Point("x", 1024, s_q=32, h_q=16, topk=256, attn_sink=True, ragged=(64, 256))
    inp = bench.make_point_inputs(p, torch.bfloat16, seed=5, device="cpu")
    assert inp.attn_sink.shape == (16,) and inp.attn_sink.dtype == torch.float32
    assert inp.topk_length.dtype == torch.int32 and inp.topk_length.shape == (32,)
    assert 64 <= int(inp.topk_length.min()) and int(inp.topk_length.max()) <= 256
    assert inp.flops == p.flops(int(inp.topk_length.sum()))
    assert inp.sm_scale == 576 ** -0.5
    again = bench.make_point_inputs(p, torch.bfloat16, seed=5, device="cpu")
    other = bench.make_point_inputs(p, torch.bfloat16, seed=6, device="cpu")
    assert torch.equal(again.q, inp.q) and not torch.equal(other.q, inp.q)
    assert bench.point_seed(0, p, 0) != bench.point_seed(0, p, 1)


def test_check_accepts_the_reference_and_rejects_wrong_results():
    p = suites.Point("x", 256, s_q=4, h_q=16, topk=32, attn_sink=True, ragged=(0, 32))
    inp = bench.make_point_inputs(p, torch.float32, seed=1, device="cpu")
    ref = sparse_mla_fwd_reference(*inp.args())
    prov = bench.Provider("x", None)
    info = bench.check(prov, ref, ref)
    assert info["out_rel_err"] == 0 and info["lse_max_abs_err"] == 0
    with pytest.raises(AssertionError, match="relative error"):
        bench.check(prov, (ref[0] * 1.05, ref[1], ref[2]), ref)
    nan = ref[0].clone()
    nan[0, 0, 0] = float("nan")
    with pytest.raises(AssertionError):
        bench.check(prov, (nan, ref[1], ref[2]), ref)
    with pytest.raises(AssertionError, match="lse"):
        bench.check(prov, (ref[0], ref[1], ref[2] + 0.01), ref)
    with pytest.raises(AssertionError, match="shape"):
        bench.check(prov, ref[0][:, :8], ref)
    assert "out_rel_err" in bench.check(prov, ref[0], ref) and any("only out" in n for n in prov.notes)


# --------------------------------------------------------------------------------------------------
# FlashMLA padding
# --------------------------------------------------------------------------------------------------
def test_padded_shape():
    assert fm.padded_shape(16, 2048) == (64, 2048)
    assert fm.padded_shape(64, 2048) == (64, 2048)
    assert fm.padded_shape(96, 200) == (128, 256)
    assert fm.padded_shape(128, 128) == (128, 128)
    with pytest.raises(ValueError):
        fm.padded_shape(256, 2048)
    assert fm.unsupported_reason(32, 2048, 576, "bf16") is None
    assert fm.unsupported_reason(32, 2048, 576, "fp16") and fm.unsupported_reason(256, 2048, 576, "bf16")
    assert fm.unsupported_reason(64, 2048, 576, "bf16", batched=True)


class FakeFlashMLA:
    """FlashMLA's call with its limits enforced; the reference computes the result."""

    def __init__(self):
        self.calls = []

    def __call__(self, q, kv, indices, sm_scale, d_v, attn_sink, topk_length):
        s_q, h_q, _ = q.shape
        assert h_q in fm.FLASHMLA_HEADS, h_q
        assert indices.shape[-1] % fm.FLASHMLA_TOPK_MULTIPLE == 0, indices.shape
        assert kv.shape[1] == 1 and q.dim() == 3
        assert attn_sink is None or attn_sink.shape == (h_q,)
        self.calls.append((tuple(q.shape), tuple(indices.shape)))
        return sparse_mla_fwd_reference(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)


@pytest.mark.parametrize("h_q,topk,sink,ragged", [
    (16, 200, False, None), (32, 128, True, None), (96, 100, True, (10, 100)), (64, 256, False, (0, 256)),
    (128, 130, True, (1, 130)),
])
def test_flashmla_padding_matches_the_unpadded_reference(h_q, topk, sink, ragged):
    p = suites.Point("x", 512, s_q=6, h_q=h_q, topk=topk, attn_sink=sink, ragged=ragged)
    inp = bench.make_point_inputs(p, torch.float32, seed=h_q + topk, device="cpu")
    inp.indices[0, 0, :5] = -1  # invalid entries stay invalid under padding
    ref = sparse_mla_fwd_reference(*inp.args())
    fake = FakeFlashMLA()
    res = fm.padded_call(fake, *inp.args())
    heads, topk_p = fm.padded_shape(h_q, topk)
    assert fake.calls == [((6, heads, 576), (6, 1, topk_p))]
    for got, want in zip(res, ref):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    prov = bench.Provider("flashmla", lambda *a, **k: fm.padded_call(fake, *a, **k))
    assert bench.check(prov, prov.fn(*inp.args()), ref)["out_rel_err"] < 1e-5


def test_tle_pad64_padding_matches_the_reference():
    p = suites.Point("x", 512, s_q=5, h_q=48, topk=64, attn_sink=True)
    inp = bench.make_point_inputs(p, torch.float32, seed=2, device="cpu")
    seen = []

    def ws_like(q, kv, idx, sm_scale, d_v, attn_sink, topk_length):
        seen.append(q.shape[1])
        assert q.shape[1] % 64 == 0 and attn_sink.shape == (q.shape[1],)
        assert torch.all(q[:, 48:] == 0)
        return sparse_mla_fwd_reference(q, kv, idx, sm_scale, d_v, attn_sink, topk_length)

    res = providers.pad_heads_call(ws_like, 64, *inp.args())
    ref = sparse_mla_fwd_reference(*inp.args())
    assert seen == [64]
    for got, want in zip(res, ref):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_tle_providers_say_which_kernel_runs():
    if getattr(bench._ops(), "select_kernel", None) is None:
        pytest.skip("tle.ops has no select_kernel")
    big = bench.make_point_inputs(suites.Point("x", 256, s_q=2, h_q=128, topk=64), torch.bfloat16, 0, device="cpu")
    assert bench.make_provider("tle").describe(*big.args()) == "ws"
    assert bench.make_provider("tle_tl").describe(*big.args()) == "tl"
    assert bench.make_provider("triton").describe(*big.args()) is None


def test_flashmla_providers_report_what_they_cannot_run():
    prov = bench.Provider("flashmla", None, supports=providers._flashmla_supports("fp16"))
    assert prov.supports(suites.Point("x", 8192)).startswith("n/a")
    prov = bench.Provider("flashmla", None, supports=providers._flashmla_supports("bf16"))
    assert prov.supports(suites.Point("x", 8192, h_q=16)) is None


def test_source_build_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        fm.load_source_build(str(tmp_path / "missing.so"))
    bogus = tmp_path / "flash_mla_sm90_src.so"
    bogus.write_bytes(b"not an ELF file")
    with pytest.raises(ImportError):
        fm.load_source_build(str(bogus))
    with pytest.raises(FileNotFoundError):
        fm.load_op_library(str(tmp_path / "missing.so"))


def test_schema_provider_maps_flashmla_signature_and_pads():
    lib = torch.library.Library("_tle_test_bench_flashmla", "DEF")  # noqa: F841 (keeps the op registered)
    lib.define("sparse_prefill_fwd(Tensor q, Tensor kv, Tensor indices, float sm_scale, int d_v, "
               "Tensor? attn_sink, Tensor? topk_length, Tensor(a!) out) -> (Tensor, Tensor, Tensor)")
    shapes = []

    def impl(q, kv, indices, sm_scale, d_v, attn_sink, topk_length, out):
        shapes.append((q.shape[1], indices.shape[-1], attn_sink is not None, topk_length is not None))
        o, m, l_ = sparse_mla_fwd_reference(q, kv, indices, sm_scale, d_v, attn_sink, topk_length)
        out.copy_(o)
        return out, m, l_ * math.log2(math.e)  # an old-style base-2 lse

    lib.impl("sparse_prefill_fwd", impl, "CPU")
    op = torch.ops._tle_test_bench_flashmla.sparse_prefill_fwd.default
    p = providers.schema_provider("flashmla_vllm", op, pad=True)
    pt = suites.Point("x", 64, s_q=3, h_q=16, topk=8, attn_sink=True, ragged=(2, 8))
    inp = bench.make_point_inputs(pt, torch.float32, seed=0, device="cpu")
    ref = sparse_mla_fwd_reference(*inp.args())
    info = bench.check(p, p.fn(*inp.args()), ref)
    assert shapes == [(64, 128, True, True)]
    assert info["out_rel_err"] < 1e-6 and info["lse_max_abs_err"] < 1e-5 and p.lse_base2
    assert any("base-2" in n for n in p.notes) and any("padded" in n for n in p.notes)


# --------------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------------
def _row(point, provider, rounds_ms, status="ok", **kw):
    r = {"point": point, "provider": provider, "status": status, "rounds_ms": rounds_ms, "s_kv": 8192,
         "config": None, **kw}
    if status == "ok":
        r.update(ms=report.median(rounds_ms), ms_min=min(rounds_ms), ms_max=max(rounds_ms), rounds=len(rounds_ms),
                 tflops=100.0 / report.median(rounds_ms))
    return r


def _sample_rows():
    rows = [_row("a", "tle", [1.0, 1.1, 0.9], first_call_ms=3000.0), _row("a", "flashmla", [1.2, 1.1, 1.2]),
            _row("a", "triton", [2.0, 2.0, 2.0]), _row("a", "flashmla_vllm", [1.3, 1.3, 1.3]),
            _row("b", "tle", [2.0, 2.0, 2.0]), _row("b", "flashmla", [1.0, 1.0, 1.0]),
            _row("b", "triton", [], status="check failed (round 1): out relative error 1e-1 >= 0.01"),
            _row("b", "tle_pad64", [], status="n/a: h_q is a multiple of 64 (same as tle)")]
    report.add_ratios(rows)
    return rows


def test_ratios_use_medians_and_aligned_rounds():
    rows = _sample_rows()
    a = {r["provider"]: r for r in rows if r["point"] == "a"}
    assert a["tle"]["vs_flashmla"] == pytest.approx(1.2 / 1.0)
    assert a["tle"]["vs_flashmla_min"] == pytest.approx(1.1 / 1.1)
    assert a["tle"]["vs_flashmla_max"] == pytest.approx(1.2 / 0.9)
    assert a["tle"]["vs_triton"] == pytest.approx(2.0) and a["tle"]["vs_flashmla_vllm"] == pytest.approx(1.3)
    b = {r["provider"]: r for r in rows if r["point"] == "b"}
    assert b["tle"]["vs_flashmla"] == pytest.approx(0.5) and "vs_triton" not in b["tle"]
    assert "vs_flashmla" not in b["triton"]


def test_tables_verdict_and_compile_summary():
    rows = _sample_rows()
    s = report.summary_table(rows).splitlines()
    assert "vs flashmla" in s[0] and "triton ms" in s[0] and len(s) == 2 + 2
    assert "1.200" in s[2] and "2.00" in s[2] and s[2].rstrip().endswith("ok")
    assert "0.500" in s[3] and "check failed" in s[3] and "n/a" not in s[3]
    d = report.detail_table(rows, "flashmla")
    assert "median ms" in d and "vs flashmla" in d and len(d.splitlines()) == 2 + len(rows)
    v = report.verdict(rows)
    assert "min 0.500 (b)" in v and "at 1/2 points" in v
    c = report.compile_summary(rows)
    assert len(c) == 1 and "[tle]" in c[0] and "3.00 s" in c[0]


def test_csv_and_json_writers_round_trip(tmp_path, capsys):
    rows = _sample_rows()
    meta = {"suite": "serving", "baseline": "flashmla", "header": ["H1"], "compile": ["C1"], "versions": {}}
    csv_path = report.write_csv(tmp_path / "r.csv", rows)
    lines = csv_path.read_text().splitlines()
    assert lines[0].split(",")[:5] == ["s_kv", "provider", "config", "ms", "tflops"] and len(lines) == 1 + len(rows)
    js = report.write_json(tmp_path / "r.json", rows, meta)
    back, m = report.load_json(str(js))
    assert back == json.loads(json.dumps(rows)) and m["suite"] == "serving"
    assert main(["sparse-mla", "--show", str(js)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("tle vs flashmla") and "H1" in out and "C1" in out


def test_plot_without_matplotlib_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    meta = {}
    assert report.plot(tmp_path / "p.png", _sample_rows(), meta, log=lambda m: None) is None
    assert not (tmp_path / "p.png").exists() and "matplotlib" in meta["notes"][0]


def test_plot_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    path = report.plot(tmp_path / "p.png", _sample_rows(), {"suite": "serving", "versions": {"triton": "x"}})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------
# The driver end to end on CPU (fake providers, CUDA calls stubbed)
# --------------------------------------------------------------------------------------------------
def _fake_provider_module():
    mod = types.ModuleType("tle_test_bench_providers")

    def good(q, kv, idx, sm_scale, d_v):
        return sparse_mla_fwd_reference(q, kv, idx, sm_scale, d_v, out_dtype=q.dtype)

    def full(q, kv, idx, sm_scale, d_v, attn_sink=None, topk_length=None):
        return sparse_mla_fwd_reference(q, kv, idx, sm_scale, d_v, attn_sink, topk_length, out_dtype=q.dtype)

    def out_only(q, kv, idx, sm_scale, d_v):
        return good(q, kv, idx, sm_scale, d_v)[0]

    def wrong(q, kv, idx, sm_scale, d_v):
        return good(q, kv, idx, sm_scale * 2, d_v)

    mod.good, mod.full, mod.out_only, mod.wrong = good, full, out_only, wrong
    return mod


@pytest.fixture
def cpu_driver(monkeypatch):
    """The driver with CUDA stubbed: inputs on the CPU, every do_bench sample 2 ms."""
    monkeypatch.setitem(sys.modules, "tle_test_bench_providers", _fake_provider_module())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "CPU (test)")
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda *a: None)
    real_inputs = bench.make_inputs
    monkeypatch.setattr(bench, "make_inputs", lambda *a, **k: real_inputs(*a, **{**k, "device": "cpu"}))
    calls = []
    monkeypatch.setattr(bench, "bench_ms", lambda fn, warmup, rep: (fn(), calls.append(1), 2.0)[2])
    return calls


def test_driver_end_to_end_on_cpu(tmp_path, capsys, cpu_driver, monkeypatch):
    import triton

    def no_ceilings(*a, **k):  # on a GPU machine they would really be measured
        raise RuntimeError("stubbed CUDA")

    monkeypatch.setattr(bench, "measure_ceilings", no_ceilings)

    out_dir = tmp_path / "res"
    mods = "tle_test_bench_providers"
    rc = main(["sparse-mla", "--s-q", "4", "--h-q", "16", "--topk", "8", "--s-kv", "32,64", "--out", str(out_dir),
               "--rounds", "3", "--providers", f"{mods}:good,{mods}:out_only,{mods}:wrong,nomodule_xyz:fn"])
    assert rc == 1  # `wrong` fails the check
    printed = capsys.readouterr().out
    assert "median ms" in printed and "check failed" in printed and f"triton {triton.__version__}" in printed
    stem = f"sparse_mla-sweep-triton{triton.__version__}"
    data = json.loads((out_dir / f"{stem}.json").read_text())
    status = {(r["s_kv"], r["provider"]): r["status"] for r in data["results"]}
    assert status[(32, f"{mods}:good")] == "ok" and status[(64, f"{mods}:out_only")] == "ok"
    assert status[(64, f"{mods}:wrong")].startswith("check failed (round 1)")
    assert "nomodule_xyz:fn" in data["skipped_providers"]
    assert data["ceilings"] is None and any(n.startswith("ceilings not measured") for n in data["notes"])
    assert data["versions"]["triton"] == triton.__version__ and data["timing"]["rounds"] == 3
    good = [r for r in data["results"] if r["provider"].endswith(":good")][0]
    assert good["rounds_ms"] == [2.0, 2.0, 2.0] and good["ms"] == 2.0 and good["first_call_ms"] >= 0
    assert good["tflops"] == pytest.approx(2 * 4 * 16 * 8 * (576 + 512) / 2e-3 / 1e12)
    assert len(cpu_driver) == 2 * 2 * 3  # two timed providers x two points x three rounds
    rows = (out_dir / f"{stem}.csv").read_text().splitlines()
    assert rows[0].startswith("s_kv,provider,config,ms,tflops") and len(rows) == 1 + 2 * 3


def test_driver_serving_like_points_with_padded_flashmla(tmp_path, capsys, cpu_driver, monkeypatch):
    """--flashmla-src goes through the padding for h_q = 16 (a fake FlashMLA enforcing its limits);
    a 5-argument user provider is n/a where the point passes attn_sink."""
    fake = FakeFlashMLA()
    monkeypatch.setattr(fm, "load_source_build", lambda path: fake)
    mods = "tle_test_bench_providers"
    rc = main(["sparse-mla", "--s-q", "3", "--h-q", "16", "--topk", "100", "--s-kv", "256", "--attn-sink",
               "--ragged", "10,100", "--rounds", "2", "--out", str(tmp_path),
               "--flashmla-src", "/fake/flash_mla_sm90_src.so", "--providers", f"flashmla,{mods}:full,{mods}:good"])
    assert rc == 0
    assert fake.calls and all(c == ((3, 64, 576), (3, 1, 128)) for c in fake.calls)
    out = capsys.readouterr().out
    data = json.loads(next(tmp_path.glob("*.json")).read_text())
    by = {r["provider"]: r for r in data["results"]}
    assert by["flashmla"]["status"] == "ok" and by[f"{mods}:full"]["status"] == "ok"
    assert by[f"{mods}:good"]["status"].startswith("n/a")
    assert by[f"{mods}:full"]["vs_flashmla"] == pytest.approx(1.0)
    assert data["baseline"] == "flashmla" and "source build" in data["providers"]["flashmla"]["notes"][0]
    assert out.strip().splitlines()[-1].startswith("tle vs flashmla")  # no tle provider: said so


def test_results_of_a_round_stay_alive_until_its_checks_end(tmp_path, cpu_driver, monkeypatch):
    """A later provider's output must not be allocatable over an earlier one's (same inputs)."""
    import weakref

    outs, alive_at_call = [], []
    mod = types.ModuleType("tle_test_bench_alive")

    def provider(q, kv, idx, sm_scale, d_v):
        alive_at_call.append(all(w() is not None for w in outs))
        res = sparse_mla_fwd_reference(q, kv, idx, sm_scale, d_v, out_dtype=q.dtype)
        outs.append(weakref.ref(res[0]))
        return res

    mod.a = mod.b = mod.c = provider
    monkeypatch.setitem(sys.modules, "tle_test_bench_alive", mod)
    rc = main(["sparse-mla", "--s-q", "2", "--h-q", "16", "--topk", "8", "--s-kv", "32", "--rounds", "1",
               "--no-ceilings", "--out", str(tmp_path), "--providers",
               "tle_test_bench_alive:a,tle_test_bench_alive:b,tle_test_bench_alive:c"])
    assert rc == 0 and alive_at_call[:3] == [True, True, True]


def test_time_limit_stops_before_a_point_that_would_overrun(tmp_path, cpu_driver, capsys):
    mods = "tle_test_bench_providers"
    rc = main(["sparse-mla", "--s-q", "2", "--h-q", "16", "--topk", "8", "--s-kv", "32,64,128", "--rounds", "1",
               "--time-limit", "0.0001", "--no-ceilings", "--out", str(tmp_path), "--providers", f"{mods}:good"])
    assert rc == 0
    data = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert [r["s_kv"] for r in data["results"]] == [32] and not data["complete"] and data["points_run"] == 1
    assert any("2 points not run" in n for n in data["notes"])
    capsys.readouterr()
    assert main(["sparse-mla", "--show", str(next(tmp_path.glob("*.json")))]) == 0
    shown = capsys.readouterr().out
    assert "incomplete run: 1 of 3 points" in shown and "points not run" in shown


def test_ceilings_formulas(cpu_driver):
    c = bench.measure_ceilings(1, 1, device="cpu", n=64, copy_elems=1 << 20)  # every sample 2 ms
    assert c["bf16_gemm_tflops"] == pytest.approx(2 * 64 ** 3 / 2e-3 / 1e12)
    assert c["copy_tb_s"] == pytest.approx(2 * 2 * (1 << 20) / 2e-3 / 1e12)
    lines = bench.header_lines({"suite": "s", "points": [], "date": "d", "versions": dict.fromkeys(
        ("triton", "torch", "cuda", "python"), "v"), "gpu": "g", "timing": dict.fromkeys(
        ("rounds", "check_rounds", "warmup_ms", "rep_ms"), 1), "cache": "c", "ceilings": c, "providers": {},
        "skipped_providers": {}})
    assert any(line.startswith("measured ceilings: bf16 GEMM 0 TFLOP/s") for line in lines)


def test_driver_rejects_bad_requests(capsys):
    assert main(["sparse-mla", "--suite", "serving", "--only", "no-such-point", "--list"]) == 0
    assert main(["sparse-mla", "--suite", "serving", "--only", "no-such-point"]) == 2
    assert main(["sparse-mla", "--suite", "serving", "--tune"]) == 2
    assert main(["sparse-mla", "--d-v", "256"]) == 2


# --------------------------------------------------------------------------------------------------
# benchmarks/sparse_mla_variants.py: variants derived from the registered pipeline
# --------------------------------------------------------------------------------------------------
def _variants():
    spec = importlib.util.spec_from_file_location("sparse_mla_variants", REPO / "benchmarks" / "sparse_mla_variants.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dumped_pipeline_parsing():
    v = _variants()
    text = "Pass Manager with 3 passes:\nbuiltin.module(\n  a-pass,\n  b-pass{opt=1 list=x,y},\n  c-pass\n)\n"
    assert v.parse_dumped_pipeline(text) == ["a-pass", "b-pass{opt=1 list=x,y}", "c-pass"]
    assert v.step_name("b-pass{opt=1}") == "b-pass"
    with pytest.raises(ValueError):
        v.parse_dumped_pipeline("nothing here")
    with pytest.raises(ValueError):
        v.parse_dumped_pipeline("builtin.module(a, b")


def _native_tools_or_skip():
    import tle

    try:
        tle.list_passes()
        if not Path(tle.tool_path("tle-opt")).is_file():
            raise FileNotFoundError
    except Exception:
        pytest.skip("TLE's native library / tle-opt not built (set TLE_NATIVE_LIB and TLE_TLE_OPT)")


def test_variants_follow_the_registered_pipeline():
    import tle

    _native_tools_or_skip()
    v = _variants()
    steps = v.registered_pipeline()
    names = [v.step_name(s) for s in steps]
    assert names[0] == "tle-check-triton-types" and names[-1] == "tle-lower-to-triton"
    assert set(names) <= set(tle.list_passes())
    if not tle.has_native_rewrites():
        pytest.skip("built without __TLE__: tle-pipeline is only the check and the lowering")
    no_early = v.without("tle-issue-copies-early").split(",")
    assert no_early == [s for s in steps if v.step_name(s) != "tle-issue-copies-early"]
    assert "tle-hoist-wgmma-accumulators" in no_early  # the old hand-written list dropped it too
    assert v.only("tle-split-dot-warps").split(",") == ["tle-check-triton-types", "tle-split-dot-warps",
                                                        "tle-lower-to-triton"]
    with pytest.raises(ValueError):
        v.without("tle-lower-to-triton")
    with pytest.raises(ValueError):
        v.without("tle-no-such-pass")
    assert v.without_tle_hoist_wgmma_accumulators.__doc__ == "tle-pipeline without tle-hoist-wgmma-accumulators"
    assert not hasattr(v, "without_tle_no_such_pass")
    for pipeline in (v.without("tle-issue-copies-early"), v.only("tle-split-dot-warps")):
        assert "builtin.module" in tle.run_pipeline("module {}", pipeline)  # the spelling parses
    from tle import config

    default = config.current().pipeline
    with v._tle(v.without("tle-chain-wgmma-waits")):  # what the compile hook will run
        assert config.current().pipeline == v.without("tle-chain-wgmma-waits")
    assert config.current().pipeline == default


# --------------------------------------------------------------------------------------------------
# benchmarks/ab_sparse_mla.py and scripts/gpu_bench.sh
# --------------------------------------------------------------------------------------------------
def test_ab_wrapper_arguments(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("ab_sparse_mla", REPO / "benchmarks" / "ab_sparse_mla.py")
    ab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ab)
    monkeypatch.chdir(tmp_path)  # no .flashmla/ here
    argv = ab.ab_argv(["--providers", "tle,flashmla", "--rounds", "3"])
    assert argv[0] == "sparse-mla" and argv[argv.index("--baseline") + 1] == "tle"
    assert argv.count("--rounds") == 1 and "--s-kv" in argv and "--flashmla-src" not in argv
    (tmp_path / ".flashmla").mkdir()
    (tmp_path / ".flashmla" / "flash_mla_sm90_src.so").write_bytes(b"")
    argv = ab.ab_argv(["--providers=x:y", "--baseline", "flashmla"])
    assert argv.count("--baseline") == 1 and argv[argv.index("--flashmla-src") + 1].endswith("src.so")
    parse(*argv[1:])  # the benchmark accepts what the wrapper builds


FAKE_DRIVER = '''
import sys, torch
from tle.bench import flashmla as fm, sparse_mla as bench
from tle.bench.__main__ import main
from tle.ops.reference import sparse_mla_fwd_reference as ref
import types
mod = types.ModuleType("fake_providers")
mod.full = lambda q, kv, i, s, d, attn_sink=None, topk_length=None: ref(q, kv, i, s, d, attn_sink, topk_length)
sys.modules["fake_providers"] = mod
torch.cuda.is_available = lambda: True
torch.cuda.get_device_name = lambda *a: "CPU (test)"
torch.cuda.synchronize = torch.cuda.empty_cache = lambda *a: None
real = bench.make_inputs
bench.make_inputs = lambda *a, **k: real(*a, **{**k, "device": "cpu"})
bench.bench_ms = lambda fn, w, r: (fn(), 2.0)[1]
fm.load_source_build = lambda path: (lambda *a: ref(*a))
sys.exit(main(sys.argv[3:]))  # argv: driver -m tle.bench sparse-mla ...
'''


def test_gpu_bench_script_on_cpu(tmp_path):
    """scripts/gpu_bench.sh with a stand-in interpreter whose `-m tle.bench sparse-mla` run stubs
    CUDA: flags forwarded, four files named with the Triton version, the summary table last."""
    import triton

    _native_tools_or_skip()
    driver = tmp_path / "driver.py"
    driver.write_text(FAKE_DRIVER)
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-m" ] && [ "$4" != "--show" ]; then exec {sys.executable} {driver} "$@"; fi\n'
                    f'exec {sys.executable} "$@"\n')
    fake.chmod(0o755)
    so = tmp_path / "flash_mla_sm90_src.so"
    so.write_bytes(b"")
    env = {**__import__("os").environ, "PYTHON": str(fake), "OUT": str(tmp_path / "out"), "TLE_COMMIT": "abc1234",
           "PYTHONPATH": f"{REPO / 'python'}:" + __import__("os").environ.get("PYTHONPATH", "")}
    import subprocess

    r = subprocess.run(["bash", str(REPO / "scripts" / "gpu_bench.sh"), "--flashmla-src", str(so), "--suite", "sweep",
                        "--s-q", "2", "--h-q", "16", "--topk", "100", "--s-kv", "256", "--rounds", "2",
                        "--providers", "flashmla,fake_providers:full"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    stem = f"sparse_mla-sweep-triton{triton.__version__}"
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert {f"{stem}.json", f"{stem}.csv", f"{stem}.log"} <= set(files) and len(files) <= 4
    data = json.loads((tmp_path / "out" / f"{stem}.json").read_text())
    assert data["commit"] == "abc1234" and data["complete"] and "cold" in data["cache"]
    assert {r_["provider"]: r_["status"] for r_ in data["results"]} == {"flashmla": "ok", "fake_providers:full": "ok"}
    lines = r.stdout.strip().splitlines()
    assert lines[-1].startswith("tle vs flashmla") and any(line.startswith("#  point") for line in lines[-5:])
    assert "[1/1] sweep s_kv=256" in r.stdout  # the progress line reached the console
