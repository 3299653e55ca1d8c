"""Bad input never crashes, hangs or overflows the stack: tle-opt exits 1 with a diagnostic and
the Python binding raises TLEError. Crashes are caught by running each case in a subprocess."""
import json
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


def test_tle_opt_exits_1_with_a_diagnostic(cases, tle_opt, tmp_path):
    failures = []
    for name, text in cases.items():
        path = tmp_path / f"{name}.mlir"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        proc = subprocess.run([tle_opt, "--tle-pipeline", str(path)], capture_output=True, timeout=60)
        if name in BAD_INPUTS:
            ok = proc.returncode == 1 and b"error" in proc.stderr
        else:  # a mutation may still be valid IR
            ok = proc.returncode in (0, 1) and (proc.returncode == 0 or b"error" in proc.stderr)
        if not ok:
            failures.append((name, proc.returncode, proc.stderr[-300:]))
    assert not failures, failures


def test_python_binding_raises_and_survives(cases, tmp_path):
    """All cases in one child process: it must finish, raising TLEError for each bad input."""
    payload = tmp_path / "cases.json"
    payload.write_text(json.dumps(cases))
    script = (
        "import json, sys, tle\n"
        "cases = json.load(open(sys.argv[1]))\n"
        "result = {}\n"
        "for name, text in cases.items():\n"
        "    try:\n"
        "        tle.run_pipeline(text)\n"
        "        result[name] = 'ok'\n"
        "    except tle.TLEError as e:\n"
        "        result[name] = 'error' if e.diagnostics else 'empty-diagnostics'\n"
        "print(json.dumps(result))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(payload)], capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "TLE_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in BAD_INPUTS:
        assert result[name] == "error", (name, result[name])
    assert all(v in ("ok", "error") for v in result.values()), result
