"""Triton `ir.module` <-> generic-form, alias-free MLIR text.

TLE's passes live in a separate MLIR (22.1.8) that has Triton's dialects *unregistered*; the only
sound bridge to Triton's in-process MLIR is text. That text must be

* in generic form: custom assembly of `tt.*` / `ttg.*` / `ttng.*` ops cannot be parsed without the
  dialects; the generic form can (with ``--allow-unregistered-dialect``);
* alias free: with the dialects unregistered, alias uses nested inside opaque attribute bodies
  (``parent = #blocked`` inside ``#ttg.slice<...>``) are not resolved and the definitions are
  dropped, so every non-``loc`` alias is expanded in place here.

Triton's printer has no "print generic" flag. It prints generic form when the module fails
verification, which we provoke with a module attribute that has no dialect prefix
(``FORCE_ATTR``). That leaves the module invalid, so this module never sets it on the caller's
module: it prints a *clone* (Triton's own custom-form print + parse) and strips the attribute from
the text.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import Optional

from triton._C.libtriton import ir

#: Non-dialect module attribute used to force generic printing (never survives into returned text).
FORCE_ATTR = "tle_force_generic_print"

#: Stable file name for locations the clone's parse synthesised (block arguments that the custom form
#: prints without a location) in the text, used only where they could not be copied from the original.
CLONE_LOC_NAME = "tle-clone"

_STRING = r'"(?:[^"\\]|\\.)*"'
# A string literal (kept verbatim) or an alias reference (#name / !name). bare-id per MLIR:
# (letter|_) (letter|digit|_|$|.)*
_TOKEN_RE = re.compile(r'(' + _STRING + r')|([#!])([A-Za-z_][A-Za-z0-9_$.]*)')
_ALIAS_DEF_RE = re.compile(r'^([#!])([A-Za-z_][A-Za-z0-9_$.]*) = (.*)$')


class TextConversionError(RuntimeError):
    pass


def _write_temp(text: str, suffix: str = ".mlir", directory: Optional[str] = None) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="tle-", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


#: Serializes fd-2 captures: each one swaps the process-wide fd 2 and restores it, and two that
#: interleave (A saves, B saves A's file, A restores, B restores A's file) would leave fd 2 pointing
#: at a deleted temporary file for the rest of the process. Re-entrant so that a nested capture in
#: the same thread cannot deadlock.
_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def _captured_stderr():
    """Collect what native code writes to file descriptor 2 (MLIR prints diagnostics there).

    Triton's Python API offers no other way to get its parser's and verifier's messages (the
    exception says only "Parse MLIR file failed."; ``verify()`` returns a bool), so this is used
    only on failure paths, to re-run the failing call once. While it runs, output other threads
    write to fd 2 lands in the capture too; the window is one parse or verify."""
    box: list = []
    with _STDERR_LOCK:
        sys.stderr.flush()
        with tempfile.TemporaryFile() as tmp:
            saved = os.dup(2)
            try:
                os.dup2(tmp.fileno(), 2)
                try:
                    yield box
                finally:
                    os.dup2(saved, 2)
            finally:
                os.close(saved)
            tmp.seek(0)
            box.append(tmp.read().decode("utf-8", errors="replace"))


def _parse_file(path: str, context, source_name: Optional[str] = None) -> "ir.module":
    try:
        mod = ir.parse_mlir_module(path, context)
    except RuntimeError as first:
        # Triton prints the parser's diagnostics to stderr; parse again to collect them (rare path).
        with _captured_stderr() as box:
            try:
                ir.parse_mlir_module(path, context)
            except RuntimeError:
                pass
        diag = box[0] if box else ""
        if source_name:
            diag = diag.replace(path, source_name)
        raise TextConversionError(f"{first}\n{diag}".strip()) from None
    mod.context = context
    return mod


def verify_module(mod) -> tuple:
    """``(ok, diagnostics)``: Triton's verifier on ``mod``, with its messages when it fails."""
    if mod.verify():
        return True, ""
    with _captured_stderr() as box:
        mod.verify()
    return False, (box[0] if box else "").strip()


def _blocks(mod) -> list:
    """Every block of ``mod`` that holds an op (every block of valid IR: it has a terminator), in
    walk order, which is a function of the structure only."""
    seen: set = set()
    blocks: list = []

    def visit(op):
        b = op.get_block()
        if b is not None and b.id() not in seen:
            seen.add(b.id())
            blocks.append(b)

    mod.walk(visit)
    return blocks


def _copy_block_arg_locs(src, dst) -> bool:
    """Give every block argument of ``dst`` (a clone of ``src``) the location of its counterpart
    in ``src``. False (nothing or only part changed) when the two do not have the same blocks."""
    try:
        a, b = _blocks(src), _blocks(dst)
        if len(a) != len(b) or any(x.get_num_arguments() != y.get_num_arguments() for x, y in zip(a, b)):
            return False
        for x, y in zip(a, b):
            for i in range(x.get_num_arguments()):
                y.get_argument(i).set_loc(x.get_argument(i).get_loc())
        return True
    except (AttributeError, TypeError, RuntimeError):  # a Triton without these bindings
        return False


