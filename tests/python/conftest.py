# The module comes from the build: PYTHONPATH=<build>/python (ctest sets it; by hand, see
# guide/docs/m5/bindings.md). Without it every test here fails at import with a clear message.
import pytest

try:
    import dontpanic  # noqa: F401
except ImportError as e:  # pragma: no cover
    raise pytest.UsageError(
        f"cannot import dontpanic ({e}): build it (cmake --build --preset release --target dontpanic_py) "
        "and run with PYTHONPATH=build/release/python")
