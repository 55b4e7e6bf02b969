"""Small datasets: the article's synthetic 2-D problems in NumPy, and scikit-learn's classics.

``make_moons``, ``make_circles``, ``make_xor`` and ``make_blobs`` need nothing but NumPy;
``load_digits`` and ``load_breast_cancer`` come from scikit-learn (``pip install
'neuralnet[datasets]'``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "make_moons",
    "make_circles",
    "make_xor",
    "load",
    "train_test_split",
    "standardize",
    "DATASETS",
]


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def make_moons(n_samples: int = 1000, noise: float = 0.2, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``); labels 0 and 1."""
    rng = _rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
    ])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)]).astype(np.int64)
    X += rng.normal(scale=noise, size=X.shape)
    perm = rng.permutation(n_samples)
    return X[perm], y[perm]


def make_circles(
    n_samples: int = 1000, noise: float = 0.1, factor: float = 0.4, seed=None
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (label 1) inside a large one (label 0), as scikit-learn's ``make_circles``."""
    rng = _rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
    ])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)]).astype(np.int64)
    X += rng.normal(scale=noise, size=X.shape)
    perm = rng.permutation(n_samples)
    return X[perm], y[perm]


def make_xor(n_samples: int = 4, noise: float = 0.0, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table (``n_samples=4``), or noisy copies of its four corners."""
    rng = _rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    idx = np.arange(n_samples) % 4
    X = corners[idx] + (rng.normal(scale=noise, size=(n_samples, 2)) if noise else 0.0)
    y = (corners[idx, 0] != corners[idx, 1]).astype(np.int64)
    return X, y


def _sklearn_loader(name: str):
    def load_fn(seed=None):
        try:
            import sklearn.datasets as skd
        except ImportError:
            raise ImportError(
                f"The {name!r} dataset comes from scikit-learn, which is not installed; "
                "install it with: pip install 'neuralnet[datasets]'"
            ) from None
        data = getattr(skd, f"load_{name}")()
        return data.data.astype(np.float64), data.target.astype(np.int64)

    load_fn.__name__ = f"load_{name}"
    load_fn.__doc__ = f"scikit-learn's ``load_{name}`` as ``(X, y)`` (needs scikit-learn)."
    return load_fn


load_digits = _sklearn_loader("digits")
load_breast_cancer = _sklearn_loader("breast_cancer")

DATASETS = {
    "moons": lambda seed=None: make_moons(1000, noise=0.2, seed=seed),
    "circles": lambda seed=None: make_circles(1000, noise=0.1, factor=0.4, seed=seed),
    "xor": lambda seed=None: make_xor(400, noise=0.1, seed=seed),
    "digits": load_digits,
    "breast_cancer": load_breast_cancer,
}


def load(name: str, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)`` of the built-in dataset ``name`` (see ``DATASETS``)."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}.")
    return DATASETS[name](seed=seed)


def train_test_split(X, y, test_size: float = 0.2, seed=None):
    """Split ``(X, y)`` at random into ``X_train, X_test, y_train, y_test``."""
    if not (isinstance(test_size, (int, float)) and 0 < test_size < 1):
        raise ValueError(
            f"Received an invalid value for `test_size`, expected a number in (0, 1). "
            f"Received: test_size={test_size!r}"
        )
    X, y = np.asarray(X), np.asarray(y)
    n_test = max(1, int(round(len(X) * test_size)))
    perm = _rng(seed).permutation(len(X))
    test, train = perm[:n_test], perm[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X_train, *others):
    """Scale columns to zero mean and unit variance using the statistics of ``X_train``."""
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1.0
    scaled = [(X_train - mean) / std] + [(np.asarray(o, dtype=np.float64) - mean) / std for o in others]
    return scaled[0] if not others else tuple(scaled)
