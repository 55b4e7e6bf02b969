"""Save and load a ``NeuralNet`` as one ``.npz`` file: safe to open, and nothing lost.

The file is a plain NumPy archive (``np.savez``, no pickle) holding

    header                 uint8 bytes of UTF-8 JSON: format and library versions, the
                           architecture (``NeuralNet.get_config()``), the optimizer's name,
                           config and scalar state, the epoch count, the random generator's
                           state, user metadata, the fitted table preprocessing
                           (``neuralnet.tabular``, as plain JSON), and for every array its
                           shape, dtype and SHA-256 checksum
    weights_<l>            the absorbed weights ``(n_in + 1, n_out)`` of dense layer ``l``
    optimizer_<p>_<key>    the optimizer's state arrays (momentum, moments, ...) of parameter ``p``

Loading reads the arrays with ``allow_pickle=False`` and the header with ``json.loads``: nothing
in the file is ever executed. Every way a file can be wrong (not an archive, pickled objects,
truncated, corrupted, a newer format, a weight that does not fit the architecture, a checksum
that does not match) is a ``ValueError`` saying which file and why.

Saving is atomic: the archive is written to a temporary file beside the target, flushed to
disk, and renamed over it, so a failure mid-save leaves any previous file untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from neuralnet.model import NeuralNet

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_NAME = "neuralnet.NeuralNet"
# Raise when the layout changes; a reader refuses files whose version is newer than its own.
# 2: Adam's state holds the exponential sums m_sum and v_sum (format 1 held m and v).
# 3: the table preprocessing has its own header key, "preprocessor" (neuralnet.tabular).
FORMAT_VERSION = 3
_HEADER = "header"


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _describe(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": _sha256(array)}


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike; received {type(path).__name__}."
        )
    return Path(path)


def _optimizer_record(model, arrays: dict[str, np.ndarray]) -> dict | None:
    """Return the optimizer's JSON record; put its state arrays into ``arrays`` by position."""
    from neuralnet import optimizers as _optimizers

    opt = model.optimizer
    if opt is None:
        return None
    if _optimizers.OPTIMIZERS.get(opt.name) is not type(opt):
        raise ValueError(
            f"Cannot save the optimizer {opt!r}: only the built-in optimizers "
            f"({', '.join(sorted(_optimizers.OPTIMIZERS))}) can be rebuilt from a file."
        )
    states = []
    # State is keyed by id(parameter); this network's only parameter is its flat buffer.
    for p, param in enumerate([model._flat_weights]):
        state = opt.state.get(id(param))
        if state is None:
            states.append(None)
            continue
        scalars, names = {}, []
        for key, value in state.items():
            if key == "shape":
                continue
            if isinstance(value, np.ndarray):
                arrays[f"optimizer_{p}_{key}"] = value
                names.append(key)
            else:
                scalars[key] = value.item() if isinstance(value, np.generic) else value
        states.append({"scalars": scalars, "arrays": names})
    return {"config": opt.get_config(), "iterations": int(opt.iterations), "state": states}


