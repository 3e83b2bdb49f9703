"""The collector pause around big builds (mgc_iac/_gc.py) loses no garbage and leaves others' frozen objects."""

from __future__ import annotations

import gc
import weakref

from mgc_iac._gc import BIG_BUILD, gc_paused


class _Node:
    pass


def test_a_cycle_made_during_the_pause_is_still_freed_by_a_collection() -> None:
    with gc_paused():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing is kept frozen after the pause
    gc.collect()
    assert gone() is None


def test_objects_of_a_big_build_are_not_walked_again_by_young_collections() -> None:
    with gc_paused():
        built = [[i] for i in range(BIG_BUILD + 10_000)]
    assert gc.get_count()[0] < 100  # they joined the oldest generation
    assert any(o is built for o in gc.get_objects(2))


def test_a_small_pause_leaves_the_young_generation_alone() -> None:
    gc.collect()
    with gc_paused():
        small = [[i] for i in range(1_000)]
    assert not any(o is small for o in gc.get_objects(2))  # young: a young collection may have moved it to gen 1


def test_objects_frozen_by_someone_else_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            _ = [[i] for i in range(BIG_BUILD + 10_000)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_nested_pauses_keep_the_collector_off_until_the_outermost_ends() -> None:
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
