"""TLE's integration with Triton's compiler (no fork, no C++ linking).

* :mod:`.discovery` records the installed make_ttgir's pass sequence at run time;
* :mod:`.steps` holds the TLE steps (inserted at named passes, and the post-TTGIR step) and
  merges them with a discovered sequence into a plan;
* :mod:`.runner` runs a plan through the text bridge, with the failure policy;
* :mod:`.identity` puts TLE's identity into Triton's cache keys;
* :mod:`.hook` is the stages hook (both of Triton's calling conventions) and install/enable;
* :mod:`.state` holds all of its mutable state in one object;
* :mod:`.launch` replays a compiled kernel without Triton's per-launch Python layers.
"""
from .discovery import DiscoveryError, StockPass, StockSequence, discover
from .identity import cache_identity
from .hook import (disable, enable, enabled, install, is_enabled, is_installed, stages_hook,
                      stock_pass_names, uninstall)
from .steps import POST_STEP_NAME, TLEStep, build_plan, clear_steps, insert_step, inserted_steps, remove_step

__all__ = [
    "DiscoveryError", "StockPass", "StockSequence", "discover", "cache_identity", "disable", "enable",
    "enabled", "install", "is_enabled", "is_installed", "stages_hook", "stock_pass_names", "uninstall",
    "POST_STEP_NAME", "TLEStep", "build_plan", "clear_steps", "insert_step", "inserted_steps", "remove_step",
]
