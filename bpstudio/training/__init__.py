"""The training loop: the Trainer, the thread-safe controls the GUI writes, and the run
history. Imports core and data; never Qt."""

from bpstudio.training.controls import StopCondition
from bpstudio.training.history import RunHistory
from bpstudio.training.trainer import Trainer, TrainerControls, TrainingError

__all__ = ["RunHistory", "StopCondition", "Trainer", "TrainerControls", "TrainingError"]
