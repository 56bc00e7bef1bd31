"""The compiled kernels' own tanh against NumPy's, the reference engine's."""

import numpy as np
import pytest

from bpstudio.compiled import engine

pytestmark = pytest.mark.skipif(
    not engine.warm_up("float64", wait=True), reason="the compiled engine is not here"
)


def test_tanh_is_within_two_units_in_the_last_place_of_numpys():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=20_000) * s for s in (1e-9, 0.01, 0.3, 1, 3, 30)])
    x = np.concatenate([x, [0.625, -0.625, np.nextafter(0.625, 1), 22.0, 23.0, 700.0, 1e300]])
    tanh = engine.kernels().tanh
    ours = np.array([tanh(v) for v in x])
    ulps = np.abs(ours - np.tanh(x)) / np.spacing(np.abs(np.tanh(x)))
    assert ulps.max() <= 2


def test_tanh_keeps_the_sign_of_zero_infinities_and_nan():
    tanh = engine.kernels().tanh
    assert np.signbit(tanh(-0.0)) and not np.signbit(tanh(0.0))
    assert tanh(np.inf) == 1.0 and tanh(-np.inf) == -1.0
    assert np.isnan(tanh(np.nan))
