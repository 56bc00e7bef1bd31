"""The snapshot throttle: how often the training thread hands a picture to the window."""

import itertools
import threading
import time

import numpy as np
import pytest

from bpstudio.viewmodel.snapshots import DrawGate, SnapshotThrottle


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Maker:
    def make(self, final=False):
        return final


def train(throttle, clock, seconds, step=0.001):
    """Steps of `step` seconds each for `seconds` of the clock."""
    end = clock.now + seconds
    while clock.now < end:
        clock.now += step
        throttle.on_train_batch_end(0)


def test_a_snapshot_after_every_interval_of_training():
    clock, published = Clock(), []
    throttle = SnapshotThrottle(Maker(), published.append, interval=0.04, clock=clock)
    train(throttle, clock, 1.0)
    assert len(published) == pytest.approx(25, abs=1)


@pytest.mark.parametrize("drawing", [0.005, 0.012, 0.020])
def test_with_a_frame_it_keeps_the_pace_and_trains_the_rest(drawing):
    clock, times = Clock(), []

    def publish(snapshot):  # the window draws it, holding the training thread
        times.append(clock.now)
        clock.now += drawing

    frame = 1 / 20
    throttle = SnapshotThrottle(Maker(), publish, interval=0.025, clock=clock, frame=frame)
    train(throttle, clock, 5.0)
    cycles = [b - a for a, b in itertools.pairwise(times[20:])]
    assert sum(cycles) / len(cycles) == pytest.approx(frame, abs=0.0015)
    assert throttle.training_time == pytest.approx(frame - drawing, abs=0.0005)


def test_a_slow_window_still_leaves_the_least_training_time():
    clock, times = Clock(), []

    def publish(snapshot):
        times.append(clock.now)
        clock.now += 0.2  # far longer than a frame

    throttle = SnapshotThrottle(Maker(), publish, interval=0.025, clock=clock, frame=0.05)
    train(throttle, clock, 5.0)
    assert throttle.training_time == 0.025
    assert min(b - a for a, b in itertools.pairwise(times[1:])) >= 0.225 - 1e-9


def test_the_gate_holds_the_training_thread_until_opened_or_timed_out():
    gate = DrawGate(timeout=5)
    gate.close()
    passed = threading.Event()
    waiter = threading.Thread(target=lambda: (gate.pass_through(), passed.set()))
    waiter.start()
    assert not passed.wait(0.1)
    gate.open()
    assert passed.wait(5)
    waiter.join(5)
    gate = DrawGate(timeout=0.05)
    gate.close()
    start = time.monotonic()
    gate.pass_through()  # nobody opens it: a stuck window cannot stop training
    assert 0.04 <= time.monotonic() - start < 2
    gate.suspend()
    gate.close()  # suspended: never closes
    start = time.monotonic()
    gate.pass_through()
    assert time.monotonic() - start < 0.04


def test_slow_parts_are_made_again_at_most_every_slow_every_seconds():
    from bpstudio.lessons import lessons
    from bpstudio.project import load_project
    from bpstudio.viewmodel.snapshots import SLOW_EVERY, SnapshotMaker

    trainer = load_project(lessons()[3].path).make_trainer()  # ReLU layers, 2-D data
    clock = Clock()
    maker = SnapshotMaker(trainer, clock=clock)
    first = maker.make()
    trainer.fit(steps=5)
    clock.now += SLOW_EVERY / 2
    second = maker.make()
    assert second.step == first.step + 5  # the fast parts are new ...
    assert second.weights[0][0] is not first.weights[0][0]
    for part in ("output", "unit_grids", "inactive", "activation_hist"):
        assert getattr(second, part) is getattr(first, part)  # ... the slow ones carried
    clock.now += SLOW_EVERY
    third = maker.make()
    assert third.output is not first.output and third.inactive is not first.inactive
    trainer.fit(steps=5)
    final = maker.make(final=True)  # at rest: everything is made again, at once
    assert final.output is not third.output and final.unit_grids is not third.unit_grids
    fresh = SnapshotMaker(trainer, clock=clock).make(final=True)
    np.testing.assert_array_equal(final.output.grid, fresh.output.grid)
    for a, b in zip(final.inactive, fresh.inactive):
        np.testing.assert_array_equal(a, b)


def test_a_reset_clears_the_rate_and_the_clock():
    from bpstudio.lessons import lessons
    from bpstudio.project import load_project
    from bpstudio.viewmodel.snapshots import SnapshotMaker

    trainer = load_project(lessons()[0].path).make_trainer()
    clock = Clock()
    maker = SnapshotMaker(trainer, clock=clock)
    maker.make()
    trainer.fit(steps=100)
    clock.now += 1.0
    trained = maker.make()
    assert trained.steps_per_second == 100 and trained.elapsed > 0
    trainer.reset()
    again = maker.make()
    assert again.steps_per_second == 0 and again.elapsed == 0
    assert SnapshotMaker(trainer, timed=False).make().elapsed == 0


def test_overlapping_it_publishes_each_frame_once_the_last_is_drawn():
    """While the trainer runs without the GIL it trains on as the window draws: a snapshot
    every overlap_frame once the window has opened the gate (drawn the last), or after the
    gate's timeout when it never does."""
    clock, times = Clock(), []
    gate = DrawGate(timeout=0.25)
    throttle = SnapshotThrottle(
        Maker(), lambda s: times.append(clock.now), interval=0.025, clock=clock, gate=gate,
        frame=0.05, overlap=lambda: True, overlap_frame=1 / 34,
    )  # fmt: skip
    for _ in range(5):  # the window draws each in 10 ms, then opens the gate
        train(throttle, clock, 0.010)
        gate.open()
    train(throttle, clock, 0.5)
    cycles = [b - a for a, b in itertools.pairwise(times)]
    assert all(c >= 1 / 34 for c in cycles[:3])
    assert not gate.is_open() and cycles[-1] == pytest.approx(0.25, abs=0.002)  # timed out
    gate.open()
    published = len(times)
    train(throttle, clock, 1.0)
    assert len(times) - published == pytest.approx(4, abs=1)  # never opened: timeouts only
