"""Which engine runs the element-wise work: NumPy (the reference) or numba's compiled kernels.

The maths lives in NumPy: ``optimizers``, ``activations`` and ``_fastpath`` are written with
NumPy calls, and that code is the reference. The optional ``fast`` extra brings numba, and
with it ``neuralnet._kernels``: one compiled loop for work NumPy does in several passes over
memory (Adam's ten passes become one; a bias add and a ReLU become one). Each kernel does the
same float operations in the same order as its NumPy twin, so the results are the same to the
bit (``tests/test_engine.py``), but for when a subnormal Adam moment is set to 0 (at once in
the kernel, every 16 steps in NumPy: ``optimizers._FLUSH_EVERY``).

Engines (``set_engine``, or the ``NEURALNET_ENGINE`` environment variable):

- ``"numpy"``: NumPy only, always.
- ``"numba"``: the kernels wherever they apply, on arrays of any size; numba must be
  installed.
- ``"auto"`` (the default): NumPy, until a ``fit`` whose work is large enough to repay
  loading numba (``AUTO_WORK``: batches x epochs x parameters) starts, if numba is installed;
  from then on the kernels serve every array large enough (``MIN_SIZE``). Importing numba and
  the first call of its cached kernels cost a fresh process about as much as they save in
  one mnist fit (see ``AUTO_WORK``), and a script's first fit must not get slower for them:
  a smaller fit never pays that.

The kernels run on one core. Both cores are already busy in every step's matrix products
(OpenBLAS's threads): a two-core ``prange`` Adam made mnist's fit 6.5 times slower under
numba's OpenMP layer and no faster under its workqueue layer (``benchmarks/engines.py``).
"""

from __future__ import annotations

import importlib.util
import os
import threading

__all__ = ["ENGINES", "set_engine", "get_engine", "kernels", "AUTO_WORK", "MIN_SIZE"]

ENGINES = ("auto", "numpy", "numba")
# "auto" loads numba for a fit of at least this many parameter updates (batches x epochs x
# parameters). On mnist's 2 epochs of a 784-256-128-10 network (469 batches of 128, 235,146
# parameters: 2.2e8), ``python benchmarks/engines.py`` measured the kernels' steady fits at
# 1.06 to 1.13 s against NumPy's 1.36 to 1.50 s, but their first fit, which loads numba, at
# 1.53 s against 1.50 s, with 115 MB more memory: the load pays from about 2.5e8 updates.
# Below this bound a fit stays with NumPy.
AUTO_WORK = 300_000_000
# Arrays smaller than this stay with NumPy even when the kernels are loaded: a numba call's
# dispatch costs a few microseconds, as much as NumPy's passes over a few thousand values.
MIN_SIZE = 8192

_lock = threading.Lock()
_state: dict = {"engine": None, "kernels": None}


def _install_hint() -> str:
    return 'install it with: pip install "neuralnet[fast]"'


def _check(name) -> str:
    if not isinstance(name, str) or name.lower() not in ENGINES:
        raise ValueError(
            f"Received an invalid engine, expected one of {', '.join(map(repr, ENGINES))}. "
            f"Received: {name!r}"
        )
    return name.lower()


def get_engine() -> str:
    """The engine chosen: ``"auto"``, ``"numpy"`` or ``"numba"`` (see the module)."""
    engine = _state["engine"]
    if engine is None:
        value = os.environ.get("NEURALNET_ENGINE", "auto")
        try:
            engine = _check(value)
        except ValueError:
            raise ValueError(
                f"The environment variable NEURALNET_ENGINE is {value!r}; expected one of "
                f"{', '.join(map(repr, ENGINES))}."
            ) from None
        if engine == "numba":
            _load()
        _state["engine"] = engine
    return engine


def set_engine(name: str) -> None:
    """Choose the engine for the element-wise work: ``"auto"``, ``"numpy"`` or ``"numba"``.

    ``"numba"`` loads the kernels now (an ``ImportError`` that says how to install numba when
    it is missing). The choice holds for the whole process, every thread and every model.
    """
    name = _check(name)
    if name == "numba":
        _load()
    _state["engine"] = name


def _available() -> bool:
    return importlib.util.find_spec("numba") is not None


def _load():
    """Import ``neuralnet._kernels`` (numba) once; return it."""
    loaded = _state["kernels"]
    if loaded is not None:
        return loaded
    with _lock:
        if _state["kernels"] is None:
            if not _available():
                raise ImportError(f"The numba engine needs numba; {_install_hint()}")
            _state["kernels"] = importlib.import_module("neuralnet._kernels")
    return _state["kernels"]


def kernels(size: int | None = None, work: int | None = None):
    """The kernels module to use now, or None for NumPy.

    ``size`` is the number of values the caller is about to work on: with ``"auto"``, arrays
    below ``MIN_SIZE`` stay with NumPy (``"numba"`` takes every one, so that the tests run
    the kernels on small networks too). ``work`` is the size of a fit about to start (batches
    x epochs x parameters), for ``"auto"`` to decide whether loading numba pays; without it
    nothing is loaded.
    """
    engine = _state["engine"] or get_engine()
    if engine == "numpy":
        return None
    if engine == "numba":
        return _state["kernels"] or _load()
    loaded = _state["kernels"]
    if loaded is None and work is not None and work >= AUTO_WORK and _available():
        loaded = _load()
    if loaded is None or (size is not None and size < MIN_SIZE):
        return None
    return loaded
