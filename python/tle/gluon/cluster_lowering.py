"""Lowering of :mod:`tle.gluon.cluster`'s placeholders in a kernel's PTX (run by ``import tle``).

Input, per cluster operation (what the helpers emit, in this order, in one basic block):
``mbarrier.arrive.shared::cta.b64 _, [ADDR], ADDRESS_TAG + 4 * site + role;`` (predicated off)
for each buffer the operation names, then ``<PLACEHOLDER>.<op>.<site>.<arg> %rP;``. Output: the
tagged arrives are gone and each placeholder is the operation's PTX, on the addresses of the
tags of its site that precede it in its block (a site's tags can repeat when LLVM duplicates
code; the nearest ones are the ones that reach it). The peer is ``%cluster_ctarank ^ 1``.

Anything unexpected (an unknown operation, a missing or foreign tag, a leftover placeholder)
raises :class:`ClusterLoweringError`: the kernel cannot run without its cluster operations, and
stock Triton could not compile it either (ptxas rejects the placeholder).
"""
from __future__ import annotations

import re
from typing import Dict, List, Tuple

from ..errors import TLEError

# The protocol with tle.gluon.cluster (which emits it). Tag counts: ADDRESS_TAG + 4 * site + role;
# PTX allows arrive counts below 2**20 and kernels arrive with small ones, so tags cannot collide.
ADDRESS_TAG = 0xBE000
MAX_SITES = 64
ROLES = {"src": 0, "dst": 1, "bar": 2}
# the placeholders' prefix: also what ptxas reports if TLE did not lower them
PLACEHOLDER = "tle_cluster_op_needs_import_tle"
_TAG_SPAN = 4 * MAX_SITES

_TAG = re.compile(r"^\s*(?:@!?%p\d+\s+)?mbarrier\.arrive\.shared::cta\.b64\s+_,\s*\[([^\]]+)\],\s*(\d+);\s*$")
_OP = re.compile(r"^(\s*)" + re.escape(PLACEHOLDER) + r"\.(\w+)\.(\d+)\.(\d+)\s+(%r\d+);\s*$")
_BLOCK_LABEL = re.compile(r"^\$L__BB\d+_\d+:")
_ADDRESS = re.compile(r"^\s*([%A-Za-z_$][\w$]*)\s*(?:\+\s*(\d+))?\s*$")

# operation -> the roles whose addresses it needs
_OPERATIONS = {"copy_to_peer": ("src", "dst", "bar"), "peer_arrive": ("bar",)}


class ClusterLoweringError(TLEError):
    """The PTX of a kernel using tle.gluon.cluster does not have the shape the lowering expects."""


def has_placeholders(ptx: str) -> bool:
    return PLACEHOLDER in ptx


def _load_address(reg: str, address: str) -> List[str]:
    m = _ADDRESS.match(address)
    if not m:
        raise ClusterLoweringError(f"tle.gluon.cluster: cannot read the shared address {address!r}")
    base, offset = m.group(1), int(m.group(2) or 0)
    if base.startswith("%"):
        return [f"add.u32 {reg}, {base}, {offset};"]
    return [f"mov.u32 {reg}, {base};", f"add.u32 {reg}, {reg}, {offset};"]


def _lower_op(indent: str, op: str, site: int, arg: int, pred: str, addresses: Dict[str, str]) -> List[str]:
    body = [f"// tle.gluon.cluster.{op} (site {site})", ".reg .pred %tle_on;",
            ".reg .b32 %tle_peer, %tle_src, %tle_dst, %tle_bar;",
            f"setp.ne.b32 %tle_on, {pred}, 0;",
            "mov.u32 %tle_peer, %cluster_ctarank;", "xor.b32 %tle_peer, %tle_peer, 1;"]
    body += _load_address("%tle_bar", addresses["bar"])
    body.append("mapa.shared::cluster.u32 %tle_bar, %tle_bar, %tle_peer;")
    if op == "copy_to_peer":
        if arg <= 0 or arg % 16:
            raise ClusterLoweringError(f"tle.gluon.cluster.copy_to_peer (site {site}): {arg} bytes is not a "
                                       "positive multiple of 16")
        body += _load_address("%tle_src", addresses["src"])
        body += _load_address("%tle_dst", addresses["dst"])
        body.append("mapa.shared::cluster.u32 %tle_dst, %tle_dst, %tle_peer;")
        body.append("@%tle_on cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::bytes "
                    f"[%tle_dst], [%tle_src], {arg}, [%tle_bar];")
    else:  # peer_arrive
        body.append("@%tle_on mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%tle_bar];")
    return [f"{indent}{{"] + [f"{indent}{line}" for line in body] + [f"{indent}}}"]


def lower(ptx: str) -> str:
    """The PTX with every cluster placeholder lowered (see the module docstring)."""
    out: List[str] = []
    seen: Dict[Tuple[int, int], str] = {}  # (site, role) -> address, in the current basic block
    for line in ptx.split("\n"):
        if _BLOCK_LABEL.match(line):
            seen.clear()
            out.append(line)
            continue
        tag = _TAG.match(line)
        if tag and ADDRESS_TAG <= int(tag.group(2)) < ADDRESS_TAG + _TAG_SPAN:
            site, role = divmod(int(tag.group(2)) - ADDRESS_TAG, 4)
            seen[(site, role)] = tag.group(1)
            continue
        op = _OP.match(line)
        if op is None:
            if PLACEHOLDER in line:
                raise ClusterLoweringError(f"tle.gluon.cluster: unexpected placeholder line {line.strip()!r}")
            out.append(line)
            continue
        indent, name, site, arg, pred = op.group(1), op.group(2), int(op.group(3)), int(op.group(4)), op.group(5)
        if name not in _OPERATIONS:
            raise ClusterLoweringError(f"tle.gluon.cluster: unknown operation {name!r} (site {site})")
        addresses = {}
        for role in _OPERATIONS[name]:
            address = seen.get((site, ROLES[role]))
            if address is None:
                raise ClusterLoweringError(
                    f"tle.gluon.cluster.{name} (site {site}): the {role} buffer's address tag is not in the "
                    "operation's basic block (two call sites with one site number, or LLVM moved the tag)")
            addresses[role] = address
        out += _lower_op(indent, name, site, arg, pred, addresses)
    return "\n".join(out)
