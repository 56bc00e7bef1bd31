"""Kernel regularizers. As in Keras, L2 adds l2 * sum(W**2) (no factor 1/2) to the loss."""

from __future__ import annotations

import numpy as np

from bpstudio.core import registry
from bpstudio.core._checks import number


class Regularizer:
    name = ""

    def penalty(self, W) -> float:
        raise NotImplementedError

    def gradient(self, W):
        raise NotImplementedError


class L1(Regularizer):
    name = "l1"

    def __init__(self, l1=0.01):
        self.l1 = number("l1", l1, low=0.0)

    def penalty(self, W):
        return self.l1 * float(np.abs(W).sum())

    def gradient(self, W):
        return self.l1 * np.sign(W)

    def get_config(self):
        return {"name": self.name, "l1": self.l1}

    def __repr__(self):
        return f"L1({self.l1})"


class L2(Regularizer):
    name = "l2"

    def __init__(self, l2=0.01):
        self.l2 = number("l2", l2, low=0.0)

    def penalty(self, W):
        flat = W.ravel()
        return self.l2 * float(flat @ flat)

    def gradient(self, W):
        return (2 * self.l2) * W

    def get_config(self):
        return {"name": self.name, "l2": self.l2}

    def __repr__(self):
        return f"L2({self.l2})"


class L1L2(Regularizer):
    name = "l1_l2"

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = number("l1", l1, low=0.0)
        self.l2 = number("l2", l2, low=0.0)

    def penalty(self, W):
        flat = W.ravel()
        return self.l1 * float(np.abs(flat).sum()) + self.l2 * float(flat @ flat)

    def gradient(self, W):
        return self.l1 * np.sign(W) + (2 * self.l2) * W

    def get_config(self):
        return {"name": self.name, "l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"L1L2(l1={self.l1}, l2={self.l2})"


registry.add("regularizer", Regularizer, (L1, L2, L1L2))
