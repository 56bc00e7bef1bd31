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


def test_a_layers_activation_vectorised_gives_the_scalar_tanhs_and_numpys_sigmoid():
    # activate runs one loop over a layer's packed values, which LLVM vectorises: it must
    # give, value for value, what the scalar tanh gives, and stay within 2 ulp of NumPy.
    kernels = engine.kernels()
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(size=30_000) * s for s in (0.01, 0.5, 2, 10)])
    z = np.concatenate([z, [0.0, -0.0, 0.625, -0.625, 22.0, -22.0, 40.0, np.inf, -np.inf]])
    a = np.full_like(z, 7.0)
    kernels.activate(z, a, len(z) - 3, 2, kernels.TANH, 0.0)
    n = len(z) - 3
    assert np.array_equal(a[:n], [kernels.tanh(v) for v in z[:n]])
    assert (a[n:] == 7.0).all()  # only the first n values
    ulps = np.abs(a[:n] - np.tanh(z[:n])) / np.spacing(np.abs(np.tanh(z[:n])))
    assert ulps.max() <= 2
    assert np.array_equal(np.signbit(a[:n]), np.signbit(z[:n]))
    kernels.activate(z, a, len(z), 2, kernels.SIGMOID, 0.0)
    np.testing.assert_allclose(a, 0.5 + 0.5 * np.tanh(0.5 * z), rtol=1e-15, atol=1e-16)


def test_uncounted_arrays_are_the_callers_own_memory_and_leave_its_count_alone():
    # The kernels work on uncounted copies of their array arguments (no reference count,
    # the caller keeps them alive): writes must reach the caller's arrays, views of them
    # too, and many calls must neither leak nor drop a reference.
    import sys

    from numba import njit

    uncounted = engine.kernels().uncounted

    @njit
    def write(a, B):
        a, B = uncounted((a, B))
        row = B[1]  # a view of an uncounted array
        row[0] += 1.0
        a[0] += 2.0
        return a.sum() + B.sum()

    a, B = np.zeros(3), np.zeros((2, 2))
    counts = sys.getrefcount(a), sys.getrefcount(B)
    calls = 1000
    totals = [write(a, B) for _ in range(calls)]
    assert totals[-1] == 3.0 * calls and a[0] == 2.0 * calls and B[1, 0] == calls
    assert (sys.getrefcount(a), sys.getrefcount(B)) == counts
