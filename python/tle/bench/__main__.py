"""``python -m tle.bench <subcommand> [options]`` -- also the ``tle-bench`` console script."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

# subcommand -> (module under tle.bench, one-line help). Modules are imported only when chosen, so
# `--help` works without torch or a GPU.
SUBCOMMANDS = {
    "sparse-mla": ("sparse_mla", "sparse MLA forward: triton / tle / flashmla / user providers"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tle-bench", description="TLE benchmarks")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    sub.required = True
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _load(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _load(module: str):
    import importlib

    return importlib.import_module(f"tle.bench.{module}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(_load(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
