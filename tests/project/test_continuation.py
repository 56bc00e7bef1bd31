"""A saved run goes on exactly as if it had never been interrupted: N steps, save, reopen,
M steps equals N + M steps, bit for bit, for every lesson and every optimizer."""

import tracemalloc

import numpy as np
import pytest

from bpstudio.lessons.catalog import LESSONS
from bpstudio.project import load_project, save_project

OPTIMIZERS = {
    "as given": None,
    "sgd nesterov": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": True},
    "rmsprop": {"name": "rmsprop", "learning_rate": 0.001, "momentum": 0.5, "centered": True},
    "adam clipped": {"name": "adam", "learning_rate": 0.001, "global_clipnorm": 1.0},
}
N, M = 37, 45  # neither a multiple of an epoch: the position in the epoch matters


def project_for(lesson, optimizer):
    project = LESSONS[lesson]()
    if optimizer is not None:
        project.optimizer = dict(optimizer)
    return project


def weights(trainer):
    return {k: v.copy() for k, v in trainer.net.get_weights().items()}


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=list(OPTIMIZERS))
@pytest.mark.parametrize("lesson", sorted(LESSONS, key=lambda x: x.number), ids=lambda x: x.slug)
def test_n_steps_save_reopen_m_steps_equals_n_plus_m(lesson, optimizer, tmp_path):
    project = project_for(lesson, OPTIMIZERS[optimizer])
    straight = project.make_trainer()
    straight.fit(steps=N + M)
    # A run that breaks down (lesson 3 as given) is interrupted half way to its breakdown.
    n = N if straight.failure is None else straight.step_count // 2
    first = project_for(lesson, OPTIMIZERS[optimizer])
    trainer = first.make_trainer()
    trainer.fit(steps=n)
    first.capture(trainer)
    path = save_project(first, tmp_path / "half.bpstudio")
    resumed = load_project(path).make_trainer()
    resumed.fit(steps=N + M - n)
    assert resumed.step_count == straight.step_count
    assert (resumed.failure or {}).get("step") == (straight.failure or {}).get("step")
    assert (resumed.epoch, resumed.batch, resumed.position) == (
        straight.epoch,
        straight.batch,
        straight.position,
    )
    for key, value in weights(straight).items():
        np.testing.assert_array_equal(weights(resumed)[key], value, err_msg=key)
    for a, b in zip(straight.net.dead_units(), resumed.net.dead_units()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "bad",
    [
        lambda order: order[:-1],
        lambda order: order + 0.5,
        lambda order: order[:, None],
        # What fuzzing found: millions of empty rows, no bytes, all the memory as lists.
        lambda order: np.empty((2_000_000, 0)),
    ],
)
def test_progress_that_does_not_fit_is_refused_with_a_clear_message(tmp_path, bad):
    from bpstudio.project import ProjectError

    project = LESSONS[min(LESSONS, key=lambda x: x.number)]()
    trainer = project.make_trainer()
    trainer.fit(steps=5)
    project.capture(trainer)
    project.progress_arrays["order"] = bad(project.progress_arrays["order"])
    tracemalloc.start()
    try:
        with pytest.raises(ProjectError, match="progress.npz: .*shuffled order"):
            project.make_trainer()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # bytes: the check costs no more than the order itself


def test_a_project_saved_after_training_broke_down_reopens_at_its_last_good_state(tmp_path):
    from bpstudio.lessons.catalog import exploding_gradients

    project = exploding_gradients()
    trainer = project.make_trainer()
    trainer.fit(steps=120)
    assert trainer.failure is not None  # the lesson's point: it overflows within a few steps
    failed_at, good = trainer.failure["step"], trainer.rollback_step
    broken = weights(trainer)
    project.capture(trainer)
    assert f"keeps step {good}" in project.note
    # The live run is untouched: still broken down, at the same weights.
    assert trainer.failure is not None and trainer.net.steps == failed_at
    for key, value in weights(trainer).items():
        np.testing.assert_array_equal(value, broken[key])
    path = save_project(project, tmp_path / "diverged.bpstudio")
    again = load_project(path)
    assert again.steps == good
    reopened = again.make_trainer()
    assert reopened.net.steps == good and reopened.failure is None
    assert all(np.isfinite(v).all() for v in reopened.net.get_weights().values())
    assert (reopened.history.steps.steps <= good).all()  # the curves go back to it too
    assert reopened.history.events[-1] == (good, "rolled back")
    # It trains: a smaller learning rate goes on from there without breaking down.
    reopened.set_hyperparameters(learning_rate=0.001)
    reopened.fit(steps=50)
    assert reopened.failure is None and reopened.net.steps == good + 50


def test_a_run_that_broke_down_late_reopens_with_its_curves_up_to_the_good_state(tmp_path):
    from bpstudio.data.datasets import DatasetRecipe
    from bpstudio.project import Project

    linear = {"class": "Dense", "units": 8, "activation": "linear"}
    project = Project(
        dataset=DatasetRecipe("plane"),
        loss="mse",
        layers=[linear, {**linear, "units": 1}],
        optimizer={"name": "sgd", "learning_rate": 0.01},
    )
    trainer = project.make_trainer()
    trainer.fit(steps=120)  # checkpoints at 0, 50, 100
    trainer.set_hyperparameters(learning_rate=50.0)  # linear units: nothing saturates
    trainer.fit(steps=20)
    assert trainer.failure is not None and trainer.rollback_step == 100
    project.capture(trainer)
    reopened = load_project(save_project(project, tmp_path / "late.bpstudio")).make_trainer()
    steps = reopened.history.steps.steps
    assert reopened.net.steps == 100 and steps[-1] == 99 and len(steps) == 100
    assert reopened.history.epochs.steps[-1] <= 100
    reopened.set_hyperparameters(learning_rate=0.01)
    reopened.fit(steps=10)
    assert reopened.failure is None and reopened.history.steps.steps[-1] == 109
