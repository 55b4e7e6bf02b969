"""Save and load a ``NeuralNet`` as one ``.npz`` file: safe to open, and nothing lost.

The file is a plain NumPy archive (``np.savez``, no pickle) holding

    header                 uint8 bytes of UTF-8 JSON: format and library versions, the
                           architecture (``NeuralNet.get_config()``), the optimizer's name,
                           config and scalar state, the epoch count, the random generator's
                           state, user metadata, for every array its shape, dtype and SHA-256
                           checksum, the SHA-256 of the header itself (``header_sha256``), and the
                           fitted table preprocessing (``neuralnet.tabular``, plain JSON)
    weights_<k>            array ``k`` of ``NeuralNet.get_weights()``: every layer's arrays in
                           order (its ``params``, then its ``state``), so a dense layer's
                           absorbed ``(n_in + 1, n_out)`` matrix, a normalisation layer's
                           scale, offset and moving statistics
    optimizer_<p>_<key>    the optimizer's state arrays (momentum, moments, ...) of parameter ``p``

Loading reads the archive through ``zipfile`` itself, never through ``np.load``, so that a
hostile file costs no more than an honest one of the same header:

- the header member is read only if it is at most ``MAX_HEADER_BYTES``; its JSON may nest at
  most ``MAX_HEADER_DEPTH`` deep (checked by a scan, before and without any recursion);
- a member the header does not list is refused before a byte of it is decompressed, and a
  listed one only if the zip directory's size for it is within what the header declares
  (shape x itemsize, plus the few bytes of the ``.npy`` preamble); the reader then stops at
  that size whatever the compressed stream holds, so a zip bomb inflates nothing;
- nothing is unpickled (an object array is refused from its ``.npy`` preamble) and nothing in
  the header is executed;
- every entry is checked against what it belongs to: weights against the architecture,
  every optimizer-state entry against its parameter (type, dtype, shape), the random state
  against the generator's own layout; the checksums last, so a hand-edited file is refused
  with a message naming the entry it got wrong rather than a checksum.

Every way a file can be wrong is a ``ValueError`` saying which file and why.

Saving is atomic: the archive is written to a temporary file beside the target, flushed to
disk, and renamed over it, so a failure or an interrupt mid-save leaves any previous file
untouched and no temporary file behind. Saving to a symbolic link writes the file the link
points to (the link stays); an existing file keeps its permission bits; errors name the path
given, never the temporary file. A temporary file left by a killed process is removed by the
next save to the same target (it never has the target's name, so it is never taken for it).

Adding a header key: ``_check_header`` ignores keys it does not know, and ``header_sha256``
covers every key, so a new key needs no registration here; a new kind of array member must be
claimed in ``load`` (see ``unused``), or it is refused as unexpected.
"""

from __future__ import annotations

import contextlib
import hashlib
import io as _io
import json
import os
import re
import secrets
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuralnet import _memory

if TYPE_CHECKING:
    from neuralnet.model import NeuralNet

__all__ = ["save", "load", "read_header", "FORMAT_VERSION", "MAX_HEADER_BYTES",
           "MAX_HEADER_DEPTH"]

FORMAT_NAME = "neuralnet.NeuralNet"
# Raise when the layout changes; a reader refuses files whose version is newer than its own.
# 2: Adam's state holds the exponential sums m_sum and v_sum (format 1 held m and v).
# 3: the header holds header_sha256, the SHA-256 of the rest of the header.
# The header may also say where in an epoch training stopped (batch, epoch_rng_state): files
# without them read as stopped at an epoch's end.
#    The table preprocessing has its own header key, "preprocessor" (neuralnet.tabular).
FORMAT_VERSION = 3
_HEADER = "header"
_HEADER_DIGEST = "header_sha256"
# A header larger or deeper than this is refused unread (and never written).
MAX_HEADER_BYTES = 16 * 2**20
MAX_HEADER_DEPTH = 64
# Magic (6 bytes), version (2), header length (2 or 4) and NumPy's largest accepted .npy header.
_MAX_NPY_PREAMBLE = 12 + 10_000
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _describe(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": _sha256(array)}


def _header_digest(header: dict) -> str:
    """The SHA-256 of ``header`` without its own digest, in one canonical JSON spelling."""
    rest = {k: v for k, v in header.items() if k != _HEADER_DIGEST}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike; received {type(path).__name__}."
        )
    return Path(path)


