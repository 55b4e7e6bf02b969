"""Serve a ``NeuralNet``'s predictions over HTTP with FastAPI and uvicorn (extra ``serve``).

    GET  /health    200 {"status": "ok", "model": {"n_features": 2, "n_outputs": 1, "task": ...}}
    POST /predict   {"instances": [[x_1, ..., x_n], ...]}
                    -> 200 {"predictions": [[...], ...], "labels": [...]}

``predictions`` are what ``model.predict`` returns, row by row; ``labels`` (classifiers only)
what ``predict_classes`` returns. A model trained by ``neuralnet train`` keeps the scaling it
applied and its column names (``model.metadata``): the server then standardises the instances
as ``neuralnet predict`` does, and also takes each instance as an object ``{"column": value}``.

Every mistake of the client gets a 400 with ``{"error": "..."}`` saying what is wrong and
where: a body that is not JSON, a key other than ``instances``, an empty list, an instance of
the wrong length, a string, a boolean or null where a number belongs, NaN or an infinity (JSON
has neither, but Python's parser would accept ``NaN``), a number beyond the model's float
range, and a body over ``max_body_bytes`` (a 400 too, not a 413: the one status for every bad
request, the error naming the limit). Unknown paths get a 404, wrong methods a 405, both with
``{"error": ...}``; a 500 would be the server's own fault, never the client's.

``run`` serves with uvicorn, logs one line per request (at INFO, so ``log_level="warning"``
silences them) and stops cleanly on SIGTERM or Ctrl-C, exiting 0.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fastapi import FastAPI

    from neuralnet.model import NeuralNet

__all__ = ["create_app", "run", "DEFAULT_MAX_BODY_BYTES"]

DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: 64 rows of 784 pixels with 4 decimals fit
_EXTRA = 'pip install "neuralnet[serve]"'
# Rows x parameters up to which /predict computes in the event loop itself: about 0.2 ms of
# products (one row through the 235,146-parameter mnist network); more goes to a thread.
_INLINE_WORK = 300_000
logger = logging.getLogger("neuralnet.serve")


def _import_fastapi():
    try:
        import fastapi
    except ImportError as exc:
        raise ImportError(
            f"neuralnet serve needs FastAPI and uvicorn; install them with: {_EXTRA}"
        ) from exc
    return fastapi


def _import_for_run(blas_threads):
    """Import uvicorn (and threadpoolctl when the BLAS threads are capped) or say what to install."""
    try:
        import uvicorn

        if blas_threads is not None:
            import threadpoolctl  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"neuralnet serve needs FastAPI, uvicorn and threadpoolctl ({exc.name} is missing); "
            f"install them with: {_EXTRA}"
        ) from exc
    return uvicorn


class BadRequest(ValueError):
    """A client's mistake: answered with a 400 and ``{"error": str(exc)}``."""


class _NonFinite:
    """What the JSON parser returns for ``NaN``, ``Infinity`` and ``-Infinity``: refused later."""

    def __init__(self, text: str) -> None:
        self.text = text


def _json_kind(value) -> str:
    """The JSON name of a parsed value, for error messages: 'a string', 'an array', ..."""
    if isinstance(value, _NonFinite):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


def parse_body(body: bytes) -> Any:
    """Return the parsed JSON of ``body``; ``NaN`` and ``Infinity`` come back as markers."""
    if not body.strip():
        raise BadRequest('The request body is empty; expected JSON {"instances": [[...], ...]}.')
    try:
        return json.loads(body, parse_constant=_NonFinite)
    except RecursionError:
        raise BadRequest("The request body is nested too deeply to be a batch of instances.") \
            from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes not UTF-8
        raise BadRequest(
            f'The request body is not valid JSON ({exc}); expected {{"instances": [[...], ...]}}.'
        ) from None


