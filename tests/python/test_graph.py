# The graph engine from Python: the labs' MLP in each CPU mode vs the same network in numpy.
import numpy as np
import pytest

import dontpanic as dp


def numpy_mlp(graph, x, depth, softmax):
    h = x.astype(np.float64)
    for l in range(depth):
        w = graph.constant_value(f"W{l}").astype(np.float64)
        b = graph.constant_value(f"b{l}").astype(np.float64)
        h = np.maximum(h @ w.T + b, 0)
    if softmax:
        e = np.exp(h - h.max(axis=1, keepdims=True))
        h = e / e.sum(axis=1, keepdims=True)
    return h


@pytest.mark.parametrize("mode", ["cpu-immediate", "cpu-fused"])
@pytest.mark.parametrize("width,depth,batch,softmax", [(17, 3, 5, True), (64, 4, 64, False)])
def test_mlp_matches_numpy(mode, width, depth, batch, softmax):
    g = dp.build_mlp(width=width, depth=depth, batch=batch, seed=11, softmax=softmax)
    x = np.random.default_rng(5).uniform(-1, 1, (batch, width)).astype(np.float32)
    runner = dp.Runner(g, mode)
    assert runner.mode == mode
    got = runner(x)
    want = numpy_mlp(g, x, depth, softmax)
    assert got.shape == (batch, width) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(want).max()))
    runner.run(dp.Tensor2D(x))  # a Tensor2D is used in place
    np.testing.assert_array_equal(runner.output(0), got)


def test_graph_built_in_python_and_runner_owns_its_copy():
    g = dp.Graph()
    x = g.input("x", 4, 3)
    w = g.constant("W", np.eye(3, dtype=np.float32) * 2)
    b = g.constant("b", np.full((1, 3), -1, np.float32))
    g.mark_output(g.relu(g.linear(x, w, b)))
    assert "linear_relu" in g.plan(fuse=True)
    runner = dp.Runner(g, "cpu-fused")
    del g  # the runner holds its own graph
    xin = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(runner(xin), np.maximum(2 * xin - 1, 0))


def test_errors_are_clear():
    g = dp.build_mlp(width=8, depth=1, batch=4)
    with pytest.raises(dp.Error, match="no execution mode 'fast'.*cpu-fused"):
        dp.Runner(g, "fast")
    with pytest.raises(dp.Error, match="GPU"):
        dp.Runner(g, "gpu-fused")
    with pytest.raises(dp.Error):
        dp.Runner(g, "cpu-fused")(np.zeros((3, 8), np.float32))  # wrong batch
    assert isinstance(dp.Error("x"), RuntimeError)
    assert dp.modes() == ["cpu-immediate", "cpu-fused"]