def _json_depth(text: str, limit: int) -> int:
    """Return how deep ``text``'s arrays and objects nest, or ``limit + 1`` once past ``limit``.

    A scan, not a parse: strings are blanked first (brackets inside them do not count), then
    the brackets are counted in one loop that stops as soon as the limit is passed.
    """
    brackets = re.sub(r'[^\[\]{}]+', "", re.sub(r'"[^"\\]*(?:\\.[^"\\]*)*"', "", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


# ------------------------------------------------------------------------ saving
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
    for p, param in enumerate([model.flat_weights]):
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


def _layer_arrays(model) -> dict[str, tuple]:
    """``weights_<k>`` -> (owner's index among the layers with arrays, the layer, the array)."""
    out, owner = {}, 0
    for layer in model.layers:
        arrays = (*layer.params.values(), *layer.state.values())
        for array in arrays:
            out[f"weights_{len(out)}"] = (owner, layer, array)
        owner += bool(arrays)
    return out


def _header(model, arrays: dict[str, np.ndarray]) -> dict:
    import neuralnet

    model.check_built()
    arrays.update({name: array for name, (_, _, array) in _layer_arrays(model).items()})
    optimizer = _optimizer_record(model, arrays)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neuralnet_version": neuralnet.__version__,
        "config": model.get_config(),
        "optimizer": optimizer,
        "epoch": int(model.epoch),
        "batch": int(getattr(model, "batch", 0)),
        "epoch_rng_state": getattr(model, "epoch_rng_state", None),
        "rng_state": model.rng.bit_generator.state,
        "metadata": getattr(model, "metadata", None) or {},
        "preprocessor": _tabular()._to_header(model),
        "arrays": {name: _describe(a) for name, a in arrays.items()},
    }
    try:
        header = json.loads(json.dumps(header, allow_nan=False))
    except RecursionError:
        raise ValueError(
            "Cannot save the model: its metadata nests too deeply for a model file "
            f"(at most {MAX_HEADER_DEPTH - 2} levels)."
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Cannot save the model: its configuration or metadata is not plain JSON data ({exc})."
        ) from None
    header[_HEADER_DIGEST] = _header_digest(header)
    return header


def _header_bytes(header: dict) -> bytes:
    """The header as UTF-8 JSON, refused if a reader would refuse it (too large, too deep)."""
    data = json.dumps(header).encode("utf-8")
    if len(data) > MAX_HEADER_BYTES:
        raise ValueError(
            f"Cannot save the model: its header would be {len(data):,} bytes, more than the "
            f"{MAX_HEADER_BYTES:,} a model file may hold; keep model.metadata small."
        )
    if _json_depth(data.decode("utf-8"), MAX_HEADER_DEPTH) > MAX_HEADER_DEPTH:
        raise ValueError(
            "Cannot save the model: its metadata nests too deeply for a model file "
            f"(at most {MAX_HEADER_DEPTH - 2} levels)."
        )
    return data


def _host_tag() -> str:
    node = os.uname().nodename if hasattr(os, "uname") else ""
    return hashlib.sha256(node.encode("utf-8", "replace")).hexdigest()[:8]


def _temporary_name(name: str) -> str:
    # Hidden, never the target's name, and traceable to its writer: host, process, random part.
    return f".{name}.{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _temporary_pattern(name: str) -> re.Pattern:
    return re.compile(rf"\.{re.escape(name)}\.([0-9a-f]{{8}})-([0-9]+)-[0-9a-f]{{8}}\.tmp")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: no signal sent, only the existence check
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's process
        return True
    return True


def _remove_stale_temporaries(directory: Path, name: str) -> None:
    """Remove temporary files of ``name`` left by a process of this host that no longer runs.

    A temporary file of a live writer (another thread of this process, another process, or
    another host sharing the folder) is left alone: removing it would fail that save.
    """
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return
    pattern, host = _temporary_pattern(name), _host_tag()
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None or match[1] != host:
            continue
        pid = int(match[2])
        if pid == os.getpid() or _process_exists(pid):
            continue
        with contextlib.suppress(OSError):
            os.unlink(directory / entry)


def _save_error(exc: OSError, path: Path, target: Path, tmp: Path) -> OSError:
    """``exc`` again, its message naming the path the user gave (never the temporary file)."""
    reason = exc.strerror or str(exc)
    reason = reason.replace(str(tmp), str(target))
    where = f"Cannot save the model to {str(path)!r}"
    if isinstance(exc, FileNotFoundError) and not target.parent.is_dir():
        message = f"{where}: the folder {str(target.parent)!r} does not exist."
    elif isinstance(exc, PermissionError):
        message = (f"{where}: permission denied ({reason}); the folder "
                   f"{str(target.parent)!r} must be writable.")
    else:
        message = f"{where}: {reason}. Any previous file there is untouched."
    new = type(exc)(message)
    new.errno = exc.errno
    return new


def save(model: NeuralNet, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically: a temporary file beside it, fsync, then rename.

    The file holds the architecture, every weight, the optimizer and its state, the epoch
    count and the random generator's state, so ``load(path).fit(...)`` continues training
    exactly where ``model`` stopped. A symbolic link is followed (the file it points to is
    replaced, the link stays); an existing file keeps its permission bits; a read-only one is
    refused, as any other writer would refuse it.
    """
    path = _check_path(path)
    arrays: dict[str, np.ndarray] = {}
    payload = np.frombuffer(_header_bytes(_header(model, arrays)), dtype=np.uint8)
    where = f"Cannot save the model to {str(path)!r}"
    target = Path(os.path.realpath(path))
    if target.is_symlink():
        raise OSError(f"{where}: the symbolic link does not resolve (a loop).")
    if target.is_dir():
        raise IsADirectoryError(f"{where}: it is a directory; give a file name such as "
                                f"{str(path / 'model.npz')!r}.")
    mode = None
    if target.exists():
        if not os.access(target, os.W_OK):
            raise PermissionError(f"{where}: the file exists and is read-only.")
        mode = os.stat(target).st_mode & 0o7777
    directory = target.parent
    _remove_stale_temporaries(directory, target.name)
    tmp = directory / _temporary_name(target.name)
    # Not tempfile.mkstemp: its files are private (0600); this one gets the usual permissions
    # (or, replacing a file, that file's).
    try:
        with open(tmp, "xb") as f:
            if mode is not None:
                os.chmod(f.fileno() if os.chmod in os.supports_fd else tmp, mode)
            np.savez(f, **{_HEADER: payload}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # KeyboardInterrupt too: no temporary file stays behind
        if not isinstance(exc, FileExistsError):  # the random name was taken: not our file
            with contextlib.suppress(OSError):  # gone already if the rename was done
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _save_error(exc, path, target, tmp) from None
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


# ----------------------------------------------------------------------- reading
class _Refused(Exception):
    """A file judged wrong while reading it; carries the final message."""


_PICKLE_MAGIC = b"\x80"  # the PROTO opcode every pickle since protocol 2 starts with
_ARCHIVE_MAGIC = (b"PK", b"\x93NUMPY")


def _pickled(where: str) -> str:
    return (
        f"{where}: it holds pickled Python objects, which could run arbitrary code when "
        "loaded; neuralnet model files never do, so it is refused."
    )


def _npy_preamble(stream, where: str, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read a ``.npy`` member's magic and header: its shape, Fortran order and dtype."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise _Refused(f"{where}: array {name!r} is in .npy format {version}, which "
                       "neuralnet never writes; the file is corrupted.")
    if dtype.hasobject:
        raise _Refused(_pickled(where))
    return shape, fortran, dtype


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, name: str):
    if info.flag_bits & 0x1:
        raise _Refused(f"{where}: array {name!r} is encrypted; neuralnet model files never are.")
    if info.compress_type not in _COMPRESSIONS:
        raise _Refused(
            f"{where}: array {name!r} uses zip compression method {info.compress_type}; "
            f"neuralnet reads only {' and '.join(_COMPRESSIONS.values())} members."
        )
    return archive.open(info)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, where: str,
                 name: str) -> np.ndarray:
    """Return the array in member ``info``, decompressing at most ``cap`` bytes of it."""
    if info.file_size > cap:
        raise _Refused(
            f"{where}: array {name!r} would inflate to {info.file_size:,} bytes, more than the "
            f"{cap:,} its header entry allows; refused without decompressing it."
        )
    with _open_member(archive, info, where, name) as member:
        data = member.read(info.file_size)  # stops there whatever the stream holds
        if len(data) != info.file_size or member.read(1):
            raise _Refused(f"{where}: array {name!r} is truncated; the file is corrupted.")
    stream = _io.BytesIO(data)
    shape, fortran, dtype = _npy_preamble(stream, where, name)
    count = int(np.prod(shape, dtype=object))
    offset = stream.tell()
    if len(data) - offset != count * dtype.itemsize:
        raise _Refused(
            f"{where}: array {name!r} holds {len(data) - offset:,} bytes of data, but its "
            f"shape {shape} and dtype {dtype.str} need {count * dtype.itemsize:,}; the file is "
            "corrupted."
        )
    if count == 0:
        return np.empty(shape, dtype=dtype)
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran else "C")


def _declared_size(info, where: str, name: str) -> int:
    """The bytes the header's record of an array says it holds; refuse a malformed record."""
    try:
        shape, dtype = info["shape"], np.dtype(info["dtype"])
        valid = (
            isinstance(info, dict) and isinstance(info["dtype"], str)
            and isinstance(info.get("sha256"), str)
            and isinstance(shape, list) and len(shape) <= 32
            and all(type(d) is int and d >= 0 for d in shape)
            and dtype.kind in "biuf" and dtype.names is None and dtype.subdtype is None
        )
    except Exception:  # any failure to read an untrusted record means damage
        valid = False
    if not valid:
        raise _Refused(f"{where}: the header's record of array {name!r} is malformed "
                       f"({str(info)[:200]}); the file is corrupted.")
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def _parse_header(raw: np.ndarray, where: str) -> dict:
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"header has dtype {raw.dtype} and shape {raw.shape}")
        text = raw.tobytes().decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Refused(f"{where}: its header is not valid JSON ({exc}).") from None
    if _json_depth(text, MAX_HEADER_DEPTH) > MAX_HEADER_DEPTH:
        raise _Refused(
            f"{where}: its header nests more than {MAX_HEADER_DEPTH} levels deep; neuralnet "
            "never writes such a header, so it is refused unparsed."
        )

    def no_constant(name):  # NaN and Infinity are not JSON, and neuralnet never writes them
        raise ValueError(f"{name} is not a JSON number")

    try:
        header = json.loads(text, parse_constant=no_constant)
    except (ValueError, RecursionError) as exc:
        raise _Refused(f"{where}: its header is not valid JSON ({exc}).") from None
    if not isinstance(header, dict):
        raise _Refused(f"{where}: its header is not valid JSON (header is a JSON "
                       f"{type(header).__name__}, not an object).")
    return header


def _members(archive: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    members = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if name in members:
            raise _Refused(f"{where}: it holds two members named {info.filename!r}; the file "
                           "is corrupted.")
        members[name] = info
    return members


def _refuse_non_model_archive(archive, members: dict, where: str) -> None:
    # Say whether an archive that is not a model file holds pickled objects: from each
    # member's .npy preamble only, a few hundred bytes at most.
    for name, info in members.items():
        with _open_member(archive, info, where, name) as member:
            with contextlib.suppress(ValueError, EOFError):
                _npy_preamble(_io.BytesIO(member.read(_MAX_NPY_PREAMBLE)), where, name)
    raise _Refused(
        f"{where}: it is a NumPy archive but not a neuralnet model file "
        f"(no '{_HEADER}' entry; it holds {sorted(members)[:5]})."
    )


def _read_model_archive(f, where: str, header_only: bool = False):
    """Return the header and the arrays it lists (or the header alone) of the open file ``f``."""
    magic = f.read(6)
    f.seek(0)
    # NumPy treats every file that is neither .npy nor .npz as a pickle; say which it is.
    if magic.startswith(_PICKLE_MAGIC):
        raise _Refused(_pickled(where))
    if magic and not magic.startswith(_ARCHIVE_MAGIC):
        raise _Refused(f"{where}: it is not a neuralnet model file (not a NumPy .npz archive).")
    if magic.startswith(b"\x93NUMPY"):
        raise _Refused(f"{where}: it is a single .npy array, not a neuralnet model file (.npz).")
    with zipfile.ZipFile(f) as archive:
        members = _members(archive, where)
        if _HEADER not in members:
            _refuse_non_model_archive(archive, members, where)
        info = members.pop(_HEADER)
        if info.file_size > MAX_HEADER_BYTES + _MAX_NPY_PREAMBLE:
            raise _Refused(
                f"{where}: its header is {info.file_size:,} bytes, more than the "
                f"{MAX_HEADER_BYTES:,} a model file may hold; refused without reading it."
            )
        header = _parse_header(
            _read_member(archive, info, MAX_HEADER_BYTES + _MAX_NPY_PREAMBLE, where, _HEADER),
            where,
        )
        _check_header(header, set(members), where)
        if header_only:
            return header, {}
        arrays = {}
        for name, info in members.items():
            cap = _declared_size(header["arrays"][name], where, name) + _MAX_NPY_PREAMBLE
            arrays[name] = _read_member(archive, info, cap, where, name)
    return header, arrays


def _read_archive(path: Path, header_only: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
    """Return the header and every array, or raise ``ValueError`` naming what is wrong."""
    where = f"Cannot load {str(path)!r}"
    try:
        f = open(path, "rb")  # closed by the with below
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file.") from None
    except IsADirectoryError:
        raise ValueError(f"{where}: it is a directory, not a model file.") from None
    except PermissionError:
        raise PermissionError(f"{where}: permission denied (the file is not readable).") from None
    except OSError as exc:  # e.g. a path through a file, a name too long
        raise type(exc)(f"{where}: {exc.strerror or exc}.") from None
    with f:
        try:
            return _read_model_archive(f, where, header_only)
        except _Refused as exc:
            raise ValueError(str(exc)) from None
        except MemoryError:
            raise
        except Exception as exc:  # any failure to parse an untrusted file means damage
            if "CRC" in str(exc):  # the archive's own CRC-32 of a member
                raise ValueError(
                    f"{where}: the file is corrupted: a checksum does not match ({exc})."
                ) from None
            raise ValueError(
                f"{where}: the file is corrupted or truncated ({type(exc).__name__}: {exc})."
            ) from None


def read_header(path: str | os.PathLike) -> dict:
    """Return the JSON header of the model file at ``path`` (format, versions, architecture).

    Reads and checks the header only, not the arrays; ``load`` checks everything.
    """
    path = _check_path(path)
    header, _ = _read_archive(path, header_only=True)
    return header


def _check_header(header: dict, names: set[str], where: str) -> None:
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
    if not isinstance(described, dict) or set(described) != names:
        listed = sorted(described) if isinstance(described, dict) else described
        raise ValueError(
            f"{where}: the header lists arrays {listed}, but the file holds {sorted(names)}; "
            "the arrays it does not list were not read."
        )


def _check_recorded(header: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    """Check every array against the shape, dtype and SHA-256 the header recorded for it."""
    described = header["arrays"]
    for name, array in arrays.items():
        info = described[name]
        if list(array.shape) != info["shape"] or array.dtype.str != info["dtype"]:
            raise ValueError(
                f"{where}: array {name!r} has shape {array.shape} and dtype {array.dtype.str}, "
                f"but the header records {info!r}; the file is corrupted."
            )
        if _sha256(array) != info["sha256"]:
            raise ValueError(
                f"{where}: the checksum of array {name!r} does not match (SHA-256 "
                f"{_sha256(array)[:12]}..., recorded {str(info['sha256'])[:12]}...); "
                "the file is corrupted."
            )


def _check_architecture_size(config, described: dict, where: str) -> None:
    """Refuse, before building it, an architecture larger than the weights the file holds.

    Without this a few bytes of header (``n_in: 10**6, n_out: 10**6``) would allocate
    terabytes; the weights the header declares were already bounded by the file's size. A
    small excess is let through to the checks after building, whose messages say more (which
    layer does not fit).
    """
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        return  # from_config says what is wrong

    need, previous = 0, None
    for c in layers:
        n_in, n_out = (c.get("n_in"), c.get("n_out")) if isinstance(c, dict) else (None, None)
        if n_in is None:  # a layer that learns its input size takes the one before it
            n_in = previous
        if all(type(v) is int and v > 0 for v in (n_in, n_out)):
            need += (n_in + 1) * n_out
        if type(n_out) is int:
            previous = n_out
    have = sum(int(np.prod(info["shape"], dtype=object)) for name, info in described.items()
               if name.startswith("weights_"))
    if need > 2 * have + 2**20:
        raise ValueError(
            f"{where}: its architecture has {need:,} weights, but the file's weight arrays "
            f"hold {have:,}; the file is corrupted."
        )


def load(path: str | os.PathLike) -> NeuralNet:
    """Return the ``NeuralNet`` saved at ``path``, ready to predict or to resume training."""
    from neuralnet.model import NeuralNet

    path = _check_path(path)
    where = f"Cannot load {str(path)!r}"
    header, arrays = _read_archive(path)
    _check_architecture_size(header.get("config"), header["arrays"], where)
    try:
        model = NeuralNet.from_config(header.get("config"))
    except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise ValueError(f"{where}: its architecture is invalid ({exc}).") from None
    expected = _layer_arrays(model)
    names = sorted(n for n in arrays if n.startswith("weights_"))
    if set(names) != set(expected):
        raise ValueError(
            f"{where}: the architecture's layers hold {len(expected)} arrays "
            f"{sorted(expected)}, but the file holds weight arrays {names}."
        )
    # Shapes against the architecture first: that says more than a failed checksum would.
    for name, (owner, layer, target) in expected.items():
        w = arrays[name]
        if w.shape != target.shape:
            raise ValueError(
                f"{where}: {name} has shape {w.shape}, but layer {owner} of the architecture "
                f"({layer!r}) needs {target.shape}"
                + (" (n_in + 1, n_out)." if target is layer.params.get("weights") else ".")
            )
        if w.dtype != model.dtype:
            raise ValueError(
                f"{where}: {name} has dtype {w.dtype}, but the architecture's dtype is "
                f"{model.dtype}."
            )
    _check_recorded(header, arrays, where)
    for name, (_, _, target) in expected.items():
        target[...] = arrays[name]
    used = set(names)
    try:
        used |= _restore_training_state(model, header, arrays)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"{where}: its training state is invalid ({exc}).") from None
    unused = sorted(set(arrays) - used)
    if unused:
        raise ValueError(f"{where}: it holds arrays {unused} that no part of the model uses; "
                         "the file is corrupted.")
    if header["format_version"] >= 3 and header.get(_HEADER_DIGEST) != _header_digest(header):
        raise ValueError(
            f"{where}: the checksum of its header does not match (SHA-256 "
            f"{_header_digest(header)[:12]}..., recorded {str(header.get(_HEADER_DIGEST))[:12]}"
            "...): the header was edited or damaged."
        )
    try:
        model.preprocessor, model.target_encoder = _tabular()._from_header(
            header.get("preprocessor"), model)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: its table preprocessing is invalid ({exc}).") from None
    return model


def _tabular():
    from neuralnet import tabular

    return tabular


# ------------------------------------------------------------- training state
def _check_int(value, what: str, low: int = 0, high: int | None = None) -> int:
    if type(value) is not int or value < low or (high is not None and value > high):
        bound = ("a non-negative integer" if low == 0 else f"an integer >= {low}") + (
            f" no larger than {high}" if high is not None else "")
        raise ValueError(f"{what} must be {bound}, not {value!r}")
    return value


def _same_layout(value, like) -> bool:
    """Whether JSON ``value`` has the layout of ``like``: same keys, same types, same names."""
    if isinstance(like, dict):
        return (isinstance(value, dict) and value.keys() == like.keys()
                and all(_same_layout(value[k], like[k]) for k in like))
    if isinstance(like, str):
        return value == like
    return type(value) is type(like)


def _set_rng_state(rng: np.random.Generator, state, what: str) -> None:
    """Set ``rng``'s state to JSON ``state``, refusing anything NumPy would reject or bend."""
    like = np.random.default_rng(0).bit_generator.state
    if not _same_layout(state, like):
        raise ValueError(
            f"{what} must be a {like['bit_generator']} state with the keys and types of "
            f"{like!r}; the file holds {str(state)[:200]}"
        )
    try:
        rng.bit_generator.state = state
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{what} is not a valid generator state ({exc})") from None
    if rng.bit_generator.state != state:  # a value NumPy truncated or wrapped
        raise ValueError(f"{what} holds values out of the generator's range")


def _state_template(opt, dtype: np.dtype) -> dict:
    """The state ``opt`` keeps for a parameter once it has stepped: a probe of its own kind."""
    from neuralnet import optimizers as _optimizers

    probe = _optimizers.get(opt.get_config())
    p = np.zeros(1, dtype=dtype)
    probe.step([p], [np.zeros_like(p)])
    return probe.state[id(p)]


def _restore_optimizer_state(opt, param: np.ndarray, p: int, saved, arrays: dict,
                             version: int) -> tuple[dict, set[str]]:
    """Return the state of parameter ``p`` from its saved record, each entry checked.

    Every entry the optimizer keeps must be there, of the type it keeps: an array of the
    parameter's shape and dtype, finite, or an integer step count. Nothing else may be.
    """
    if not (isinstance(saved, dict) and saved.keys() == {"scalars", "arrays"}
            and isinstance(saved["scalars"], dict) and isinstance(saved["arrays"], list)
            and all(isinstance(k, str) for k in saved["arrays"])):
        raise ValueError(
            f"optimizer state of parameter {p} must be {{'scalars': {{...}}, 'arrays': [names]}}, "
            f"not {str(saved)[:200]}"
        )
    state, used = dict(saved["scalars"]), set()
    for key in saved["arrays"]:
        member = f"optimizer_{p}_{key}"
        if key in state or key == "shape":
            raise ValueError(f"optimizer state entry {key!r} of parameter {p} is given twice")
        if member not in arrays:
            raise ValueError(f"optimizer state entry {key!r} names the array {member!r}, which "
                             "the file does not hold")
        state[key] = arrays[member]
        used.add(member)
    if version == 1:
        _upgrade_format_1_state(opt, state)
    template = _state_template(opt, param.dtype)
    kept = [k for k in template if k != "shape"]
    for key in state:
        if key not in template or key == "shape":
            raise ValueError(
                f"optimizer state entry {key!r} of parameter {p} is not one {opt.name} keeps "
                f"(it keeps {', '.join(kept)})"
            )
    for key in kept:
        if key not in state:
            raise ValueError(f"optimizer state of parameter {p} lacks the entry {key!r} that "
                             f"{opt.name} keeps")
        value = state[key]
        if isinstance(template[key], np.ndarray):
            if not isinstance(value, np.ndarray):
                raise ValueError(
                    f"optimizer state entry {key!r} of parameter {p} must be an array of shape "
                    f"{param.shape} and dtype {param.dtype}; the file holds {value!r} of type "
                    f"{type(value).__name__}"
                )
            if value.shape != param.shape or value.dtype != param.dtype:
                raise ValueError(
                    f"optimizer state {key!r} has shape {value.shape} and dtype {value.dtype}; "
                    f"expected {param.shape} and {param.dtype}"
                )
            if not np.isfinite(value).all():
                raise ValueError(f"optimizer state entry {key!r} of parameter {p} holds NaN or "
                                 "infinite values")
            state[key] = _memory.copy(value)  # writable, on a cache line as a fit's own
        elif key == "step":
            _check_int(value, f"optimizer state entry 'step' of parameter {p}",
                       high=opt.iterations)
        elif type(value) is not type(template[key]):
            raise ValueError(
                f"optimizer state entry {key!r} of parameter {p} must be of type "
                f"{type(template[key]).__name__}; the file holds {value!r}"
            )
    state["shape"] = param.shape
    return state, used


def _restore_training_state(model, header: dict, arrays: dict[str, np.ndarray]) -> set[str]:
    """Restore epoch, random state, metadata and optimizer; return the arrays it used."""
    from neuralnet import optimizers as _optimizers

    model.epoch = _check_int(header.get("epoch"), "epoch")
    model.batch = _check_int(header.get("batch", 0), "batch")
    epoch_rng_state = header.get("epoch_rng_state")
    if epoch_rng_state is not None:
        _set_rng_state(np.random.default_rng(), epoch_rng_state, "epoch_rng_state")
    model.epoch_rng_state = epoch_rng_state
    # Setting the state of the existing generator keeps it shared with the Dropout layers.
    _set_rng_state(model.rng, header.get("rng_state"), "rng_state")
    metadata = header.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a JSON object, not {type(metadata).__name__}")
    model.metadata = metadata
    record = header.get("optimizer")
    if record is None:
        return set()
    if not (isinstance(record, dict) and record.keys() == {"config", "iterations", "state"}
            and isinstance(record["config"], dict) and isinstance(record["state"], list)):
        raise ValueError(
            "optimizer must be {'config': {...}, 'iterations': n, 'state': [...]}, not "
            f"{str(record)[:200]}"
        )
    opt = _optimizers.get(dict(record["config"]))
    opt.iterations = _check_int(record["iterations"], "optimizer iterations")
    params = [model.flat_weights]
    if len(record["state"]) != len(params):
        raise ValueError(f"optimizer state for {len(record['state'])} parameters, expected 1")
    used = set()
    for p, (param, saved) in enumerate(zip(params, record["state"], strict=True)):
        if saved is None:
            continue
        state, members = _restore_optimizer_state(opt, param, p, saved, arrays,
                                                  header["format_version"])
        opt.state[id(param)] = state
        used |= members
    model.optimizer = opt
    return used


def _upgrade_format_1_state(opt, state: dict) -> None:
    """Format 1 kept Adam's moments ``m`` and ``v``; now the state holds their exponential sums.

    ``m = (1 - beta_1) m_sum`` and ``v = (1 - beta_2) v_sum`` (see ``optimizers.Adam``).
    """
    from neuralnet.optimizers import Adam

    if not isinstance(opt, Adam):
        return
    for old, new, beta in (("m", "m_sum", opt.beta_1), ("v", "v_sum", opt.beta_2),
                           ("v_max", "v_sum_max", opt.beta_2)):
        if isinstance(state.get(old), np.ndarray) and new not in state:
            moment = state.pop(old)
            state[new] = (moment / (1.0 - beta)).astype(moment.dtype)