class Predictor:
    """Turn a request's instances into the model's inputs, and its outputs into the response.

    A table model (one whose preprocessing takes named, possibly categorical columns) gets a
    predictor of its own that overrides ``rows``; ``predictor_for`` picks it.
    """

    def __init__(self, model: NeuralNet) -> None:
        self.model = model
        self.n_features = model.n_features
        meta = getattr(model, "metadata", None) or {}
        names = meta.get("feature_names")
        self.feature_names = list(names) if names and len(names) == self.n_features else None
        scaling = meta.get("scaling")
        self.scaling = None if scaling is None else (
            np.asarray(scaling["mean"], dtype=np.float64),
            np.asarray(scaling["scale"], dtype=np.float64),
        )
        from neuralnet.onnx_export import _task

        self.task = _task(model)
        self.max_value = float(np.finfo(model.dtype).max)
        # predict reuses per-layer work buffers, so one request at a time goes through it.
        self._lock = threading.Lock()

    def describe(self) -> dict:
        info = {"n_features": self.n_features, "n_outputs": self.model.n_outputs,
                "task": self.task}
        if self.feature_names:
            info["feature_names"] = self.feature_names
        return info

    # ------------------------------------------------------------ the request
    def rows(self, payload: Any, body: bytes | None = None) -> np.ndarray:
        """Return the instances of ``payload`` as ``(n_instances, n_features)`` floats.

        ``body`` is the JSON text ``payload`` was parsed from, when known: without the words
        ``true``, ``false`` and ``null`` in it, no instance can hold a boolean or a null, and
        NumPy alone tells numbers from anything else.
        """
        instances = self._instances(payload)
        literals = body is None or b"true" in body or b"false" in body or b"null" in body
        X = self._fast_rows(instances, literals)
        if X is None:
            X = np.array([self._row(i, row) for i, row in enumerate(instances)], dtype=np.float64)
        self._check_range(X)
        return X

    def _instances(self, payload: Any) -> list:
        expected = '{"instances": [[...], ...]}'
        if not isinstance(payload, dict):
            raise BadRequest(f"The request body is {_json_kind(payload)}; expected an object {expected}.")
        if "instances" not in payload:
            keys = ", ".join(json.dumps(k) for k in payload) or "none"
            raise BadRequest(f'The request has no "instances" key (keys: {keys}); expected {expected}.')
        unknown = [k for k in payload if k != "instances"]
        if unknown:
            keys = ", ".join(json.dumps(k) for k in unknown)
            raise BadRequest(f'Unknown key(s) {keys} in the request; it takes only "instances".')
        instances = payload["instances"]
        if not isinstance(instances, list):
            raise BadRequest(
                f'"instances" is {_json_kind(instances)}; expected an array of instances, each '
                f"{self._instance_shape()}."
            )
        if not instances:
            raise BadRequest('"instances" is empty; send at least one instance.')
        return instances

    def _instance_shape(self) -> str:
        shape = f"an array of {self.n_features} numbers"
        if self.feature_names:
            shape += " or an object {" + ", ".join(f'"{n}": number' for n in self.feature_names[:3])
            shape += ", ...}" if len(self.feature_names) > 3 else "}"
        return shape

    def _fast_rows(self, instances: list, literals: bool) -> np.ndarray | None:
        """The common case (arrays of plain numbers) in a few C loops; None to check one by one."""
        if not all(type(row) is list and len(row) == self.n_features for row in instances):
            return None
        if literals:
            # NumPy would take True for 1 and None for NaN: check every value's type first.
            if not {type(v) for v in itertools.chain.from_iterable(instances)} <= {int, float}:
                return None
            try:
                X = np.array(instances, dtype=np.float64)
            except OverflowError:  # an integer beyond float range
                return None
        else:
            # Only numbers give an integer or float array: a string makes it a string array,
            # a NaN marker or a huge integer an object array.
            try:
                X = np.array(instances)
            except (ValueError, OverflowError):  # an array or object inside an instance
                return None
            if X.dtype.kind not in "if" or X.shape != (len(instances), self.n_features):
                return None
            X = X.astype(np.float64, copy=False)
        return X if np.isfinite(X).all() else None

    def _row(self, i: int, row: Any) -> list[float]:
        where = f"instances[{i}]"
        if isinstance(row, dict):
            if self.feature_names is None:
                raise BadRequest(
                    f"{where} is an object, but this model has no named columns; send "
                    f"{self._instance_shape()}."
                )
            missing = [n for n in self.feature_names if n not in row]
            unknown = [k for k in row if k not in self.feature_names]
            if missing or unknown:
                problems = []
                if missing:
                    problems.append("lacks the column(s) " + ", ".join(json.dumps(n) for n in missing))
                if unknown:
                    problems.append("has unknown column(s) " + ", ".join(json.dumps(k) for k in unknown))
                raise BadRequest(
                    f"{where} {' and '.join(problems)}; the model's columns are "
                    f"{', '.join(self.feature_names)}."
                )
            return [self._number(f"{where}[{json.dumps(n)}]", row[n]) for n in self.feature_names]
        if not isinstance(row, list):
            raise BadRequest(f"{where} is {_json_kind(row)}; expected {self._instance_shape()}.")
        if len(row) != self.n_features:
            raise BadRequest(
                f"{where} has {len(row)} value(s), but the model takes {self.n_features} "
                f"feature(s)."
            )
        return [self._number(f"{where}[{j}]", v) for j, v in enumerate(row)]

    def _number(self, where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, _NonFinite):
                raise BadRequest(f"{where} is {value.text}; expected a finite number "
                                 "(JSON has no NaN or Infinity).")
            raise BadRequest(f"{where} is {_json_kind(value)}; expected a number.")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise BadRequest(f"{where} is too large: it overflows to infinity; expected a "
                             "finite number.")
        return number

    def _check_range(self, X: np.ndarray) -> None:
        """Refuse numbers a float32 model cannot hold (they would become infinities)."""
        outside = np.abs(X) > self.max_value
        if outside.any():
            i, j = np.argwhere(outside)[0]
            raise BadRequest(
                f"instances[{i}][{j}] is {X[i, j]:.6g}, beyond the model's {self.model.dtype.name} "
                f"range (largest magnitude {self.max_value:.6g})."
            )

    # ------------------------------------------------------------- the answer
    def predict(self, X: np.ndarray) -> dict:
        """Return ``{"predictions": ..., "labels": ...}`` for the rows ``X``."""
        if self.scaling is not None:
            X = (X - self.scaling[0]) / self.scaling[1]
        with self._lock:
            try:
                outputs = self.model.predict(X)
            except ValueError as exc:  # e.g. outputs overflowing for extreme inputs
                raise BadRequest(f"The model cannot predict these instances: {exc}") from None
        response = {"predictions": outputs.tolist()}
        if self.task != "regression":
            response["labels"] = self._labels(outputs).tolist()
        return response

    def _labels(self, outputs: np.ndarray) -> np.ndarray:
        # NeuralNet.predict_classes's rule, applied to the outputs already computed.
        if self.task == "multiclass":
            return outputs.argmax(axis=1)
        labels = (outputs >= 0.5).astype(np.int64)
        return labels[:, 0] if self.task == "binary" else labels


