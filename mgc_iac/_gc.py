"""Kernel: pausing the cyclic garbage collector while large acyclic structures are built (imports nothing of ours).

Loading, graphing and planning a big stack allocate millions of containers and no reference cycles; each
full collection walks every live object, so collections made 10k-server plans 2-3x slower and 100k ones
superlinear. Reference counting still frees everything while the collector is paused.

When the outermost pause ends after a big build, what it built joins the oldest generation (`gc.freeze()` then
`gc.unfreeze()`), as if it had survived two collections: otherwise the first young collection after the pause
walks every object made during it (0.13 s after a 10k-server plan) and the next one walks them again. Nothing is
kept frozen: a full collection still examines them, so cyclic garbage made during the pause is freed as usual.
Small pauses (a state read in `status --watch`'s loop) leave the young generation as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BIG_BUILD = 100_000  # tracked objects made in a pause past which the young collections are spared walking them


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it only if it was enabled (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _age_young_objects()
            gc.enable()


def _age_young_objects() -> None:
    """Move every tracked object to the oldest generation after a big build, unless something else froze objects
    on purpose (gc.unfreeze would release theirs)."""
    if gc.get_count()[0] > BIG_BUILD and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
