"""Bad input never crashes, hangs or overflows the stack: tle-opt exits 1 with a diagnostic and
the Python binding raises TLEError (TypeError for arguments that are not str), and nothing of it
reaches the process's stderr. Crashes are caught by running each case in a subprocess."""
import json
import os
import random
import subprocess
import sys

import pytest

VALID = '''module attributes {"ttg.num-warps" = 8 : i32} {
  "tt.func"() <{function_type = (!ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>) -> (), sym_name = "k"}> ({
  ^bb0(%arg0: !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>):
    %0 = tle.memdesc_wgmma_view %arg0 {order = array<i32: 1, 0>} : !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable> -> !ttg.memdesc<64x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
    "tt.return"() : () -> ()
  }) : () -> ()
}
'''


def _alias_chain(sigil: str, n: int, first: str, link: str, use: str) -> str:
    """n aliases, each defined through the previous one (`link` formats the previous name), and
    one op using the last: shallow text, deeply nested attribute or type."""
    lines = [f"{sigil}a0 = {first}"]
    lines += [f"{sigil}a{i} = {link.format(f'{sigil}a{i - 1}')}" for i in range(1, n)]
    return "\n".join(lines) + "\n" + use.format(f"{sigil}a{n - 1}") + "\n"


def _loc_chain(n: int, forward: bool) -> str:
    """Call-site locations nested n deep through aliases; `forward`: the op comes first and names
    the last alias before it is defined (Triton prints location aliases after the module)."""
    defs = ['#loc0 = loc("k.py":1:1)'] + [f"#loc{i} = loc(callsite(#loc{i - 1} at #loc0))" for i in range(1, n)]
    op = f'"test.op"() : () -> () loc(#loc{n - 1})'
    return "\n".join([op] + defs if forward else defs + [op]) + "\n"