class TablePredictor(Predictor):
    """A table model's predictor: each instance an object of raw column values.

    Numbers, booleans and strings as the table held them, ``null`` (or "") for a gap; the
    model's preprocessing encodes them as ``neuralnet predict`` does, and the answers are in the
    target's labels or units, equal to ``model.predict(table)``.
    """

    def __init__(self, model: NeuralNet) -> None:
        super().__init__(model)
        self.feature_names = list(model.preprocessor.columns_)
        self.n_features = len(self.feature_names)
        self.scaling = None

    def rows(self, payload: Any, body: bytes | None = None):
        import pandas as pd

        instances = self._instances(payload)
        for i, row in enumerate(instances):
            if not isinstance(row, dict):
                raise BadRequest(
                    f"instances[{i}] is {_json_kind(row)}; this model takes objects of column "
                    f"values {{{', '.join(json.dumps(n) + ': ...' for n in self.feature_names)}}}."
                )
            missing = [n for n in self.feature_names if n not in row]
            if missing:
                raise BadRequest(
                    f"instances[{i}] lacks the column(s) "
                    f"{', '.join(json.dumps(n) for n in missing)}; the model's columns are "
                    f"{', '.join(self.feature_names)}."
                )
            for name in self.feature_names:
                value = row[name]
                if isinstance(value, (dict, list)) or (
                        isinstance(value, float) and not np.isfinite(value)):
                    raise BadRequest(
                        f"instances[{i}][{json.dumps(name)}] is {json.dumps(value)[:40]}; expected "
                        "a number, a boolean, a string or null."
                    )
        return pd.DataFrame([{n: row[n] for n in self.feature_names} for row in instances])

    def predict(self, X) -> dict:
        with self._lock:
            try:
                outputs = self.model.predict(X)
                labels = self.model.predict_classes(X) if self.task != "regression" else None
            except (TypeError, ValueError) as exc:  # a string where a number belongs, ...
                raise BadRequest(f"The model cannot predict these instances: {exc}") from None
        response = {"predictions": np.asarray(outputs).tolist()}
        if labels is not None:
            response["labels"] = np.asarray(labels, dtype=object).tolist()
        return response


