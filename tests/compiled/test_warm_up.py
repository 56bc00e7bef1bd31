"""The warm-up compiles the kernels for the argument types of every run: a run that meets
another type (an array's layout, a dtype) would compile again where it runs, for seconds,
in the window's training thread, while the warm-up said the engine was ready (with an empty
cache: 15 s, and a window closed meanwhile could not stop its thread). Checked in a fresh
interpreter, where the kernels start with no compiled versions but the warm-up's."""

import subprocess
import sys
import textwrap

import pytest

from bpstudio.compiled import engine

pytestmark = pytest.mark.skipif(
    not engine.warm_up("float64", wait=True), reason="the compiled engine is not here"
)

RUNS = textwrap.dedent(
    """
    import numpy as np
    from bpstudio.compiled import engine
    from bpstudio.core import Dense, Dropout, Sequential
    from bpstudio.lessons.catalog import lessons, LESSONS, with_fix

    for dtype in ("float64", "float32"):
        assert engine.warm_up(dtype, wait=True), engine.available()
    from bpstudio.compiled import kernels
    KERNELS = ("train_epochs", "evaluate")
    warmed = {name: list(getattr(kernels, name).signatures) for name in KERNELS}

    projects = []
    for lesson in lessons():
        project = LESSONS[lesson]()
        projects += [project] + [
            with_fix(project, i) for i in range(len(project.lesson.get("fixes", [])))
        ]
    projects.append(LESSONS[lessons()[0]]())
    projects[-1].dtype = "float32"
    for project in projects:
        trainer = project.make_trainer(engine="compiled")
        trainer.fit(epochs=2)
        assert trainer.engine == "compiled", (project.name, trainer.why_numpy())

    # Targets one-hot and as indices, inputs in Fortran order, a test set or none.
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.normal(size=(40, 3)))
    labels = rng.integers(0, 3, 40)
    for dtype in ("float64", "float32"):
        for Y in (labels, np.eye(3)[labels]):
            net = Sequential([Dense(4, activation="relu"), Dropout(0.3),
                              Dense(3, activation="softmax")], input_dim=3, dtype=dtype)
            net.compile("adam", "categorical_crossentropy")
            Xp, Yp = net.prepare_inputs(X), net.prepare_targets(Y)
            steps = engine.CompiledSteps(net)
            for test in (None, (Xp[:10], Yp[:10])):
                steps.run(Xp, Yp, np.arange(40), 0, 8, 12, test=test, max_ends=3)
            steps.evaluate(Xp, Yp)

    for name in KERNELS:
        new = [s for s in getattr(kernels, name).signatures if s not in warmed[name]]
        assert not new, (name, [[str(t) for t in s] for s in new], warmed[name])
    print("no kernel compiled again")
    """
)


def test_no_run_compiles_a_kernel_again():
    done = subprocess.run([sys.executable, "-c", RUNS], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "no kernel compiled again" in done.stdout