BAD_INPUTS = {
    "empty_op_name": '"" () : () -> ()',
    "truncated": VALID[: len(VALID) // 2],
    "binary": bytes(range(256)).decode("latin-1"),
    "nul_bytes": "module {\x00\x00}",
    "undefined_value": '"tt.return"(%nope) : (i32) -> ()',
    "type_mismatch": '%0 = "a.b"() : () -> i32\n"a.c"(%0) : (f32) -> ()',
    "unbalanced": "module { module { ",
    "deep_regions": "module {" * 5000 + "}" * 5000,
    "deep_brackets": "%0 = \"a.b\"() {x = " + "[" * 20000 + "]" * 20000 + "} : () -> ()",
    "deep_types": "%0 = \"a.b\"() : () -> " + "tensor<" * 3000 + "f32" + ">" * 3000,
    "bad_memdesc": '%0 = "a.b"() : () -> !ttg.memdesc<<<>>>',
    "view_on_non_memdesc": '%t = "a.b"() : () -> i32\n%0 = "tle.memdesc_wgmma_view"(%t) <{order = array<i32: 0>}> : (i32) -> i32',
    "view_bad_order": VALID.replace("array<i32: 1, 0>", "array<i32: 7, 0>"),
    "fence_no_operands": '"tle.wgmma_shared_operand_fence"() : () -> ()',
    "huge_integer": '%0 = "a.b"() {v = 99999999999999999999999999999999 : i32} : () -> ()',
    "unterminated_string": '%0 = "a.b',
    "utf8_garbage": "module { \udcff }".encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
    "only_comment": "// nothing here\n" * 3 + "}",
    # Recursion the bracket count alone misses: affine expressions (the affine parser and the
    # printer recurse once per operator; these killed tle-opt with SIGSEGV before any pass).
    "affine_floordiv_chain": "module attributes {t.x = affine_map<(d0) -> (d0" + " floordiv 2" * 60000 + ")>} {}",
    "affine_mul_add_chain": "module attributes {t.x = affine_map<(d0, d1) -> (d0" + " * 3 + d1" * 60000 + ")>} {}",
    "affine_negations": "module attributes {t.x = affine_map<(d0) -> (" + "-" * 60000 + "d0)>} {}",
    "affine_set_chain": "module attributes {t.x = affine_set<(d0) : (d0" + " + 1" * 60000 + " >= 0)>} {}",
    # ... aliases: each definition is shallow, the attribute or type they build is not.
    "attribute_alias_chain": _alias_chain("#", 20000, "[0]", "[{}]", '"test.op"() {{t.x = {}}} : () -> ()'),
    "type_alias_chain": _alias_chain("!", 20000, "i32", "tuple<{}>", '%0 = "test.op"() : () -> {}'),
    "location_alias_chain": _loc_chain(20000, forward=False),
    "location_alias_chain_forward": _loc_chain(20000, forward=True),
    # ... brackets the parser sees but a comment-aware count would skip: `//` inside a dialect
    # attribute's body is not a comment for MLIR's body scanner.
    "dialect_body_slashes": '"test.op"() {t.x = [#ttg.foo<//>, ' + "[" * 20000 + "]" * 20000 + "]} : () -> ()",
    # Upstream ops that their own verifiers reject (tle-opt used to accept them).
    "arith_constant_type": '%0 = "arith.constant"() <{value = 1.5 : f64}> : () -> i32',
    "arith_dense_shape": '%0 = "arith.constant"() <{value = dense<1> : tensor<4xi32>}> : () -> tensor<8xi32>',
    "arith_addi_types": ('%0 = "test.a"() : () -> i32\n%1 = "test.b"() : () -> tensor<64xi8>\n'
                         '%2 = "arith.addi"(%0, %1) : (i32, tensor<64xi8>) -> !tt.ptr<f16>'),
    "arith_addi_one_operand": '%0 = "test.a"() : () -> i32\n%1 = "arith.addi"(%0) : (i32) -> i32',
    "scf_for_no_yield": ('%c = "arith.constant"() <{value = 0 : i32}> : () -> i32\n'
                         '"scf.for"(%c, %c, %c) ({\n^bb0(%i: i32):\n  "test.x"() : () -> ()\n}) : (i32, i32, i32) -> ()'),
    "scf_for_iter_arg_type": ('%c = "arith.constant"() <{value = 0 : i32}> : () -> i32\n'
                              '%0 = "scf.for"(%c, %c, %c, %c) ({\n^bb0(%i: i32, %a: i64):\n  "scf.yield"(%a) : (i64) -> ()\n'
                              '}) : (i32, i32, i32, i32) -> i32'),
    "scf_for_body_without_induction_variable": (
        '%c = "arith.constant"() <{value = 0 : i32}> : () -> i32\n'
        '"scf.for"(%c, %c, %c) ({\n  "scf.yield"() : () -> ()\n}) : (i32, i32, i32) -> ()'),
    "scf_while_block_arguments": (
        '%c = "arith.constant"() <{value = 0 : i32}> : () -> i32\n'
        '%t = "arith.constant"() <{value = true}> : () -> i1\n'
        '%0 = "scf.while"(%c) ({\n  "scf.condition"(%t, %c) : (i1, i32) -> ()\n}, {\n'
        '  "scf.yield"(%c) : (i32) -> ()\n}) : (i32) -> i32'),
    "scf_forall": '"scf.forall"() ({\n  "scf.forall.in_parallel"() ({}) : () -> ()\n}) : () -> ()',
    # MLIR's parser asserts on a dense array of index.
    "dense_array_of_index": '"test.op"() {t.x = array<index: 1, 0>} : () -> ()',
    "unknown_arith_op": '%0 = "test.a"() : () -> i32\n%1 = "arith.no_such_op"(%0) : (i32) -> i32',
}

# Valid input that a cruder guard refused or mangled: it must run like any other.
GOOD_INPUTS = {
    "brackets_in_comments": "// " + "(" * 5000 + "\n// " + "[{<" * 5000 + "\n" + VALID,
    "brackets_in_strings": '"test.op"() {t.x = "' + "([{<" * 5000 + '"} : () -> ()\n',
    "arrows_and_geq": ('"test.op"() {t.x = [' + ", ".join(["affine_set<(d0) : (d0 >= 0)>"] * 400) + "], "
                       't.y = [' + ", ".join(["affine_map<(d0) -> (d0 + 1)>"] * 400) + "]} : () -> ()\n"),
    "nesting_near_the_limit": "\"a.b\"() {x = " + "[" * 200 + "]" * 200 + "} : () -> ()",
    "long_flat_alias_list": "\n".join(f"#a{i} = [{i}]" for i in range(3000)) + "\n"
                            + '"test.op"() {t.x = [' + ", ".join(f"#a{i}" for i in range(3000)) + "]} : () -> ()\n",
    "location_aliases": _loc_chain(50, forward=True),
    # Upstream ops on Triton's types: opaque to their verifiers, which must accept them.
    "upstream_ops_on_triton_types": '''#blocked = #ttg.blocked<{sizePerThread = [1], threadsPerWarp = [32], warpsPerCTA = [4], order = [0]}>
module attributes {"ttg.num-warps" = 4 : i32} {
  "tt.func"() <{function_type = (!tt.ptr<f16>, i32) -> (), sym_name = "k"}> ({
  ^bb0(%p: !tt.ptr<f16>, %n: i32):
    %c0 = "arith.constant"() <{value = 0 : i32}> : () -> i32
    %c1 = "arith.constant"() <{value = 1 : i32}> : () -> i32
    %zero = "arith.constant"() <{value = dense<0.000000e+00> : tensor<128xf16, #blocked>}> : () -> tensor<128xf16, #blocked>
    %r = "tt.make_range"() <{end = 128 : i32, start = 0 : i32}> : () -> tensor<128xi32, #blocked>
    %s = "tt.splat"(%n) : (i32) -> tensor<128xi32, #blocked>
    %m = "arith.cmpi"(%r, %s) <{predicate = 2 : i64}> : (tensor<128xi32, #blocked>, tensor<128xi32, #blocked>) -> tensor<128xi1, #blocked>
    %o = "arith.addi"(%r, %s) <{overflowFlags = #arith.overflow<none>}> : (tensor<128xi32, #blocked>, tensor<128xi32, #blocked>) -> tensor<128xi32, #blocked>
    %ps = "tt.splat"(%p) : (!tt.ptr<f16>) -> tensor<128x!tt.ptr<f16>, #blocked>
    %p0 = "tt.addptr"(%ps, %o) : (tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xi32, #blocked>) -> tensor<128x!tt.ptr<f16>, #blocked>
    %sel = "arith.select"(%m, %p0, %ps) : (tensor<128xi1, #blocked>, tensor<128x!tt.ptr<f16>, #blocked>, tensor<128x!tt.ptr<f16>, #blocked>) -> tensor<128x!tt.ptr<f16>, #blocked>
    %res:2 = "scf.for"(%c0, %n, %c1, %sel, %zero) ({
    ^bb0(%i: i32, %ptrs: tensor<128x!tt.ptr<f16>, #blocked>, %acc: tensor<128xf16, #blocked>):
      %x = "tt.load"(%ptrs, %m) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32, isVolatile = false, operandSegmentSizes = array<i32: 1, 1, 0>}> : (tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xi1, #blocked>) -> tensor<128xf16, #blocked>
      %e = "math.exp2"(%x) <{fastmath = #arith.fastmath<none>}> : (tensor<128xf16, #blocked>) -> tensor<128xf16, #blocked>
      %a = "arith.addf"(%acc, %e) <{fastmath = #arith.fastmath<none>}> : (tensor<128xf16, #blocked>, tensor<128xf16, #blocked>) -> tensor<128xf16, #blocked>
      %next = "tt.addptr"(%ptrs, %s) : (tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xi32, #blocked>) -> tensor<128x!tt.ptr<f16>, #blocked>
      "scf.yield"(%next, %a) : (tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xf16, #blocked>) -> ()
    }) : (i32, i32, i32, tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xf16, #blocked>) -> (tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xf16, #blocked>)
    %cond = "arith.cmpi"(%n, %c0) <{predicate = 4 : i64}> : (i32, i32) -> i1
    %q = "scf.if"(%cond) ({
      "scf.yield"(%res#0) : (tensor<128x!tt.ptr<f16>, #blocked>) -> ()
    }, {
      %u = "ub.poison"() <{value = #ub.poison}> : () -> tensor<128x!tt.ptr<f16>, #blocked>
      "scf.yield"(%u) : (tensor<128x!tt.ptr<f16>, #blocked>) -> ()
    }) : (i1) -> tensor<128x!tt.ptr<f16>, #blocked>
    "tt.store"(%q, %res#1, %m) <{boundaryCheck = array<i32>, cache = 1 : i32, evict = 1 : i32}> : (tensor<128x!tt.ptr<f16>, #blocked>, tensor<128xf16, #blocked>, tensor<128xi1, #blocked>) -> ()
    "tt.return"() : () -> ()
  }) : () -> ()
}
''',
}


def _mutations(seed_text: str, count: int, seed: int):
    rng = random.Random(seed)
    out = []
    for i in range(count):
        chars = list(seed_text)
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(["delete", "duplicate", "flip", "insert"])
            a = rng.randrange(len(chars))
            b = min(len(chars), a + rng.randint(1, 40))
            if kind == "delete":
                del chars[a:b]
            elif kind == "duplicate":
                chars[a:a] = chars[a:b]
            elif kind == "flip":
                chars[a] = rng.choice("{}()<>[]%\"#!:=,x0123456789 \n")
            else:
                chars[a:a] = list(rng.choice(["}", "{", ")", "<", "%0", "!ttg.memdesc<", "#ttg.", "\""]))
        out.append("".join(chars))
    return out


def _cases(captured):
    cases = dict(BAD_INPUTS)
    for i, text in enumerate(_mutations(VALID, 25, seed=1)):
        cases[f"mutated_view_{i}"] = text
    for i, text in enumerate(_mutations(captured["sparse_mla_plain"], 15, seed=2)):
        cases[f"mutated_sparse_mla_{i}"] = text
    return cases


@pytest.fixture(scope="module")
def cases(captured_ttgir):
    return _cases(captured_ttgir)


def _tle_opt(tle_opt, path, *args):
    return subprocess.run([tle_opt, *args, str(path)], capture_output=True, timeout=60)


def test_tle_opt_exits_1_with_a_diagnostic(cases, tle_opt, tmp_path):
    failures = []
    for name, text in cases.items():
        path = tmp_path / f"{name}.mlir"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        proc = _tle_opt(tle_opt, path, "--tle-pipeline")
        if name in BAD_INPUTS:
            ok = proc.returncode == 1 and b"error" in proc.stderr
        else:  # a mutation may still be valid IR
            ok = proc.returncode in (0, 1) and (proc.returncode == 0 or b"error" in proc.stderr)
        if not ok:
            failures.append((name, proc.returncode, proc.stderr[-300:]))
    assert not failures, failures


def test_tle_opt_runs_valid_input_a_crude_guard_would_refuse(tle_opt, tmp_path):
    for name, text in GOOD_INPUTS.items():
        path = tmp_path / f"{name}.mlir"
        path.write_text(text)
        proc = _tle_opt(tle_opt, path, "--tle-lower-to-triton")
        assert proc.returncode == 0, (name, proc.stderr[-1000:])


@pytest.mark.parametrize("name", ["affine_floordiv_chain", "attribute_alias_chain", "location_alias_chain_forward",
                                  "dialect_body_slashes", "deep_types"])
def test_nesting_diagnostics_say_what_and_where(name, tle_opt, tmp_path):
    path = tmp_path / f"{name}.mlir"
    path.write_text(BAD_INPUTS[name])
    stderr = _tle_opt(tle_opt, path).stderr.decode()
    assert "256" in stderr and "line" in stderr, stderr
    assert ("affine" in stderr) == name.startswith("affine"), stderr
    assert ("alias" in stderr) == ("alias" in name), stderr


def test_tle_opt_reports_invalid_upstream_ops_at_their_line(tle_opt, tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text(BAD_INPUTS["arith_addi_types"])
    stderr = _tle_opt(tle_opt, path).stderr.decode()
    assert "bad.mlir:3:6: error: 'arith.addi' op result #0 must be signless-integer-like" in stderr, stderr
    # For tests of the passes' own guards: the check can be skipped.
    assert _tle_opt(tle_opt, path, "--tle-verify-upstream-ops=false").returncode == 0


def test_tle_opt_refuses_a_deep_pipeline_argument(tle_opt, tmp_path):
    path = tmp_path / "m.mlir"
    path.write_text("module {}")
    deep = "--pass-pipeline=" + "builtin.module(" * 3000 + ")" * 3000
    proc = subprocess.run([tle_opt, deep, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "pass pipeline nests deeper than 32 levels" in proc.stderr, proc.stderr[-500:]


CHILD = r"""
import json, sys, tle
cases = json.load(open(sys.argv[1]))
result = {}
for name, (text, pipeline) in cases.items():
    try:
        tle.run_pipeline(text, pipeline)
        result[name] = ["ok", ""]
    except tle.TLEError as e:
        result[name] = ["error" if e.diagnostics else "empty-diagnostics", e.diagnostics[:2000]]
    except Exception as e:
        result[name] = [type(e).__name__, str(e)[:2000]]
print(json.dumps(result))
"""


def _run_in_child(cases: dict, tmp_path, pipeline="tle-pipeline", timeout=300):
    """Runs every (text, pipeline) case through tle.run_pipeline in one child process. Returns
    (results, child's stderr); the child must survive all of them."""
    payload = tmp_path / "cases.json"
    payload.write_text(json.dumps({k: v if isinstance(v, list) else [v, pipeline] for k, v in cases.items()}))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(payload)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TLE_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_python_binding_raises_and_survives(cases, tmp_path):
    """All cases in one child process: it must finish, raising TLEError for each bad input and
    writing nothing to its stderr."""
    result, stderr = _run_in_child({**cases, **{f"good_{k}": v for k, v in GOOD_INPUTS.items()}}, tmp_path)
    for name in BAD_INPUTS:
        assert result[name][0] == "error", (name, result[name])
    for name in GOOD_INPUTS:
        assert result[f"good_{name}"][0] == "ok", (name, result[f"good_{name}"])
    assert all(v[0] in ("ok", "error") for v in result.values()), result
    assert stderr == "", stderr[-2000:]


def test_pipelines_get_limits_and_clear_errors(tmp_path):
    m = "module {}"
    cases = {
        "deep_30000": [m, "builtin.module(" * 30000 + ")" * 30000],
        "deep_40": [m, "builtin.module(" * 40 + ")" * 40],
        "long": [m, ",".join(["tle-lower-to-triton"] * 5000)],
        "nul": [m, "tle-pipeline\0,tle-lower-to-triton"],
        "bad_uint": [m, "tle-materialize-pipeline{stages=abc}"],
        "negative_uint": [m, "builtin.module(tle-materialize-pipeline{stages=-1})"],
        "bad_bool": [m, "tle-materialize-pipeline{gather-only=maybe}"],
        "no_such_option": [m, "tle-materialize-pipeline{nosuch=1}"],
        "no_such_pass": [m, "tle-no-such-pass"],
        "unbalanced": [m, "builtin.module(tle-pipeline"],
        "fine": [m, "builtin.module(builtin.module(tle-lower-to-triton))"],
    }
    result, stderr = _run_in_child(cases, tmp_path)
    assert stderr == "", stderr[-2000:]  # LLVM's option parser used to print its reason there
    assert result["fine"][0] == "ok", result["fine"]
    expected = {
        "deep_30000": "pass pipeline is 480000 bytes; TLE accepts at most 65536",
        "deep_40": "pass pipeline nests deeper than 32 levels",
        "long": "TLE accepts at most 65536",
        "nul": "pass pipeline contains a NUL byte (offset 12)",
        "bad_uint": "'abc' value invalid for uint argument",
        "negative_uint": "'-1' value invalid for uint argument",
        "bad_bool": "'maybe' is invalid value for boolean argument",
        "no_such_option": "no such option nosuch",
        "no_such_pass": "'tle-no-such-pass' does not refer to a registered pass",
        "unbalanced": "cannot use pass pipeline",
    }
    for name, text in expected.items():
        kind, diagnostics = result[name]
        assert kind == "error" and text in diagnostics, (name, result[name])
    assert "failed to add `tle-materialize-pipeline` with options `stages=abc`" in result["bad_uint"][1]


def test_arguments_that_are_not_text():
    import tle

    for args in [(b"module {}",), (None,), (42,), ("module {}", b"tle-pipeline"), ("module {}", None)]:
        with pytest.raises(TypeError, match="must be str"):
            tle.run_pipeline(*args)
    with pytest.raises(tle.TLEError, match="not valid Unicode"):
        tle.run_pipeline("module {\ud800}")
    with pytest.raises(tle.TLEError, match="NUL byte"):
        tle.run_pipeline("module {}\0")


def test_input_size_limit():
    import tle

    text = "module {}\n" + "// padding\n" * (64 * 1024 * 1024 // 11 + 1)
    with pytest.raises(tle.TLEError) as err:
        tle.run_pipeline(text, "builtin.module()")
    assert "TLE accepts at most 67108864" in err.value.diagnostics


def test_option_errors_stay_per_thread():
    """Each call's captured reason belongs to that call, also with calls on several threads."""
    import threading

    import tle

    errors = {}

    def run(i):
        try:
            tle.run_pipeline("module {}", f"tle-materialize-pipeline{{stages=bad{i}}}")
        except tle.TLEError as e:
            errors[i] = e.diagnostics

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert f"'bad{i}' value invalid for uint argument" in errors[i], errors[i]
        assert all(f"'bad{j}'" not in errors[i] for j in range(8) if j != i)


def test_small_caller_stacks_are_fine(tmp_path):
    """MLIR runs on a thread of its own with a large stack: a caller on a small stack can hand
    it input nested up to the limit (parsing and printing 250 nested regions needs far more than
    this thread's 256 KiB)."""
    text = "module {" * 250 + "}" * 250
    script = (
        "import sys, threading, tle\n"
        "threading.stack_size(256 * 1024)\n"
        "out = []\n"
        "t = threading.Thread(target=lambda: out.append(tle.run_pipeline(open(sys.argv[1]).read(), 'builtin.module()')))\n"
        "t.start(); t.join()\n"
        "print(out[0].count('builtin.module'))\n"
    )
    path = tmp_path / "deep.mlir"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TLE_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "250"
