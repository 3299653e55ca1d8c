"""Interleaved A/B timing of sparse MLA providers (for deciding between kernel variants).

    python benchmarks/ab_sparse_mla.py --s-kv 8192,65536 --rounds 7 \
        --providers tle,flashmla,benchmarks.sparse_mla_variants:no_early_copies

This is `tle-bench sparse-mla` (interleaved rounds on fresh inputs, every provider checked against
the reference) with A/B defaults: the first provider is the baseline of the "vs" column, 7 rounds
of 100 ms, s_kv 8K / 64K / 128K, and the FlashMLA builds under .flashmla/ when present. Every
option of `tle-bench sparse-mla` is accepted.
"""
from __future__ import annotations

import argparse
import os
import sys

from tle.bench.__main__ import main as bench_main

DEFAULTS = {"--rounds": "7", "--rep": "100", "--s-kv": "8192,65536,131072"}
FLASHMLA = {"--flashmla-src": ".flashmla/flash_mla_sm90_src.so", "--flashmla-lib": ".flashmla/_flashmla_C.abi3.so"}


def ab_argv(argv) -> list:
    """The `tle-bench sparse-mla` arguments for an A/B run with ``argv``."""
    argv = list(argv)
    given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--providers", required=True)
    known, _ = p.parse_known_args(argv)
    extra = []
    if "--baseline" not in given:
        extra += ["--baseline", known.providers.split(",")[0].strip()]
    for flag, value in DEFAULTS.items():
        if flag not in given:
            extra += [flag, value]
    for flag, path in FLASHMLA.items():
        if flag not in given and os.path.isfile(path):
            extra += [flag, path]
    return ["sparse-mla", *argv, *extra]


if __name__ == "__main__":
    sys.exit(bench_main(ab_argv(sys.argv[1:])))