def _header(model, arrays: dict[str, np.ndarray]) -> dict:
    import neuralnet

    model._check_bound()
    for l, layer in enumerate(model._dense):
        arrays[f"weights_{l}"] = layer.weights
    optimizer = _optimizer_record(model, arrays)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neuralnet_version": neuralnet.__version__,
        "config": model.get_config(),
        "optimizer": optimizer,
        "epoch": int(model.epoch),
        "rng_state": model.rng.bit_generator.state,
        "metadata": getattr(model, "metadata", None) or {},
        "preprocessor": _tabular()._to_header(model),
        "arrays": {name: _describe(a) for name, a in arrays.items()},
    }
    try:
        return json.loads(json.dumps(header, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Cannot save the model: its configuration or metadata is not plain JSON data ({exc})."
        ) from None


def save(model: NeuralNet, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically: a temporary file beside it, fsync, then rename.

    The file holds the architecture, every weight, the optimizer and its state, the epoch
    count and the random generator's state, so ``load(path).fit(...)`` continues training
    exactly where ``model`` stopped.
    """
    path = _check_path(path)
    arrays: dict[str, np.ndarray] = {}
    header = _header(model, arrays)
    payload = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    directory = path.parent
    # Not tempfile.mkstemp: its files are private (0600); this one gets the usual permissions.
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    f = open(tmp, "xb")  # outside the try: the clean-up below removes only a file we made
    try:
        with f:
            np.savez(f, **{_HEADER: payload}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Refused(Exception):
    """A file judged wrong before NumPy reads it; carries the final message."""


_PICKLE_MAGIC = b"\x80"  # the PROTO opcode every pickle since protocol 2 starts with
_ARCHIVE_MAGIC = (b"PK", b"\x93NUMPY")


def _read_arrays(f, where: str) -> dict[str, np.ndarray]:
    """Read every array of the open archive ``f``; refuse what is not a model file."""
    magic = f.read(6)
    f.seek(0)
    # NumPy treats every file that is neither .npy nor .npz as a pickle; say which it is.
    if magic.startswith(_PICKLE_MAGIC):
        raise _Refused(_pickled(where))
    if magic and not magic.startswith(_ARCHIVE_MAGIC):
        raise _Refused(f"{where}: it is not a neuralnet model file (not a NumPy .npz archive).")
    archive = np.load(f, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _Refused(f"{where}: it is a single .npy array, not a neuralnet model file (.npz).")
    with archive:
        # Every member first: one holding pickled objects is refused as such.
        arrays = {name: archive[name] for name in archive.files}
    if _HEADER not in arrays:
        raise _Refused(
            f"{where}: it is a NumPy archive but not a neuralnet model file "
            f"(no '{_HEADER}' entry; it holds {sorted(arrays)[:5]})."
        )
    return arrays


def _read_archive(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Return the header and every array, or raise ``ValueError`` naming what is wrong."""
    where = f"Cannot load {str(path)!r}"
    try:
        f = open(path, "rb")  # closed by the with below
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file.") from None
    except IsADirectoryError:
        raise ValueError(f"{where}: it is a directory, not a model file.") from None
    # Our own handle: NumPy leaks the file it opened when the zip directory is unreadable.
    with f:
        try:
            arrays = _read_arrays(f, where)
        except _Refused as exc:
            raise ValueError(str(exc)) from None
        except ValueError as exc:
            if "pickle" in str(exc):  # an object array inside the archive
                raise ValueError(_pickled(where)) from None
            raise ValueError(f"{where}: the file is corrupted or truncated ({exc}).") from None
        except Exception as exc:  # any failure to parse an untrusted file means damage
            if "CRC" in str(exc):  # the archive's own CRC-32 of a member
                raise ValueError(
                    f"{where}: the file is corrupted: a checksum does not match ({exc})."
                ) from None
            raise ValueError(
                f"{where}: the file is corrupted or truncated ({type(exc).__name__}: {exc})."
            ) from None
    raw = arrays.pop(_HEADER)
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"header has dtype {raw.dtype} and shape {raw.shape}")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError(f"header is a JSON {type(header).__name__}, not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: its header is not valid JSON ({exc}).") from None
    return header, arrays


def _pickled(where: str) -> str:
    return (
        f"{where}: it holds pickled Python objects, which could run arbitrary code when "
        "loaded; neuralnet model files never do, so it is refused."
    )


def _check_header(header: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    if header.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{where}: it is not a neuralnet model file (format {header.get('format')!r}, "
            f"expected {FORMAT_NAME!r})."
        )
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{where}: its format version {version!r} is not a positive integer.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{where}: it was written in format version {version} (by neuralnet "
            f"{header.get('neuralnet_version', '?')}), newer than this neuralnet reads "
            f"(format version {FORMAT_VERSION}); upgrade neuralnet to load it."
        )
    described = header.get("arrays")
    if not isinstance(described, dict) or set(described) != set(arrays):
        listed = sorted(described) if isinstance(described, dict) else described
        raise ValueError(
            f"{where}: the header lists arrays {listed}, but the file holds {sorted(arrays)}."
        )


def _check_recorded(header: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    """Check every array against the shape, dtype and SHA-256 the header recorded for it."""
    described = header["arrays"]
    for name, array in arrays.items():
        info = described[name]
        if not isinstance(info, dict) or list(array.shape) != info.get("shape") or (
            array.dtype.str != info.get("dtype")
        ):
            raise ValueError(
                f"{where}: array {name!r} has shape {array.shape} and dtype {array.dtype.str}, "
                f"but the header records {info!r}; the file is corrupted."
            )
        if _sha256(array) != info.get("sha256"):
            raise ValueError(
                f"{where}: the checksum of array {name!r} does not match (SHA-256 "
                f"{_sha256(array)[:12]}..., recorded {str(info.get('sha256'))[:12]}...); "
                "the file is corrupted."
            )


def load(path: str | os.PathLike) -> NeuralNet:
    """Return the ``NeuralNet`` saved at ``path``, ready to predict or to resume training."""
    from neuralnet.model import NeuralNet

    path = _check_path(path)
    where = f"Cannot load {str(path)!r}"
    header, arrays = _read_archive(path)
    _check_header(header, arrays, where)
    try:
        model = NeuralNet.from_config(header["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: its architecture is invalid ({exc}).") from None
    dense = model.layers.dense
    names = sorted(n for n in arrays if n.startswith("weights_"))
    if set(names) != {f"weights_{l}" for l in range(len(dense))}:
        raise ValueError(
            f"{where}: the architecture has {len(dense)} dense layers, but the file holds "
            f"weight arrays {names}."
        )
    # Shapes against the architecture first: that says more than a failed checksum would.
    for l, layer in enumerate(dense):
        w = arrays[f"weights_{l}"]
        if w.shape != layer.weights.shape:
            raise ValueError(
                f"{where}: weights_{l} has shape {w.shape}, but layer {l} of the architecture "
                f"({layer!r}) needs {layer.weights.shape} (n_in + 1, n_out)."
            )
        if w.dtype != model.dtype:
            raise ValueError(
                f"{where}: weights_{l} has dtype {w.dtype}, but the architecture's dtype is "
                f"{model.dtype}."
            )
    _check_recorded(header, arrays, where)
    for l, layer in enumerate(dense):
        layer.weights = arrays[f"weights_{l}"]
    try:
        _restore_training_state(model, header, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: its training state is invalid ({exc}).") from None
    try:
        model.preprocessor, model.target_encoder = _tabular()._from_header(
            header.get("preprocessor"), model)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: its table preprocessing is invalid ({exc}).") from None
    return model


def _tabular():
    from neuralnet import tabular

    return tabular


def _restore_training_state(model, header: dict, arrays: dict[str, np.ndarray]) -> None:
    from neuralnet import optimizers as _optimizers

    epoch = header["epoch"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative integer, not {epoch!r}")
    model.epoch = epoch
    # Setting the state of the existing generator keeps it shared with the Dropout layers.
    model.rng.bit_generator.state = header["rng_state"]
    metadata = header.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a JSON object, not {type(metadata).__name__}")
    model.metadata = metadata
    record = header.get("optimizer")
    if record is None:
        return
    opt = _optimizers.get(dict(record["config"]))
    opt.iterations = int(record["iterations"])
    params = [model._flat_weights]
    if len(record["state"]) != len(params):
        raise ValueError(f"optimizer state for {len(record['state'])} parameters, expected 1")
    for p, (param, saved) in enumerate(zip(params, record["state"], strict=True)):
        if saved is None:
            continue
        state = {"shape": param.shape, **saved["scalars"]}
        for key in saved["arrays"]:
            value = arrays[f"optimizer_{p}_{key}"]
            if value.shape != param.shape or value.dtype != param.dtype:
                raise ValueError(
                    f"optimizer state {key!r} has shape {value.shape} and dtype {value.dtype}; "
                    f"expected {param.shape} and {param.dtype}"
                )
            state[key] = value.copy()
        if header["format_version"] == 1:
            _upgrade_format_1_state(opt, state)
        opt.state[id(param)] = state
    model.optimizer = opt


def _upgrade_format_1_state(opt, state: dict) -> None:
    """Format 1 kept Adam's moments ``m`` and ``v``; now the state holds their exponential sums.

    ``m = (1 - beta_1) m_sum`` and ``v = (1 - beta_2) v_sum`` (see ``optimizers.Adam``).
    """
    from neuralnet.optimizers import Adam

    if not isinstance(opt, Adam):
        return
    for old, new, beta in (("m", "m_sum", opt.beta_1), ("v", "v_sum", opt.beta_2),
                           ("v_max", "v_sum_max", opt.beta_2)):
        if old in state:
            moment = state.pop(old)
            state[new] = (moment / (1.0 - beta)).astype(moment.dtype)
