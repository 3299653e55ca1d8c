"""TLE benchmarks: ``python -m tle.bench <subcommand>`` (console script ``tle-bench``).

Subcommands:
  sparse-mla   sparse MLA forward (DeepSeek-V3.2 prefill): plain Triton vs TLE vs FlashMLA.
"""