def _clone(mod):
    path = _write_temp(mod.str())
    try:
        clone = _parse_file(path, mod.context)
    finally:
        os.unlink(path)
    # Block arguments the custom form prints without a location got one in the temporary file;
    # when the copy works no trace of that file is left (the path is returned for the fallback).
    return clone, (None if _copy_block_arg_locs(mod, clone) else path)


def clone_module(mod) -> "ir.module":
    """A deep copy of ``mod`` in the same context, locations included (custom-form print + parse,
    Triton's own path; the block-argument locations the custom form omits are copied over)."""
    return _clone(mod)[0]


def _strip_force_attr(text: str) -> str:
    """Remove ``FORCE_ATTR = 0 : i32`` from the module's attribute dictionary (printed after the
    module's region, i.e. near the end of the text)."""
    needle = FORCE_ATTR + " = 0 : i32"
    i = text.rfind(needle)
    if i < 0 or text.find(needle) != i:
        raise TextConversionError(f"forcing attribute {FORCE_ATTR} not found exactly once in printed module")
    j = i + len(needle)
    if text.startswith(", ", j):
        j += 2  # "{force, next" / "{prev, force, next" -> drop "force, "
    elif text.endswith(", ", 0, i):
        i -= 2  # "{prev, force}" -> drop ", force"
    return text[:i] + text[j:]  # "{force}" -> "{}": valid generic syntax


def _substitute(body: str, aliases: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        if m.group(1) is not None:  # string literal: verbatim
            return m.group(1)
        key = m.group(2) + m.group(3)
        return aliases.get(key, m.group(0))

    return _TOKEN_RE.sub(repl, body)


def expand_aliases(text: str, keep_loc_aliases: bool = True) -> str:
    """Expand every attribute/type alias of printed MLIR except ``loc`` aliases.

    Alias definitions are the top-level lines ``#name = <attr>`` / ``!name = <type>``; MLIR prints
    them before their uses (definitions may use earlier aliases). ``loc`` aliases (``#loc3 =
    loc(...)``, also printed after the module) are kept as they are unless ``keep_loc_aliases`` is
    False, in which case their definitions are dropped (only valid for text without loc uses).
    """
    aliases: dict[str, str] = {}
    kept: list[str] = []
    body: list[str] = []
    for line in text.splitlines():
        m = _ALIAS_DEF_RE.match(line)
        if m is None:
            body.append(line)
            continue
        key, value = m.group(1) + m.group(2), m.group(3)
        if value.startswith("loc("):
            if keep_loc_aliases:
                # Keep the definition where it was (top or trailing block).
                (kept if not body else body).append(line)
            continue
        # Resolve uses of earlier aliases inside this definition.
        aliases[key] = _substitute(value, aliases)
    out_body = _substitute("\n".join(body), aliases)
    parts = kept + [out_body]
    return "\n".join(p for p in parts if p) + ("\n" if text.endswith("\n") else "")


def module_to_generic_text(mod, *, debug_info: bool = True, clone: bool = True) -> str:
    """Generic-form, alias-free text of a Triton ``ir.module``.

    The caller's module is not modified: a clone is printed (``clone=False`` prints ``mod`` itself
    and leaves it invalid -- only for modules that are discarded afterwards). ``debug_info=False``
    prints without locations.
    """
    context = mod.context
    target, clone_path = _clone(mod) if clone else (mod, None)
    target.set_attr(FORCE_ATTR, ir.builder(context).get_int32_attr(0))
    raw = target.str() if debug_info else target.str_nodebug()
    if not raw.lstrip().startswith(('"builtin.module"', "#", "!")) or '"builtin.module"()' not in raw:
        raise TextConversionError("Triton did not print the module in generic form")
    text = _strip_force_attr(raw)
    text = expand_aliases(text)
    if clone_path is not None:  # locations could not be copied: at least no temporary path
        text = text.replace(_mlir_string(clone_path), _mlir_string(CLONE_LOC_NAME))
    return text


def _mlir_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generic_text_to_module(text: str, context, source_name: Optional[str] = "tle-input.mlir") -> "ir.module":
    """Parse MLIR text (generic or custom form) into ``context``; the result carries ``.context``.

    The locations are the text's ``loc(...)``; an op or block argument printed without one gets a
    location in the (deleted) temporary file the text is parsed from, so text meant for
    compilation should carry them all (``module_to_generic_text`` and TLE's native printer do).
    Raises ``TextConversionError`` with the parser's diagnostics; locations in them name
    ``source_name`` instead of the temporary file."""
    path = _write_temp(text)
    try:
        return _parse_file(path, context, source_name)
    finally:
        os.unlink(path)
