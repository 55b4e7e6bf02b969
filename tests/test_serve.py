"""neuralnet serve: the app in-process (answers, every bad request, logs) and a real server."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from neuralnet import NeuralNet
from neuralnet.cli import main
from neuralnet.serve import create_app


def _model(kind: str) -> NeuralNet:
    if kind == "binary":
        return NeuralNet(((3, 5), (5, 1)), activations=["tanh", "sigmoid"], seed=0)
    if kind == "multiclass":
        return NeuralNet(((3, 5), (5, 4)), activations=["relu", "softmax"],
                         loss="categorical_crossentropy", seed=0)
    if kind == "multilabel":
        return NeuralNet(((3, 5), (5, 2)), activations=["relu", "sigmoid"], seed=0)
    return NeuralNet(((3, 5), (5, 2)), activations=["tanh", "linear"], loss="mse", seed=0)


@pytest.fixture(scope="module")
def binary():
    return _model("binary")


@pytest.fixture(scope="module")
def client(binary):
    return TestClient(create_app(binary))


ROWS = [[0.5, -1.0, 2.0], [1, 2, 3], [-0.25, 0.0, 1e-3]]


def test_health_answers_200_with_the_model(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok",
                               "model": {"n_features": 3, "n_outputs": 1, "task": "binary"}}


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression"])
def test_predictions_equal_predict_and_labels_predict_classes(kind):
    model = _model(kind)
    response = TestClient(create_app(model)).post("/predict", json={"instances": ROWS})
    assert response.status_code == 200
    body = response.json()
    X = np.array(ROWS, dtype=np.float64)
    # JSON carries every float32 exactly (as the double holding it): equal, not close.
    np.testing.assert_array_equal(np.array(body["predictions"], dtype=np.float32), model.predict(X))
    if kind == "regression":
        assert set(body) == {"predictions"}
    else:
        assert set(body) == {"predictions", "labels"}
        np.testing.assert_array_equal(body["labels"], model.predict_classes(X))


def test_one_instance_and_a_large_batch(client, binary):
    X = np.random.default_rng(0).normal(size=(500, 3))
    for rows in (X[:1], X):
        body = client.post("/predict", json={"instances": rows.tolist()}).json()
        np.testing.assert_array_equal(np.array(body["predictions"], dtype=np.float32),
                                      binary.predict(rows))


def test_a_cli_trained_model_takes_raw_values_by_position_or_by_column(binary):
    model = _model("binary")
    model.metadata = {"feature_names": ["a", "b", "c"],
                      "scaling": {"mean": [1.0, 2.0, 3.0], "scale": [2.0, 4.0, 0.5]}}
    client = TestClient(create_app(model))
    expected = model.predict((np.array(ROWS) - [1.0, 2.0, 3.0]) / [2.0, 4.0, 0.5])
    objects = [{"c": c, "a": a, "b": b} for a, b, c in ROWS]  # any key order
    for instances in (ROWS, objects):
        body = client.post("/predict", json={"instances": instances}).json()
        np.testing.assert_array_equal(np.array(body["predictions"], dtype=np.float32), expected)
    assert client.get("/health").json()["model"]["feature_names"] == ["a", "b", "c"]
    response = client.post("/predict", json={"instances": [{"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3, "d": 4}]})
    assert response.status_code == 400
    assert response.json() == {"error": 'instances[0] lacks the column(s) "c"; the model\'s '
                                        "columns are a, b, c."}
    response = client.post("/predict", json={"instances": [{"a": 1, "b": 2, "c": "x"}]})
    assert response.json() == {"error": 'instances[0]["c"] is the string "x"; expected a number.'}


BAD_REQUESTS = {
    "not JSON": (b"instances: [[1, 2, 3]]",
                 r'The request body is not valid JSON \(Expecting value: line 1 column 1 \(char 0\)\); '
                 r'expected \{"instances": \[\[...\], ...\]\}\.'),
    "not UTF-8": (b"\xff\xff\xff", r"The request body is not valid JSON"),
    "an empty body": (b"", r"The request body is empty"),
    "not an object": (b"[[1, 2, 3]]", r"The request body is an array; expected an object"),
    "a wrong key": (b'{"inputs": [[1, 2, 3]]}',
                    r'The request has no "instances" key \(keys: "inputs"\)'),
    "an extra key": (b'{"instances": [[1, 2, 3]], "extra": 1}',
                     r'Unknown key\(s\) "extra" in the request; it takes only "instances"\.'),
    "instances not a list": (b'{"instances": "1,2,3"}',
                             r'"instances" is the string "1,2,3"; expected an array of '
                             r"instances, each an array of 3 numbers\."),
    "an empty list": (b'{"instances": []}', r'"instances" is empty; send at least one instance\.'),
    "too few features": (b'{"instances": [[1, 2, 3], [1, 2]]}',
                         r"instances\[1\] has 2 value\(s\), but the model takes 3 feature\(s\)\."),
    "too many features": (b'{"instances": [[1, 2, 3, 4]]}', r"instances\[0\] has 4 value\(s\)"),
    "a number for an instance": (b'{"instances": [1, 2, 3]}',
                                 r"instances\[0\] is a number; expected an array of 3 numbers\."),
    "an object without column names": (b'{"instances": [{"a": 1}]}',
                                       r"instances\[0\] is an object, but this model has no named "
                                       r"columns"),
    "a string": (b'{"instances": [[1, "2", 3]]}',
                 r'instances\[0\]\[1\] is the string "2"; expected a number\.'),
    "a boolean": (b'{"instances": [[1, 2, true]]}', r"instances\[0\]\[2\] is true; expected a number"),
    "null": (b'{"instances": [[null, 2, 3]]}', r"instances\[0\]\[0\] is null; expected a number"),
    "NaN": (b'{"instances": [[1, NaN, 3]]}',
            r"instances\[0\]\[1\] is NaN; expected a finite number \(JSON has no NaN or Infinity\)\."),
    "Infinity": (b'{"instances": [[1, 2, -Infinity]]}', r"instances\[0\]\[2\] is -Infinity"),
    "a float overflowing": (b'{"instances": [[1e999, 2, 3]]}',
                            r"instances\[0\]\[0\] is too large: it overflows to infinity"),
    "an integer overflowing": (b'{"instances": [[1, 2, ' + b"9" * 400 + b"]]}",
                               r"instances\[0\]\[2\] is too large"),
    "beyond float32": (b'{"instances": [[1, 2, 1e300]]}',
                       r"instances\[0\]\[2\] is 1e\+300, beyond the model's float32 range"),
    "nested too deeply": (b"[" * 100_000, r"The request body is nested too deeply"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_every_bad_request_gets_a_400_naming_the_problem_and_the_server_keeps_serving(case, client):
    body, message = BAD_REQUESTS[case]
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert re.match(message, response.json()["error"]), response.json()["error"]
    assert client.post("/predict", json={"instances": ROWS}).status_code == 200


def test_a_body_over_the_limit_is_a_400_with_or_without_a_content_length(binary):
    client = TestClient(create_app(binary, max_body_bytes=1000))
    big = json.dumps({"instances": [[0.123456789] * 3] * 100}).encode()
    response = client.post("/predict", content=big)
    assert response.status_code == 400
    assert response.json() == {"error": f"The request body has {len(big):,} bytes, over this "
                                        "server's limit of 1,000 bytes (--max-body-bytes); send "
                                        "fewer instances per request."}
    chunked = client.post("/predict", content=(big[i:i + 100] for i in range(0, len(big), 100)))
    assert chunked.status_code == 400
    assert chunked.json()["error"].startswith("The request body has more than 1,000 bytes")
    assert client.post("/predict", json={"instances": ROWS}).status_code == 200


def test_unknown_paths_and_methods_answer_json_errors(client):
    assert client.get("/nowhere").status_code == 404
    assert client.get("/nowhere").json() == {
        "error": "No such path '/nowhere'; the paths are /health and /predict."}
    response = client.get("/predict")
    assert response.status_code == 405
    assert response.json() == {"error": "GET is not allowed on /predict."}


def test_fastapi_validation_errors_are_400s_not_422s(binary):
    app = create_app(binary)

    @app.get("/square")
    def square(n: int):
        return {"square": n * n}

    response = TestClient(app).get("/square", params={"n": "two"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request: [{")


def test_a_failure_of_the_server_is_a_500_that_says_so(binary, caplog):
    app = create_app(binary)

    def broken(X):
        raise RuntimeError("a bug")

    app.state.predictor.predict = broken
    response = TestClient(app, raise_server_exceptions=False).post("/predict", json={"instances": ROWS})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error; the server's log has the details."}
    assert "a bug" in caplog.text


def test_one_log_line_per_request_at_info(client, caplog):
    with caplog.at_level(logging.INFO, logger="neuralnet.serve"):
        client.post("/predict", json={"instances": ROWS})
        client.post("/predict", json={"instances": []})
        client.get("/health")
    lines = [r.getMessage() for r in caplog.records if r.name == "neuralnet.serve"]
    assert len(lines) == 3
    assert re.fullmatch(r'testclient:\d+ "POST /predict" 200 \d+\.\d\d ms 3 instances', lines[0])
    assert re.fullmatch(r'testclient:\d+ "POST /predict" 400 \d+\.\d\d ms error: "instances" is '
                        r"empty; send at least one instance\.", lines[1])
    assert re.fullmatch(r'testclient:\d+ "GET /health" 200 \d+\.\d\d ms', lines[2])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="neuralnet.serve"):
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "neuralnet.serve"]


def test_concurrent_requests_each_get_their_own_answer():
    # predict reuses work buffers per batch size: the app lets one request at a time use them
    # (without that lock, three runs of this test out of three got a wrong answer).
    model = NeuralNet(((3, 64), (64, 64), (64, 1)), activations=["tanh", "tanh", "sigmoid"], seed=0)
    client = TestClient(create_app(model))
    rng = np.random.default_rng(3)
    # Up to 40 rows compute in the event loop, 100 rows in a worker thread.
    batches = [rng.normal(size=(n, 3)) for n in (1, 2, 7, 40, 100) for _ in range(8)]
    answers: dict[int, list] = {}

    def ask(i):
        answers[i] = client.post("/predict", json={"instances": batches[i].tolist()}).json()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for i, X in enumerate(batches):
        np.testing.assert_array_equal(np.array(answers[i]["predictions"], dtype=np.float32),
                                      model.predict(X))


def test_create_app_errors(binary, tmp_path, monkeypatch):
    with pytest.raises(TypeError, match=r"model must be a NeuralNet or the path of a saved one; "
                       r"received list\."):
        create_app([1, 2])
    with pytest.raises(ValueError, match=r"expected a positive integer. Received: max_body_bytes=0"):
        create_app(binary, max_body_bytes=0)
    path = tmp_path / "model.npz"
    binary.save(path)
    assert TestClient(create_app(path)).post("/predict", json={"instances": ROWS}).status_code == 200
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(ImportError, match=r'install them with: pip install "neuralnet\[serve\]"'):
        create_app(binary)


# ----------------------------------------------------------------- the real server
def _cli_error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_serve_errors_are_one_line(binary, tmp_path, capsys, monkeypatch):
    path = tmp_path / "model.npz"
    binary.save(path)
    assert _cli_error(capsys, ["serve", str(tmp_path / "nope.npz")]) == (
        f"neuralnet serve: error: Cannot load '{tmp_path / 'nope.npz'}': no such file.\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert _cli_error(capsys, ["serve", str(path), "--port", str(port)]) == (
            f"neuralnet serve: error: Cannot listen on 127.0.0.1:{port}: Address already in use.\n")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "uvicorn", None)
        assert _cli_error(capsys, ["serve", str(path)]) == (
            "neuralnet serve: error: neuralnet serve needs FastAPI, uvicorn and threadpoolctl "
            '(uvicorn is missing); install them with: pip install "neuralnet[serve]"\n')
    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert "pip install \"neuralnet[serve]\"" in _cli_error(capsys, ["serve", str(path)])


def _request(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_server_answers_over_http_and_stops_cleanly_on_sigterm(binary, tmp_path):
    path = tmp_path / "model.npz"
    binary.save(path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "neuralnet", "serve", str(path), "--host",
                             "127.0.0.1", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert first and first[0].startswith(f"serving {path} on http://127.0.0.1:"), first
        port = int(re.search(r":(\d+) ", first[0]).group(1))
        assert _request(port, "GET", "/health")[0] == 200
        status, body = _request(port, "POST", "/predict", json.dumps({"instances": ROWS}))
        assert status == 200
        np.testing.assert_array_equal(np.array(body["predictions"], dtype=np.float32),
                                      binary.predict(np.array(ROWS)))
        assert _request(port, "POST", "/predict", b'{"instances": [[1, NaN, 3]]}')[0] == 400
        assert _request(port, "POST", "/predict", b"{") [0] == 400
        assert _request(port, "POST", "/predict", json.dumps({"instances": ROWS}))[0] == 200
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - start < 10
        log = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    requests = [line for line in log.splitlines() if "neuralnet.serve:" in line and '"' in line]
    assert len(requests) == 5, log
    assert re.search(r'INFO neuralnet.serve: 127\.0\.0\.1:\d+ "POST /predict" 400 [\d.]+ ms error: '
                     r"instances\[0\]\[1\] is NaN", log)
    assert "received SIGTERM" in log and "Traceback" not in log


def test_run_checks_its_arguments_before_listening(binary):
    from neuralnet import serve

    with pytest.raises(ValueError, match=r"expected a positive integer or None. Received: "
                       r"blas_threads=0"):
        serve.run(binary, port=0, blas_threads=0)
    with pytest.raises(ValueError, match=r"expected 'debug', 'info', 'warning' or 'error'. "
                       r"Received: log_level='loud'"):
        serve.run(binary, port=0, log_level="loud")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # its start-up handler is undone


@pytest.mark.parametrize("body, message", [
    (b'{"instances": [[1, [2], 3]]}', r"instances\[0\]\[1\] is an array; expected a number\."),
    (b'{"instances": [[1, {"a": 2}, 3]]}', r"instances\[0\]\[1\] is an object; expected a number\."),
    (b'{"instances": [[1, 2, 3], [4, 5, "6"]]}', r'instances\[1\]\[2\] is the string "6"'),
    (b'{"instances": [[1, 2, 3]], "note": "true"}', r'Unknown key\(s\) "note"'),
])
def test_values_nested_in_an_instance_are_found_too(client, body, message):
    # Bodies without true/false/null take NumPy's one-pass check: it must refuse these as well.
    response = client.post("/predict", content=body)
    assert response.status_code == 400
    assert re.match(message, response.json()["error"]), response.json()["error"]


def test_a_table_model_serves_objects_of_raw_columns(tmp_path):
    from fastapi.testclient import TestClient
    from palmerpenguins import load_penguins

    from neuralnet import serve, tabular

    table = load_penguins().dropna(subset=["species"]).reset_index(drop=True)
    X, y = table.drop(columns="species"), table["species"]
    encoder = tabular.TargetEncoder().fit(y, "species")
    pre = tabular.TablePreprocessor().fit(X)
    inputs = pre.transform(X, np.float32)
    model = NeuralNet(((inputs.shape[1], 8), (8, 3)), activations=["tanh", "softmax"], seed=0)
    model.fit(inputs, encoder.transform(y), epochs=10, verbose=0)
    model.preprocessor, model.target_encoder = pre, encoder
    rows = X.head(5)
    instances = [{k: (None if v != v else v) for k, v in row.items()} for row in
                 rows.astype(object).to_dict("records")]
    client = TestClient(serve.create_app(model))
    response = client.post("/predict", json={"instances": instances})
    assert response.status_code == 200, response.text
    body = response.json()
    np.testing.assert_allclose(body["predictions"], model.predict(rows), rtol=1e-6)
    assert body["labels"] == model.predict_classes(rows).tolist()
    bad = client.post("/predict", json={"instances": [{"island": "Dream"}]})
    assert bad.status_code == 400 and "lacks the column(s)" in bad.json()["error"]
    bad = client.post("/predict", json={"instances": [[1, 2, 3]]})
    assert bad.status_code == 400 and "takes objects of column values" in bad.json()["error"]
