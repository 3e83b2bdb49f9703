"""Kernel: pausing the cyclic garbage collector while large acyclic structures are built (imports nothing of ours).

Loading, graphing and planning a big stack allocate millions of containers and no reference cycles; each
full collection walks every live object, so collections made 10k-server plans 2-3x slower and 100k ones
superlinear. Reference counting still frees everything while the collector is paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it only if it was enabled (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
