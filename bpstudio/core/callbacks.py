"""Keras-style callbacks for `Sequential.fit` and the trainer."""

from __future__ import annotations


class Callback:
    """Override the hooks you need. `self.model` is set before training starts; setting
    `self.model.stop_training = True` ends training after the current batch."""

    model = None
    #: True if the callback may be called once per chunk of steps, after its last one, with
    #: that step's logs (it never stops training in the middle): the trainer then trains in
    #: chunks.
    chunkable = False

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Records the epoch logs: `history.history["loss"]` is one value per epoch.

    `non_finite` is None, or, when training stopped because the loss or a gradient was not
    finite, the step's `logs["non_finite"]` (step, layer, where, message): check it, the
    epochs recorded before the stop look normal."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.non_finite: dict | None = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. LambdaCallback(on_epoch_end=lambda e, l: ...)."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"unknown callback hook {name!r}")
            setattr(self, name, fn)


class CallbackList:
    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            cb.set_model(model)

    def listening(self, hook: str) -> bool:
        """Whether any callback does something on `hook` (Callback's own hooks do nothing)."""
        nothing = getattr(Callback, hook)
        return any(
            getattr(type(cb), hook, nothing) is not nothing or hook in vars(cb)
            for cb in self.callbacks
        )

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)

        return call
