"""TLE's Gluon layer: building blocks for warp-specialized Hopper kernels.

Triton's Gluon exposes the raw pieces (mbarriers, cp.async, WGMMA, ``warp_specialize``); the
hand-offs between them follow rules that are easy to get subtly wrong (which proxy fence goes on
which side, how many threads arrive, which phase a reused barrier is in). This package encodes
those rules once, as ``@gluon.jit`` helpers that any kernel can call:

* :mod:`tle.gluon.handoff` -- producer/consumer hand-offs between warp partitions through shared
  memory and mbarriers (cp.async ring slots, register values published for another warpgroup's
  WGMMA, small per-row statistics exchanged between warpgroups).
* :mod:`tle.gluon.gather` -- row gathers (``rows[i] = base[index[i]]``) issued as cp.async into
  WGMMA-ready (NVMMA-swizzled) shared tiles, with invalid rows zero-filled.
* :mod:`tle.gluon.cluster` -- two CTAs of a cluster (``num_ctas=2``): a bulk copy into the peer
  CTA's shared memory, an arrive on the peer's mbarrier, the cluster barrier (Triton 3.6; the
  PTX they need is produced by :mod:`tle.gluon.cluster_lowering`, which ``import tle`` runs).
* :mod:`tle.gluon.compat` -- the Gluon names that differ between Triton 3.6 and 3.9, resolved
  once; everything here (and every kernel built from it) uses those instead of testing versions.

The sparse MLA kernel (:mod:`tle.ops.sparse_mla_ws`) is built from them. Everything here runs
under ``import tle`` like any other Triton kernel, so TLE's compiler passes see the result.
"""
from . import compat  # noqa: F401
from .gather import gather_rows_async, gather_tile_async  # noqa: F401
from .handoff import (  # noqa: F401
    arrive_when_copies_land,
    loop_variant,
    named_barrier_arrive,
    named_barrier_sync,
    publish_for_wgmma,
    publish_rows,
    receive_rows,
    signal,
    wait_async_tile,
)
