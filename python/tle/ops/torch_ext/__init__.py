"""TLE's C++ torch extension: the op's per-call host work (sparse_mla_entry.cpp).

The wheel is pure Python plus a C-ABI library, so it cannot carry code compiled against one torch
and one Python. This module builds the extension on first use against the torch and Python that
import it, with the system C++ compiler (as Triton builds its launcher stubs on first use), and
caches it under ``TLE_CACHE_DIR`` (default ``~/.cache/tle``) by a key of the source, torch's build
and the Python ABI. A build takes ~5-15 s once per machine and torch; afterwards loading is
instant; ``python -m tle.ops.torch_ext`` builds it ahead of time (e.g. in a container image).
Without a compiler or Python's headers the op keeps its Python path, slower by a few
microseconds a call, after one short warning (``TLE_STRICT=1`` raises instead).
"""
from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Optional

from ... import config as _config
from ...errors import TLEWarning

SOURCE = Path(__file__).with_name("sparse_mla_entry.cpp")
MODULE = "_sparse_mla_entry"
BUILD_TIMEOUT_S = 300

_lock = threading.Lock()
_loaded: dict = {}  # cache key -> module, or the reason it could not be built


class BuildError(RuntimeError):
    """The extension could not be built or loaded; the message names the log."""


def compiler() -> Optional[list]:
    """The compiler command: ``$CXX`` (a command line, e.g. ``ccache g++``), else the first of
    c++ / g++ / clang++ on PATH."""
    env = os.environ.get("CXX")
    if env:
        words = shlex.split(env)
        return [shutil.which(words[0]) or words[0], *words[1:]] if words else None
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


STANDARDS = ("-std=c++20", "-std=c++17")  # the newest the compiler and torch's headers accept


def _flags(facts: dict, py_include: str) -> list:
    return ["-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-w", f"-D_GLIBCXX_USE_CXX11_ABI={facts['cxx11_abi']}",
            *(f"-I{p}" for p in facts["includes"]), f"-I{py_include}"]


def _libs(facts: dict) -> list:
    return [f"-L{facts['libdir']}", "-lc10", "-ltorch_cpu", "-ltorch_python", f"-Wl,-rpath,{facts['libdir']}"]


def _torch_facts() -> dict:
    import torch
    from torch.utils import cpp_extension

    return {
        "version": torch.__version__,
        "git": getattr(torch.version, "git_version", ""),
        "cxx11_abi": int(bool(torch._C._GLIBCXX_USE_CXX11_ABI)),
        "includes": cpp_extension.include_paths(),
        "libdir": os.path.join(os.path.dirname(torch.__file__), "lib"),
    }


def build_key(cxx: list, torch_facts: dict) -> str:
    """Names the build: the source, the compiler command, every flag, torch's build, the Python ABI."""
    h = hashlib.sha256(SOURCE.read_bytes())
    py_include = sysconfig.get_paths()["include"]
    for part in (*cxx, *STANDARDS, *_flags(torch_facts, py_include), *_libs(torch_facts), sys.version,
                 sysconfig.get_config_var("EXT_SUFFIX") or "", torch_facts["version"], torch_facts["git"]):
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:24]


def _compile(cxx: list, facts: dict, target: Path, log: Path) -> None:
    py_include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(py_include, "Python.h")):
        raise BuildError(f"Python's headers are not installed (no Python.h in {py_include})")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=MODULE, suffix=".so.tmp", dir=target.parent)
    os.close(fd)
    try:
        output = []
        for std in STANDARDS:
            cmd = [*cxx, std, *_flags(facts, py_include), str(SOURCE), "-o", tmp, *_libs(facts)]
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired) as e:
                output.append(f"$ {shlex.join(cmd)}\n{e}\n")
                break
            output.append(f"$ {shlex.join(cmd)}\n{r.stdout}{r.stderr}\n")
            if r.returncode == 0:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o755 & ~umask)  # mkstemp made it 0600: other users of a shared cache load it too
                os.replace(tmp, target)  # atomic: concurrent builders each publish a whole file
                log.write_text("".join(output))
                return
        log.write_text("".join(output))
        raise BuildError(f"{shlex.join(cxx)} failed; the commands and their output are in {log}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _remove_stale_partials(directory: Path, older_than_s: float = 3600.0) -> None:
    """Partial outputs of builds that were killed (a live build is younger than its timeout)."""
    import time

    for partial in directory.glob(f"{MODULE}*.so.tmp"):
        try:
            if time.time() - partial.stat().st_mtime > older_than_s:
                partial.unlink()
        except OSError:
            pass


def _import(path: Path):
    loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
    spec = importlib.util.spec_from_file_location(MODULE, str(path), loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def load():
    """The built extension module (building it if needed); raises :class:`BuildError`."""
    cxx = compiler()
    if not cxx:
        raise BuildError("no C++ compiler (set CXX, or install g++ or clang++)")
    try:
        facts = _torch_facts()
        key = build_key(cxx, facts)
    except (OSError, ImportError, AttributeError) as e:  # a broken install: no source, an odd torch
        raise BuildError(f"{type(e).__name__}: {e}") from None
    with _lock:
        got = _loaded.get(key)
        if got is None:
            directory = Path(_config.cache_dir()) / "torch_ext" / key
            target = directory / (MODULE + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
            try:
                if not target.exists():
                    _compile(cxx, facts, target, directory / "build.log")
                try:
                    got = _import(target)
                except ImportError:  # a cached file that does not load (truncated, another host's): once more
                    _compile(cxx, facts, target, directory / "build.log")
                    got = _import(target)
            except BuildError as e:
                got = e
            except (OSError, ImportError) as e:
                got = BuildError(f"{type(e).__name__}: {e}")
            _loaded[key] = got
    if isinstance(got, BuildError):
        raise got
    return got


def sparse_mla_prepare():
    """The extension's ``prepare`` (see sparse_mla_entry.cpp), or None after one warning when it
    cannot be built (``TLE_STRICT=1``: raises)."""
    try:
        return load().prepare
    except BuildError as e:
        if _config.current().strict:
            raise
        warnings.warn(f"TLE: the sparse MLA op's C++ entry point is not available ({e}); its calls "
                      "take the Python path, a few microseconds slower (TLE_STRICT=1 raises)", TLEWarning,
                      stacklevel=4)
        return None
