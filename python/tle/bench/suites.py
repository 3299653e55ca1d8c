"""Benchmark points of ``tle-bench sparse-mla``: one :class:`Point` per problem, grouped in suites.

Pure Python (no torch): the suites can be listed, filtered and tested anywhere.

* ``sweep``   -- one shape (the command line's --s-q/--h-q/--topk/--d-qk) over a list of s_kv.
* ``serving`` -- what a DeepSeek-V3.2 server runs (see :func:`serving_suite`): indices in the order
  an indexer's top-k returns them, attn_sink on and off, tensor-parallel head shards (h_q 16 / 32 /
  64 / 128), d_qk 512 and 576, a 512-token prefill chunk, ragged topk_length, s_kv 8K..128K.
  The classes are a cross of a few axes around one base shape, not a full product, so the suite
  fits in a few minutes of one H200.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Iterable, Optional, Sequence

D_V = 512
INDEX_ORDERS = ("topk", "sorted")
#: FlashMLA's sparse prefill shapes (its benchmark and the README's results table).
BASE = dict(s_q=4096, h_q=128, topk=2048, d_qk=576)
DEFAULT_S_KV = (8192, 32768, 65536, 98304, 131072)
QUICK_S_KV = (8192, 65536)
SUITES = ("sweep", "serving")


def kv_label(s_kv: int) -> str:
    return f"{s_kv // 1024}K" if s_kv % 1024 == 0 else str(s_kv)


@dataclass(frozen=True)
class Point:
    """One problem: unbatched q [s_q, h_q, d_qk], kv [s_kv, 1, d_qk], indices [s_q, 1, topk].

    ``ragged = (lo, hi)``: a topk_length per query token drawn uniformly from [lo, hi] (None: no
    topk_length). ``order``: "topk" = indices in the order ``torch.topk`` of random scores returns
    them (by score, as an indexer produces them), "sorted" = the same rows sorted ascending.
    """

    group: str
    s_kv: int
    s_q: int = BASE["s_q"]
    h_q: int = BASE["h_q"]
    topk: int = BASE["topk"]
    d_qk: int = BASE["d_qk"]
    attn_sink: bool = False
    ragged: Optional[tuple] = None
    order: str = "topk"
    d_v: int = D_V

    def __post_init__(self):
        if self.order not in INDEX_ORDERS:
            raise ValueError(f"order must be one of {INDEX_ORDERS}, got {self.order!r}")
        if self.topk > self.s_kv:
            raise ValueError(f"{self.label}: topk {self.topk} > s_kv {self.s_kv} (indices are distinct rows)")
        if self.ragged is not None:
            lo, hi = self.ragged
            if not 0 <= lo <= hi <= self.topk:
                raise ValueError(f"{self.label}: ragged topk_length range {self.ragged} not inside [0, topk]")
            object.__setattr__(self, "ragged", (int(lo), int(hi)))

    @property
    def label(self) -> str:
        """Short, unique within a suite: the group and what differs from the base shape."""
        parts = [self.group, f"s_kv={kv_label(self.s_kv)}"]
        for key in ("s_q", "h_q", "topk", "d_qk"):
            if getattr(self, key) != BASE[key] and f"{key}=" not in self.group:
                parts.append(f"{key}={getattr(self, key)}")
        if self.attn_sink and "sink" not in self.group:
            parts.append("sink")
        if self.ragged and "ragged" not in self.group:
            parts.append("ragged")
        if self.order != "topk":
            parts.append(self.order)
        return " ".join(parts)

    @property
    def key(self) -> str:
        """Every field, for file names and seeds."""
        rag = f"r{self.ragged[0]}-{self.ragged[1]}" if self.ragged else "rN"
        return (f"sq{self.s_q}-h{self.h_q}-k{self.topk}-d{self.d_qk}-kv{self.s_kv}-"
                f"{'sink' if self.attn_sink else 'nosink'}-{rag}-{self.order}")

    def flops(self, valid_entries: Optional[int] = None) -> int:
        """FlashMLA's count, 2 * h_q * (d_qk + d_v) per (query token, counted index entry); the
        entries are s_q * topk, or the sum of topk_length when it is given."""
        entries = self.s_q * self.topk if valid_entries is None else int(valid_entries)
        return 2 * entries * self.h_q * (self.d_qk + self.d_v)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ragged"] = list(self.ragged) if self.ragged else None
        d["label"] = self.label
        return d


def sweep_suite(s_kvs: Sequence[int], *, s_q=BASE["s_q"], h_q=BASE["h_q"], topk=BASE["topk"],
                d_qk=BASE["d_qk"], attn_sink=False, ragged=None, order="topk") -> list:
    return [Point("sweep", s_kv, s_q=s_q, h_q=h_q, topk=topk, d_qk=d_qk, attn_sink=attn_sink, ragged=ragged,
                  order=order) for s_kv in s_kvs]


K = 1024
RAGGED = (512, 2048)  # the serving mix: topk_length uniform in [512, 2048]


def serving_suite() -> list:
    """20 points around the base shape (s_q 4096, h_q 128, topk 2048, d_qk 576, topk order).

    The s_kv axis is covered in full once (8K-128K); every other class is measured at an
    L2-resident s_kv (8K: kv is 9 MB) and an HBM-bound one (64K or 128K), which is where the
    kernels' behaviour differs. Two combined points check that the extra paths compose.
    """
    pts = [Point("base", s) for s in (8 * K, 32 * K, 64 * K, 128 * K)]
    pts += [Point("sink", s, attn_sink=True) for s in (8 * K, 128 * K)]
    pts += [Point(f"h_q={h}", s, h_q=h) for h in (64, 32, 16) for s in (8 * K, 64 * K)]
    pts += [Point("d_qk=512", s, d_qk=512) for s in (8 * K, 64 * K)]
    pts += [Point("s_q=512", s, s_q=512) for s in (8 * K, 64 * K)]
    pts += [Point("ragged", s, ragged=RAGGED) for s in (8 * K, 64 * K)]
    pts.append(Point("sink+ragged", 32 * K, attn_sink=True, ragged=RAGGED))
    pts.append(Point("h_q=32+sink", 128 * K, h_q=32, attn_sink=True))
    return pts


def select(points: Iterable[Point], pattern: Optional[str]) -> list:
    """The points whose label matches the regular expression (all when pattern is None)."""
    points = list(points)
    if not pattern:
        return points
    rx = re.compile(pattern)
    return [p for p in points if rx.search(p.label)]


def with_order(points: Iterable[Point], order: Optional[str]) -> list:
    return [p if order is None else replace(p, order=order) for p in points]