def predictor_for(model) -> Predictor:
    """Return the ``Predictor`` for ``model``: a table model's takes objects of raw columns."""
    if getattr(model, "preprocessor", None) is not None:
        return TablePredictor(model)
    return Predictor(model)


def _load(model) -> NeuralNet:
    from neuralnet.model import NeuralNet

    if isinstance(model, (str, os.PathLike)):
        from neuralnet import io

        model = io.load(model)
    if not isinstance(model, NeuralNet):
        raise TypeError(
            f"model must be a NeuralNet or the path of a saved one; received "
            f"{type(model).__name__}."
        )
    model._check_ready()
    return model


# ----------------------------------------------------------------------- the app
class _RequestLog:
    """ASGI middleware: one log line per request, with its status, time and outcome."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = [500]

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            if logger.isEnabledFor(logging.INFO):
                client = scope.get("client")
                who = f"{client[0]}:{client[1]}" if client else "-"
                note = scope.get("neuralnet.note", "")
                logger.info('%s "%s %s" %d %.2f ms%s', who, scope["method"], scope["path"],
                            status[0], (time.perf_counter() - start) * 1e3,
                            f" {note}" if note else "")


async def _read_body(request, limit: int) -> bytes:
    """Return the body, refusing one over ``limit`` bytes before reading it all in."""
    too_large = ("The request body has {} bytes, over this server's limit of {} bytes "
                 "(--max-body-bytes); send fewer instances per request.")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise BadRequest(too_large.format(f"{int(length):,}", f"{limit:,}"))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(too_large.format(f"more than {limit:,}", f"{limit:,}"))
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(model: NeuralNet | str | os.PathLike, *,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """Return the FastAPI app serving ``model`` (a ``NeuralNet`` or the path of a saved one).

    ``max_body_bytes`` bounds a request's body; a larger one gets a 400 naming the limit.
    """
    fastapi = _import_fastapi()
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(
            f"Received an invalid value for `max_body_bytes`, expected a positive integer. "
            f"Received: max_body_bytes={max_body_bytes!r}"
        )
    predictor = predictor_for(_load(model))
    app = fastapi.FastAPI(title="neuralnet", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.predictor = predictor

    def error(request, status: int, message: str) -> JSONResponse:
        request.scope["neuralnet.note"] = f"error: {message}"
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(BadRequest)
    async def bad_request(request, exc):
        return error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        # FastAPI's own 422 (no route here declares a schema, but a future one might).
        return error(request, 400, f"Invalid request: {exc.errors()}")

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        message = {404: f"No such path {request.url.path!r}; the paths are /health and /predict.",
                   405: f"{request.method} is not allowed on {request.url.path}."}.get(
            exc.status_code, str(exc.detail))
        return error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def internal(request, exc):
        logger.exception("internal error while answering %s %s", request.method, request.url.path)
        return error(request, 500, "Internal server error; the server's log has the details.")

    # Plain Starlette routes: the endpoints read the raw request themselves, so no FastAPI
    # signature inspection (and no 422) stands between a client and its 400.
    async def health(request):
        return JSONResponse({"status": "ok", "model": predictor.describe()})

    async def predict(request):
        body = await _read_body(request, max_body_bytes)
        X = predictor.rows(parse_body(body), body)
        request.scope["neuralnet.note"] = f"{len(X)} instance{'s' if len(X) != 1 else ''}"
        if len(X) * predictor.model.n_params <= _INLINE_WORK:
            # A small batch costs less than handing it to a worker thread and back (about half
            # of a one-row request's time went to that hand-over).
            return JSONResponse(predictor.predict(X))
        # A larger one goes to a worker thread, so the server keeps answering meanwhile.
        return JSONResponse(await run_in_threadpool(predictor.predict, X))

    app.add_route("/health", health, methods=["GET"])
    app.add_route("/predict", predict, methods=["POST"])
    app.add_middleware(_RequestLog)
    return app


# ----------------------------------------------------------------------- the server
def _bind(host: str, port: int) -> socket.socket:
    """Return a listening socket on ``host:port`` (port 0: a free one), or a clear OSError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise OSError(f"Cannot listen on {host!r}: {exc.strerror}.") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


