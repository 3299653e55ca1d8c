"""All mutable state of TLE's Triton integration, in one object.

Everything that ``install()`` changes in Triton, every registered TLE step and every per-process
memo lives in :data:`STATE`, so a reader (or a test) sees at one glance what TLE holds.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class IntegrationState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    # -- install -------------------------------------------------------------------------------
    installed: bool = False
    previous_hook: Optional[Callable] = None  # a stages hook installed before TLE (chained)
    #: Triton calls the hook with no arguments for a cache-key contribution (3.7+); on older
    #: versions TLE folds its identity into the keys by wrapping the two functions below.
    keyed_hook: bool = False
    orig_backend_hash: Optional[Callable] = None
    orig_compute_cache_key: Optional[Callable] = None
    # -- registered TLE steps (steps.py) --------------------------------------------------------
    insertions: list = field(default_factory=list)
    steps_generation: int = 0
    # -- memos ---------------------------------------------------------------------------------
    identity_cache: dict = field(default_factory=dict)
    warned: set = field(default_factory=set)


STATE = IntegrationState()
