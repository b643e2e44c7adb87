# Tensor2D through the buffer protocol: numpy views without a copy, both directions, lifetime.
import gc

import numpy as np
import pytest

import dontpanic as dp


def test_view_has_shape_strides_dtype_and_no_copy():
    t = dp.Tensor2D(3, 5)
    a = np.asarray(t)
    assert a.shape == (3, 5)
    assert a.dtype == np.float32
    assert a.strides == (5 * 4, 4)  # rows contiguous: row stride = cols floats
    assert a.__array_interface__["data"][0] == t.address  # the tensor's memory, not a copy
    assert t.address % 64 == 0  # Tensor2D's alignment
    v = t.numpy()
    assert v.__array_interface__["data"][0] == t.address
    assert not np.shares_memory(t.copy(), a)


def test_write_through_view_is_seen_by_cpp():
    t = dp.Tensor2D(4, 6)
    a = np.asarray(t)
    a[2, 3] = 7.5
    a[0, :] = 1.0
    assert t[2, 3] == 7.5  # read by C++ (operator())
    assert t.sum() == pytest.approx(7.5 + 6.0)  # summed by C++
    v = t.numpy()
    v[3, 5] = -2.0
    assert t[3, 5] == -2.0


def test_write_from_cpp_is_seen_by_view():
    t = dp.Tensor2D(2, 2)
    a = np.asarray(t)
    t.fill(3.0)
    t[1, 0] = 9.0
    np.testing.assert_array_equal(a, [[3.0, 3.0], [9.0, 3.0]])


def test_view_keeps_tensor_alive_after_del():
    t = dp.Tensor2D.random(64, 64, seed=3)
    expected = t.copy()
    views = [np.asarray(t), t.numpy()]
    del t
    gc.collect()
    _ = [np.ones(64 * 64, np.float32) for _ in range(50)]  # reuse freed memory, if it were freed
    for v in views:
        np.testing.assert_array_equal(v, expected)
    views[0] += 1  # still writable memory that belongs to the tensor, shared by both views
    np.testing.assert_array_equal(views[1], expected + 1)


def test_random_matches_seed_and_range():
    a = dp.Tensor2D.random(10, 10, seed=7, lo=2.0, hi=3.0).copy()
    b = dp.Tensor2D.random(10, 10, seed=7, lo=2.0, hi=3.0).copy()
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 2.0 and a.max() < 3.0


def test_from_numpy_copies_and_converts():
    src = np.arange(12, dtype=np.float64).reshape(3, 4)
    t = dp.Tensor2D(src)
    assert t.shape == (3, 4)
    src[0, 0] = 100
    assert t[0, 0] == 0.0  # a copy
    with pytest.raises(dp.Error, match="2-D"):
        dp.Tensor2D(np.zeros(5))


def test_index_errors():
    t = dp.Tensor2D(2, 3)
    assert t[-1, -1] == 0.0
    with pytest.raises(IndexError, match="outside a 2x3 tensor"):
        t[2, 0]


def test_batched_op_matches_scalar_and_checks_out():
    x = np.linspace(-1, 1, 1001, dtype=np.float32)
    y = dp.relu_affine_batch(x, 1.5, -0.25)
    expected = np.array([dp.relu_affine(float(v), 1.5, -0.25) for v in x], np.float32)
    np.testing.assert_array_equal(y, expected)
    out = np.empty_like(x)
    dp.relu_affine_into(x, out, 1.5, -0.25, release_gil=False)
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(dp.Error, match="float32"):
        dp.relu_affine_into(x, np.empty(1001), 1.5, -0.25)
    with pytest.raises(dp.Error, match="1001"):
        dp.relu_affine_into(x, np.empty(10, np.float32), 1.5, -0.25)
    with pytest.raises(dp.Error, match="C-contiguous"):
        dp.relu_affine_into(x[:500], np.empty(1000, np.float32)[::2], 1.5, -0.25)