class _ShortNames(logging.Filter):
    """Show uvicorn's server messages as ``uvicorn``, not ``uvicorn.error`` (its logger's name)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error":
            record.name = "uvicorn"
        return True


def _configure_logging(level: str):
    """Log the server's lines to stderr at ``level``; return a function that undoes it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_ShortNames())
    saved = []
    for name in ("neuralnet.serve", "uvicorn"):
        log = logging.getLogger(name)
        saved.append((log, log.handlers[:], log.level, log.propagate))
        log.handlers[:] = [handler]
        log.setLevel(level.upper())
        log.propagate = False

    def restore() -> None:
        for log, handlers, lvl, propagate in saved:
            log.handlers[:], log.level, log.propagate = handlers, lvl, propagate

    return restore


def run(model: NeuralNet | str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, *,
        log_level: str = "info", max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        blas_threads: int | None = None, model_name: str | None = None) -> int:
    """Serve ``model`` on ``host:port`` until SIGTERM or Ctrl-C; return 0 after a clean stop.

    ``blas_threads`` caps the BLAS library's threads while serving (``None``, the default,
    leaves them, so the answers are bit for bit those of ``predict`` in this process). One
    thread serves concurrent requests faster (they keep the other cores busy parsing JSON,
    where an idle OpenBLAS worker spins on a core after every product; see
    ``benchmarks/serve_load.py``), but OpenBLAS then sums a large product in another order,
    so outputs may differ from a multi-threaded ``predict`` in the last bits (about 1e-7).
    """
    # Until uvicorn takes the signals over, a SIGTERM (say, during start-up) stops cleanly too.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        return _run(model, host, port, log_level, max_body_bytes, blas_threads, model_name)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_cleanly(sig, frame):
    raise SystemExit(0)


def _run(model, host, port, log_level, max_body_bytes, blas_threads, model_name) -> int:
    if log_level not in ("debug", "info", "warning", "error"):
        raise ValueError(
            f"Received an invalid value for `log_level`, expected 'debug', 'info', 'warning' or "
            f"'error'. Received: log_level={log_level!r}"
        )
    if blas_threads is not None and (isinstance(blas_threads, bool)
                                     or not isinstance(blas_threads, int) or blas_threads < 1):
        raise ValueError(
            f"Received an invalid value for `blas_threads`, expected a positive integer or None. "
            f"Received: blas_threads={blas_threads!r}"
        )
    uvicorn = _import_for_run(blas_threads)
    app = create_app(model, max_body_bytes=max_body_bytes)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            # uvicorn re-raises a caught SIGTERM or SIGINT once it has shut down, so the process
            # would die of the signal; a server stopped on purpose has done its job: exit 0.
            super().handle_exit(sig, frame)
            getattr(self, "_captured_signals", []).clear()
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            logger.info("received %s: finishing the requests in flight, then stopping", name)

    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_config=None, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=5, lifespan="off")
    server = Server(config)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    restore = _configure_logging(log_level)
    limits = None
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=blas_threads, user_api="blas")
    try:
        print(f"serving {model_name or 'the model'} on http://{shown}:{bound_port} "
              "(GET /health, POST /predict; SIGTERM or Ctrl-C stops)", flush=True)
        server.run(sockets=[sock])
        logger.info("stopped")
    finally:
        sock.close()
        restore()
        if limits is not None:
            limits.restore_original_limits()
    return 0
