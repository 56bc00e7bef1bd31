"""The project: everything a .bpstudio file holds, as Python objects, and how it builds the
dataset, the network and the trainer it describes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import bpstudio
from bpstudio.core import Sequential, registry
from bpstudio.core.model import DEAD_WINDOW
from bpstudio.data.csvdata import CsvTable
from bpstudio.data.datasets import Dataset, DatasetError, DatasetRecipe, make_dataset
from bpstudio.training.history import HISTORY_ROWS, RunHistory

#: The version of project.json's layout, written into every file.
FORMAT_VERSION = 1
#: The longest message a ProjectError carries.
MAX_MESSAGE = 300
#: The most runs a project keeps; a new one beyond drops the oldest (and says so).
MAX_RUNS = 50


class ProjectError(Exception):
    """A project that cannot be read, written or built; the message says what and where, on
    one line of at most MAX_MESSAGE characters (a damaged file can make a library quote
    kilobytes of garbage)."""

    def __init__(self, message):
        message = " ".join(str(message).split())
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 1] + "…"
        super().__init__(message)


@dataclass
class RunRecord:
    """One training run: its settings, where it ended, and what it recorded."""

    id: int
    history: RunHistory
    name: str = ""
    settings: dict = field(default_factory=dict)
    weights: dict | None = None  # where the run ended, by name as Sequential.get_weights()
    data: dict | None = None  # the data it trained on (Project.data_identity()); None: unknown

    def metadata(self) -> dict:
        final = self.history.epochs.last() or {}
        return {
            "id": self.id,
            "name": self.name,
            "steps": int(self.history.steps.steps[-1]) + 1 if len(self.history.steps) else 0,
            "epochs": len(self.history.epochs),
            "settings": self.settings,
            "final": {k: v for k, v in final.items() if v == v},  # NaN has no JSON form
            "step_columns": list(self.history.steps.columns),
            "stride": self.history.steps.stride,
            "epoch_stride": self.history.epochs.stride,
            "events": [[int(s), str(t)] for s, t in self.history.events],
            **({"data": self.data} if self.data is not None else {}),
        }


@dataclass
class Project:
    """Everything a .bpstudio file holds, as Python objects."""

    dataset: DatasetRecipe = field(default_factory=DatasetRecipe)
    layers: list = field(default_factory=list)
    optimizer: dict = field(default_factory=lambda: {"name": "sgd", "learning_rate": 0.03})
    loss: str = "binary_crossentropy"
    batch_size: int = 10
    epochs: int = 100
    #: When training in the window pauses by itself: {"epoch": N, "test_loss": x} (either).
    stop: dict | None = None
    seed: int = 0
    name: str = "Untitled"
    description: str = ""
    dtype: str = "float64"
    dead_window: int = DEAD_WINDOW
    table: CsvTable | None = None
    weights: dict | None = None
    steps: int = 0
    epoch: int = 0
    runs: list = field(default_factory=list)
    #: Where training stood beyond the weights (Trainer.progress()): facts and arrays. Only
    #: for the weights saved with it; any change that rebuilds the network drops it.
    progress: dict | None = None
    progress_arrays: dict | None = None
    #: The id of the run the weights are in the middle of: training goes on with its history.
    current_run: int | None = None
    #: What was adjusted to make the project train (said to the user once; not saved).
    note: str | None = field(default=None, compare=False)
    lesson: dict | None = None
    classroom: dict | None = None
    #: How the output plane is shown: {"show_test_data": bool, "discretize": bool}.
    view: dict | None = None

    def data_identity(self) -> dict:
        """What says which data a run trained on: the recipe, and the file for CSV data.
        Runs are compared only with runs on the same data."""
        identity = self.dataset.to_dict()
        if self.table is not None:
            identity["csv"] = self.table.source
        return identity

    # ------------------------------------------------------------------ building

    def build_dataset(self) -> Dataset:
        try:
            return make_dataset(self.dataset, self.table)
        except DatasetError as exc:
            raise ProjectError(f"dataset: {exc}") from None

    def build_network(self, dataset: Dataset | None = None) -> Sequential:
        """The compiled network, with the saved weights if there are any."""
        dataset = dataset or self.build_dataset()
        try:
            net = Sequential.from_config(
                {
                    "layers": self.layers,
                    "input_dim": dataset.input_dim,
                    "seed": self.seed,
                    "dtype": self.dtype,
                    "dead_window": self.dead_window,
                }
            )
        except (ValueError, TypeError) as exc:
            raise ProjectError(f"network: {exc}") from None
        if net.output_dim != dataset.output_units:
            raise ProjectError(
                f"network: the output layer has {net.output_dim} units, but the "
                f"{dataset.recipe.name} dataset needs {dataset.output_units}"
            )
        try:
            net.compile(registry.get("optimizer", self.optimizer), self.loss)
        except (ValueError, TypeError) as exc:
            raise ProjectError(f"training: {exc}") from None
        if self.weights is not None:
            try:
                net.set_weights(self.weights)
            except ValueError as exc:
                raise ProjectError(f"weights.npz: {exc}") from None
            net.steps = self.steps
        return net

    def fit_output_to(self, dataset: Dataset) -> str | None:
        """Make the last Dense layer and the loss suit the dataset's task (sigmoid for two
        classes, softmax for more, linear for regression). Returns what changed, or None."""
        dense = [i for i, layer in enumerate(self.layers) if layer.get("class") == "Dense"]
        if not dense:
            raise ProjectError("network: there is no Dense layer to serve as the output")
        last = dict(self.layers[dense[-1]])
        want = (dataset.output_units, dataset.output_activation, dataset.loss)
        have = (last.get("units"), last.get("activation", "linear"), self.loss)
        if want == have:
            return None
        last["units"], last["activation"] = want[0], want[1]
        self.layers = [*self.layers[: dense[-1]], last, *self.layers[dense[-1] + 1 :]]
        self.loss = want[2]
        self.weights = None
        return (
            f"the output layer is now {want[0]} {want[1]} unit{'s' * (want[0] > 1)} "
            f"with {want[2].replace('_', ' ')} loss"
        )

    def make_trainer(self, callbacks=(), history_capacity=HISTORY_ROWS, engine="auto"):
        from bpstudio.training.trainer import Trainer, TrainingError

        dataset = self.build_dataset()
        net = self.build_network(dataset)
        n_train = len(dataset.X_train)
        if isinstance(self.batch_size, int) and self.batch_size > n_train > 0:
            self.note = (
                f"the batch size was {self.batch_size}, more than the {n_train} training "
                f"examples: it is {n_train} now"
            )
            self.batch_size = n_train
        try:
            trainer = Trainer(net, dataset, self.batch_size, callbacks, history_capacity, engine)
        except TrainingError as exc:
            raise ProjectError(f"training: {exc}") from None
        trainer.epoch = self.epoch if self.weights is not None else 0  # new weights: epoch 0
        if self.weights is not None and self.progress is not None:
            try:
                trainer.resume(self.progress, self.progress_arrays or {})
            except TrainingError as exc:
                raise ProjectError(f"progress.npz: {exc}") from None
        elif self.weights is not None and self.steps:
            trainer.probe_activity()  # no record of which units were active: look now
        current = [r for r in self.runs if r.id == self.current_run]
        if self.weights is not None and current:
            trainer.continue_history(current[0].history)
        return trainer

    def frozen(self) -> Project:
        """A copy that shares nothing with this project (weights, runs and their histories
        copied): what a file written in the background is made from while training goes
        on."""
        return copy.deepcopy(self)

    def capture(self, trainer, run_name=None):
        """Take the trainer's current weights, settings and run into this project; the run
        is called `run_name` if given. After training broke down (a non-finite step), what
        is taken is the last good state, where a rollback would go: the project reopens
        there, and trains."""
        if trainer.failure is not None:
            failed = trainer.failure["step"]
            with trainer.at_last_good_state() as step:
                self._capture(trainer, run_name)
            kept = (
                f"training broke down at step {failed}; the project keeps step {step}, "
                f"its last good state"
            )
            self.note = f"{self.note}; {kept}" if self.note else kept
            return
        self._capture(trainer, run_name)

    def _capture(self, trainer, run_name):
        net = trainer.net
        self.weights = net.get_weights()
        self.steps, self.epoch, self.seed = net.steps, trainer.epoch, net.seed
        self.progress, self.progress_arrays = trainer.progress()
        self.layers = [layer.get_config() for layer in net.layers]
        self.optimizer = net.optimizer.get_config()
        self.batch_size = trainer.batch_size
        self.current_run = None
        if len(trainer.history.steps):  # a run that has trained (not only carried weights)
            current = [r for r in self.runs if r.history is trainer.history]
            if current:
                current[0].settings = trainer.hyperparameters()
                current[0].weights = self.weights
                current[0].data = self.data_identity()
            else:
                run_id = max((r.id for r in self.runs), default=-1) + 1
                current = [
                    RunRecord(
                        run_id,
                        trainer.history,
                        f"Run {run_id + 1}",
                        trainer.hyperparameters(),
                        self.weights,
                        self.data_identity(),
                    )
                ]
                self.runs.append(current[0])
                if len(self.runs) > MAX_RUNS:
                    dropped = self.runs.pop(0)
                    self.note = (
                        f"a project keeps {MAX_RUNS} runs: the oldest, "
                        f"{dropped.name or f'Run {dropped.id + 1}'}, was dropped"
                    )
            if run_name:
                current[0].name = f"Run {current[0].id + 1}: {run_name}"
            self.current_run = current[0].id

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict:
        dataset = self.dataset.to_dict()
        if self.table is not None:
            t = self.table
            dataset["csv"] = {
                "source": t.source,
                "target": t.target,
                "task": t.task,
                "standardize": t.standardize,
                "feature_names": list(t.feature_names),
                "class_names": list(t.class_names),
            }
        doc = {
            "format_version": FORMAT_VERSION,
            "app_version": bpstudio.__version__,
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "dataset": dataset,
            "network": {
                "layers": self.layers,
                "dtype": self.dtype,
                "dead_window": self.dead_window,
            },
            "training": {
                "optimizer": self.optimizer,
                "loss": self.loss,
                "batch_size": self.batch_size,
                "epochs": self.epochs,
                **({"stop": self.stop} if self.stop else {}),
            },
            "state": {
                "steps": self.steps,
                "epoch": self.epoch,
                **({"progress": self.progress} if self.progress is not None else {}),
                **({"current_run": self.current_run} if self.current_run is not None else {}),
            },
            "runs": [r.metadata() for r in self.runs],
        }
        if self.lesson is not None:
            doc["lesson"] = self.lesson
        if self.classroom is not None:
            doc["classroom"] = self.classroom
        if self.view is not None:
            doc["view"] = self.view
        return doc
