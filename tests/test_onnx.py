"""ONNX export: onnxruntime's outputs against predict, labels, the registry, errors, skl2onnx, CLI."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import neuralnet
from conftest import table_feeds
from neuralnet import Dropout, FullyConnectedLayer, NeuralNet, onnx_export
from neuralnet.activations import ACTIVATIONS, Activation
from neuralnet.cli import main
from neuralnet.layers import Layer

# Measured over the cases below (and a 784-256-128-10 softmax network): |onnxruntime - predict|
# is at most 7.2e-7 on regression outputs of magnitude up to 10, 3.3e-7 on probabilities; the
# float32 rounding of Gemm summing in another order, and onnxruntime's own Sigmoid and Tanh.
# The bound asserted, |a - b| <= ATOL + RTOL |b|, is ten times inside the worst case
# (rtol 1e-4, atol 1e-5).
RTOL, ATOL = 1e-5, 1e-6


def run(proto: onnx.ModelProto, X: np.ndarray, **inputs) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: X, **inputs}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    # 300 rows take predict's batched path (x @ W + b); the first 5 its small-batch path.
    return np.random.default_rng(0).normal(scale=2.0, size=(300, 4)).astype(np.float32)


def _trained(model, X, y, epochs=5):
    model.fit(X, y, epochs=epochs, optimizer="adam", learning_rate=0.01, verbose=0)
    return model


def binary_model(X):
    model = NeuralNet([FullyConnectedLayer(4, 8, "tanh"), Dropout(0.3),
                       FullyConnectedLayer(8, 1, "sigmoid")], seed=0)
    return _trained(model, X, (X[:, 0] + X[:, 1] > 0).astype(int))


def multiclass_model(X):
    model = NeuralNet(((4, 8), (8, 8), (8, 3)), activations=["relu", "leaky_relu", "softmax"],
                      loss="categorical_crossentropy", seed=0)
    return _trained(model, X, np.digitize(X[:, 0], [-1, 1]))


def multilabel_model(X):
    model = NeuralNet(((4, 6), (6, 3)), activations=["sigmoid", "sigmoid"], seed=0)
    return _trained(model, X, (X[:, :3] > 0).astype(int))


def regression_model(X):
    model = NeuralNet(((4, 8), (8, 2)), activations=["tanh", "linear"], loss="mse", seed=0)
    return _trained(model, X, np.column_stack([X[:, 0] * 2, X[:, 1] - X[:, 2]]))


KINDS = {"binary": binary_model, "multiclass": multiclass_model,
         "multilabel": multilabel_model, "regression": regression_model}


# ----------------------------------------------------------- outputs equal predict
@pytest.mark.parametrize("kind", KINDS)
def test_onnxruntime_equals_predict_and_predict_classes(kind, X, tmp_path):
    model = KINDS[kind](X)
    path = tmp_path / "model.onnx"
    proto = model.to_onnx(path)
    assert isinstance(proto, onnx.ModelProto)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert onnx.load(path) == proto
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary left behind
    for rows in (X, X[:5], X[:1]):
        out = run(proto, rows)
        assert list(out)[0] == "predictions"
        assert out["predictions"].dtype == np.float32
        assert_close(out["predictions"], model.predict(rows))
        if kind == "regression":
            assert list(out) == ["predictions"]
        else:
            assert list(out) == ["predictions", "labels"]
            assert out["labels"].dtype == np.int64
            np.testing.assert_array_equal(out["labels"], model.predict_classes(rows))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["task"] == kind and meta["n_features"] == "4"


@pytest.mark.parametrize(
    "name", sorted(k for k, c in ACTIVATIONS.items() if c.__module__ == "neuralnet.activations"))
def test_every_activation_exports(name, X):
    # Every activation the library registers, hidden and at the output (regression loss).
    model = NeuralNet(((4, 5), (5, 3)), activations=[name, name], loss="mse", seed=1)
    # A non-zero bias row too; exp(exp(.)) of He-normal weights overflows, so smaller there.
    shrink = 0.1 if name == "exponential" else 1.0
    model.set_weights([shrink * (w + 0.1 * np.arange(w.size).reshape(w.shape) / w.size)
                       for w in model.get_weights()])
    assert_close(run(model.to_onnx(), X)["predictions"], model.predict(X))


def test_leaky_relu_alpha_is_exported(X):
    from neuralnet.activations import LeakyReLU

    model = NeuralNet(((4, 6), (6, 1)), activations=[LeakyReLU(0.3), "linear"], loss="mse", seed=0)
    assert_close(run(model.to_onnx(), X)["predictions"], model.predict(X))
    alphas = [a.f for n in model.to_onnx().graph.node if n.op_type == "LeakyRelu"
              for a in n.attribute]
    assert alphas == [pytest.approx(0.3)]


def test_a_one_layer_float64_network_exports_in_float32_and_in_float64(X):
    model = NeuralNet(((4, 2),), activations="softmax", loss="categorical_crossentropy",
                      dtype="float64", seed=0)
    assert_close(run(model.to_onnx(), X)["predictions"], model.predict(X))
    out = run(model.to_onnx(dtype="float64"), X.astype(np.float64))
    assert out["predictions"].dtype == np.float64
    np.testing.assert_allclose(out["predictions"], model.predict(X), rtol=1e-12, atol=1e-14)


def test_the_graph_is_gemm_per_dense_layer_and_dropout_an_identity(X):
    model = binary_model(X)
    ops = [n.op_type for n in model.to_onnx().graph.node]
    assert ops[:4] == ["Gemm", "Tanh", "Identity", "Gemm"]
    proto = model.to_onnx()
    W = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    dense = model.layers[0]
    np.testing.assert_array_equal(W["W"], dense.weights[:-1])  # W[:-1]: the input rows
    np.testing.assert_array_equal(W["b"], dense.weights[-1])  # W[-1]: the absorbed bias
    assert [i.name for i in proto.graph.input] == ["X"]
    assert proto.opset_import[0].version == onnx_export.DEFAULT_OPSET
    assert proto.producer_name == "neuralnet" and proto.producer_version == neuralnet.__version__


def test_scaling_standardises_the_inputs_in_the_graph(X):
    model = regression_model(X)
    mean, scale = [1.0, -2.0, 0.5, 0.0], [2.0, 0.5, 1.0, 4.0]
    proto = model.to_onnx(scaling={"mean": mean, "scale": scale})
    expected = model.predict((X.astype(np.float64) - mean) / np.asarray(scale))
    assert_close(run(proto, X)["predictions"], expected)
    assert json.loads({p.key: p.value for p in proto.metadata_props}["scaling"])["mean"] == mean


# ------------------------------------------------------------------------ labels
def test_labels_map_the_class_index_to_the_original_values(X):
    binary, multiclass = binary_model(X), multiclass_model(X)
    binary_index = binary.predict_classes(X)
    out = run(binary.to_onnx(labels=["no", "yes"]), X)
    assert out["labels"].dtype == object
    np.testing.assert_array_equal(out["labels"], np.array(["no", "yes"])[binary_index])
    out = run(binary.to_onnx(labels=[False, True]), X)
    np.testing.assert_array_equal(out["labels"], binary_index.astype(bool))
    index = multiclass.predict_classes(X)
    for labels in ([10, 20, 30], [0.5, 1.5, 2.5], np.array(["a", "b", "c"])):
        out = run(multiclass.to_onnx(labels=labels), X)
        np.testing.assert_array_equal(out["labels"], np.asarray(labels)[index])
    proto = multiclass.to_onnx(labels=[10, 20, 30])
    assert json.loads({p.key: p.value for p in proto.metadata_props}["labels"]) == [10, 20, 30]


def test_a_probability_of_exactly_one_half_is_class_1_as_in_predict_classes():
    model = NeuralNet(((2, 1),), activations="sigmoid", seed=0)
    model.set_weights([np.zeros((3, 1))])  # sigmoid(0) = 0.5 for every row
    X = np.ones((3, 2), dtype=np.float32)
    out = run(model.to_onnx(), X)
    np.testing.assert_array_equal(out["predictions"], 0.5)
    np.testing.assert_array_equal(out["labels"], model.predict_classes(X))
    assert model.predict_classes(X).tolist() == [1, 1, 1]


def test_bad_labels_are_refused_with_the_reason(X):
    binary, regression = binary_model(X), regression_model(X)
    with pytest.raises(ValueError, match=r"labels has 3 entries, but this binary network has 2 "
                       r"classes \(its one sigmoid output is the probability of the second\)"):
        binary.to_onnx(labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"labels= names a classifier's classes, but this "
                       r"network is a regression \(loss 'mse'\)"):
        regression.to_onnx(labels=[0, 1])
    with pytest.raises(TypeError, match=r"labels must be all numbers, all booleans or all "
                       r"strings; received types \['int', 'str'\]"):
        binary.to_onnx(labels=[0, "yes"])
    with pytest.raises(TypeError, match="labels must be a sequence of class labels"):
        binary.to_onnx(labels="ab")
    with pytest.raises(ValueError, match=r"labels must be distinct; received \[1, 1\]"):
        binary.to_onnx(labels=[1, 1])


# ------------------------------------------------------------ registry and errors
class Scale(Layer):
    """A layer this module does not know: multiply by a constant."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x, training=False):
        return np.asarray(x) * self.factor

    def get_config(self):
        return {"class_name": "Scale", "factor": self.factor}


class Cube(Activation):
    name = "cube"

    def forward(self, z, out=None):
        return np.power(z, 3, out=out)


def test_an_unknown_layer_or_activation_names_the_registration_to_add(X):
    model = NeuralNet([FullyConnectedLayer(4, 3, "tanh"), Scale(2.0),
                       FullyConnectedLayer(3, 1, Cube())], loss="mse", seed=0)
    with pytest.raises(TypeError, match=r"No ONNX converter for the layer <.*Scale.*> \(class "
                       r"Scale\); register one with @neuralnet.onnx_export.register_layer\(Scale\) "
                       r"on a function \(graph, layer, x\) -> y\."):
        model.to_onnx()


def test_one_function_each_registers_a_new_layer_and_activation(X, monkeypatch):
    monkeypatch.setattr(onnx_export, "LAYER_CONVERTERS", dict(onnx_export.LAYER_CONVERTERS))
    monkeypatch.setattr(onnx_export, "ACTIVATION_CONVERTERS",
                        dict(onnx_export.ACTIVATION_CONVERTERS))
    model = NeuralNet([FullyConnectedLayer(4, 3, "tanh"), Scale(2.0),
                       FullyConnectedLayer(3, 1, Cube())], loss="mse", seed=0)
    with pytest.raises(TypeError, match="register_layer"):
        model.to_onnx()

    @onnx_export.register_layer(Scale)
    def _scale(graph, layer, x):
        return graph.node("Mul", [x, graph.constant(layer.factor, "factor")], "scaled")

    with pytest.raises(TypeError, match=r"No ONNX converter for the activation Cube\(\) \(class "
                       r"Cube\); register one with @neuralnet.onnx_export.register_activation"):
        model.to_onnx()

    @onnx_export.register_activation(Cube)
    def _cube(graph, activation, z):
        return graph.node("Pow", [z, graph.constant(3.0, "three")], "cube")

    assert_close(run(model.to_onnx(), X)["predictions"], model.predict(X))


# The converters of the activations other branches add (registered by their public name once
# the classes exist), checked now against the formulas those activations follow.
NAMED = {
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)),
    "gelu": lambda z: 0.5 * z * (1 + np.vectorize(__import__("math").erf)(z / np.sqrt(2))),
    "gelu_tanh": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "swish": lambda z: z / (1 + np.exp(-z)),
    "softplus": lambda z: np.logaddexp(0, z),
    "mish": lambda z: z * np.tanh(np.logaddexp(0, z)),
    "exponential": np.exp,
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_the_converters_waiting_for_new_activations_follow_their_formulas(name):
    from onnx import TensorProto, helper

    graph = onnx_export.OnnxGraph()
    out = onnx_export._BY_NAME[name](graph, Activation(), graph.reserve("z"))
    graph.node("Identity", [out], output="a")
    proto = helper.make_model(
        helper.make_graph(graph.nodes, "g", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N"])],
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N"])],
                          graph.initializers),
        opset_imports=[helper.make_opsetid("", onnx_export.DEFAULT_OPSET)])
    onnx.checker.check_model(proto, full_check=True)
    z = np.linspace(-6, 6, 241, dtype=np.float32)
    np.testing.assert_allclose(run(proto, z)["a"], NAMED[name](z.astype(np.float64)),
                               rtol=1e-5, atol=2e-6)


def test_export_errors_name_the_argument(X, tmp_path):
    model = binary_model(X)
    with pytest.raises(TypeError, match=r"model must be a NeuralNet; received dict\."):
        onnx_export.to_onnx({})
    with pytest.raises(ValueError, match=r"expected 'float32' or 'float64'. Received: dtype='int8'"):
        model.to_onnx(dtype="int8")
    with pytest.raises(ValueError, match=r"expected an integer from 13 to \d+ .* Received: opset=9"):
        model.to_onnx(opset=9)
    with pytest.raises(ValueError, match=r"input_name must be a non-empty string other than the "
                       r"outputs' names \('predictions', 'labels'\); received 'labels'"):
        model.to_onnx(input_name="labels")
    with pytest.raises(ValueError, match=r"scaling\['scale'\] must hold 4 finite numbers, one per "
                       r"feature; received shape \(2,\)"):
        model.to_onnx(scaling={"mean": [0] * 4, "scale": [1, 1]})
    with pytest.raises(ValueError, match=r"scaling must be a mapping \{'mean': \[...\], 'scale'"):
        model.to_onnx(scaling=[0, 1])
    with pytest.raises(TypeError, match=r"path must be a str or os.PathLike; received int"):
        model.to_onnx(3)
    with pytest.raises(FileNotFoundError, match=r"the directory '.*missing' does not exist"):
        model.to_onnx(tmp_path / "missing" / "m.onnx")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        model.to_onnx(tmp_path)
    broken = binary_model(X)
    broken.layers[0].weights[0, 0] = np.nan  # set_weights would refuse it
    with pytest.raises(RuntimeError, match=r"weights hold \d+ NaN or infinite value"):
        broken.to_onnx()


def test_a_missing_onnx_package_says_which_extra_to_install(X, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "neuralnet\[onnx\]"'):
        binary_model(X).to_onnx()


def test_importing_neuralnet_or_the_export_module_imports_no_onnx():
    import subprocess

    code = ("import sys, neuralnet, neuralnet.onnx_export, neuralnet.serve; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'skl2onnx', 'fastapi', 'uvicorn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------- skl2onnx
@pytest.fixture(scope="module")
def skl2onnx_to_onnx():
    from skl2onnx import to_onnx

    onnx_export.register_skl2onnx()
    onnx_export.register_skl2onnx()  # twice is harmless
    return to_onnx


def _pipeline(estimator, X, y):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs: the ConvergenceWarning is expected
        return make_pipeline(StandardScaler(), estimator).fit(X, y)


@pytest.fixture(scope="module")
def raw_X() -> np.ndarray:
    return np.random.default_rng(1).normal(loc=3.0, scale=5.0, size=(120, 4))


CLASSIFIER_TARGETS = {
    "binary strings": lambda X: np.where(X[:, 0] > 3, "yes", "no"),
    "multi-class integers": lambda X: np.digitize(X[:, 0], [0, 3, 6]) + 10,
    "multi-label": lambda X: (X[:, :3] > 3).astype(int),
}


@pytest.mark.parametrize("target", CLASSIFIER_TARGETS)
def test_a_pipeline_with_the_classifier_converts_with_skl2onnx(target, raw_X, skl2onnx_to_onnx):
    from neuralnet.sklearn import NeuralNetClassifier

    y = CLASSIFIER_TARGETS[target](raw_X)
    pipe = _pipeline(NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0),
                     raw_X, y)
    X32 = raw_X.astype(np.float32)
    proto = skl2onnx_to_onnx(pipe, X32[:1], options={"zipmap": False})
    out = run(proto, X32)
    assert list(out) == ["label", "probabilities"]
    np.testing.assert_array_equal(out["label"], pipe.predict(raw_X))
    assert_close(out["probabilities"], pipe.predict_proba(raw_X))
    # zipmap (skl2onnx's default, as for MLPClassifier): one {class: probability} per row.
    session_out = run(skl2onnx_to_onnx(pipe, X32[:1]), X32)
    assert list(session_out) == ["output_label", "output_probability"]
    first = session_out["output_probability"][0]
    classes = pipe.classes_.tolist() if target != "multi-label" else [0, 1, 2]
    assert sorted(first) == sorted(classes)
    assert [first[c] for c in classes] == pytest.approx(pipe.predict_proba(raw_X[:1])[0], abs=1e-6)


def test_the_classifier_converts_alone_in_float64(raw_X, skl2onnx_to_onnx):
    from neuralnet.sklearn import NeuralNetClassifier

    clf = _pipeline(NeuralNetClassifier(hidden_layer_sizes=(6,), epochs=3, random_state=0),
                    raw_X, raw_X[:, 1] > 3)[-1]  # boolean classes: labelled 0 and 1
    Z = (raw_X - raw_X.mean(axis=0)) / raw_X.std(axis=0)
    out = run(skl2onnx_to_onnx(clf, Z[:1], options={"zipmap": False}), Z)
    assert out["probabilities"].dtype == np.float64
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(Z), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(out["label"], clf.predict(Z).astype(np.int64))


@pytest.mark.parametrize("n_targets", [1, 2])
def test_a_pipeline_with_the_regressor_converts_with_skl2onnx(n_targets, raw_X, skl2onnx_to_onnx):
    from neuralnet.sklearn import NeuralNetRegressor

    y = raw_X[:, 0] * 2 if n_targets == 1 else raw_X[:, :2] - 1
    pipe = _pipeline(NeuralNetRegressor(hidden_layer_sizes=(8,), epochs=5, random_state=0),
                     raw_X, y)
    out = run(skl2onnx_to_onnx(pipe, raw_X[:1].astype(np.float32)), raw_X.astype(np.float32))
    (predictions,) = out.values()
    assert predictions.shape == (len(raw_X), n_targets)
    assert_close(predictions, pipe.predict(raw_X).reshape(len(raw_X), n_targets))


# ------------------------------------------------------------------------- CLI
@pytest.fixture
def saved(tmp_path, X):
    path = tmp_path / "model.npz"
    model = multiclass_model(X)
    model.save(path)
    return path, model


def test_cli_export_writes_what_to_onnx_writes(saved, tmp_path, capsys, X):
    path, model = saved
    out_path = tmp_path / "model.onnx"
    assert main(["export", str(path), str(out_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out_path} (") and "ONNX opset 17, checked with onnx.checker" in printed
    assert "input   X            float32 [N, 4]" in printed
    assert "output  labels       int64 [N]" in printed
    assert onnx.load(out_path) == model.to_onnx()
    out = run(onnx.load(out_path), X)
    assert_close(out["predictions"], model.predict(X))


def test_cli_export_of_a_cli_trained_model_takes_raw_columns_as_cli_predict(tmp_path, capsys):
    rng = np.random.default_rng(0)
    raw = np.round(rng.normal(loc=50, scale=10, size=(80, 2)), 4)
    data = tmp_path / "data.csv"
    data.write_text("a,b,y\n" + "".join(f"{a},{b},{(a > 50) * 1}\n" for a, b in raw))
    model_path, onnx_path = tmp_path / "m.npz", tmp_path / "m.onnx"
    assert main(["train", "--data", str(data), "--target", "y", "--epochs", "5", "--quiet",
                 "--save", str(model_path)]) == 0
    assert main(["export", str(model_path), str(onnx_path)]) == 0
    assert "one input per table column" in capsys.readouterr().out
    assert main(["predict", str(model_path), "--input", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    proto = onnx.load(onnx_path)
    assert [v.name for v in proto.graph.input] == ["a", "b"]
    session = ort.InferenceSession(str(onnx_path))
    out = session.run(None, {"a": raw[:, :1].astype(np.float32), "b": raw[:, 1:].astype(np.float32)})
    np.testing.assert_array_equal(out[1], [int(r[0]) for r in rows])
    positive = header.index("probability_1")
    assert_close(out[0][:, 0], np.array([float(r[positive]) for r in rows], dtype=np.float32))


def _cli_error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_cli_export_errors_are_one_line(saved, tmp_path, capsys, monkeypatch):
    path, _ = saved
    assert _cli_error(capsys, ["export", str(tmp_path / "nope.npz"), "o.onnx"]) == (
        f"neuralnet export: error: Cannot load '{tmp_path / 'nope.npz'}': no such file.\n")
    assert "does not exist" in _cli_error(capsys, ["export", str(path), str(tmp_path / "no" / "o.onnx")])
    assert "Received: opset=99" in _cli_error(capsys, ["export", str(path), "o.onnx", "--opset", "99"])
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert _cli_error(capsys, ["export", str(path), str(tmp_path / "o.onnx")]) == (
        "neuralnet export: error: ONNX export needs the onnx package; install it with: "
        'pip install "neuralnet[onnx]"\n')


class Columns:
    """A stand-in for a table model's preprocessing: named numeric columns, NaN imputed."""

    def __init__(self, names, fill):
        self.names, self.fill = names, fill


def test_a_preprocessor_declares_one_input_per_column(X, monkeypatch):
    monkeypatch.setattr(onnx_export, "PREPROCESSOR_CONVERTERS", {})
    model = regression_model(X)
    names = ["a", "b", "c", "d"]
    columns = Columns(names, fill=[0.0, 1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"No ONNX converter for the preprocessor .* \(class "
                       r"Columns\); register one with @neuralnet.onnx_export.register_preprocessor\(Columns\) on a function \(graph, preprocessor\) "
                       r"-> \(inputs, x\)\."):
        model.to_onnx(preprocessor=columns)

    @onnx_export.register_preprocessor(Columns)
    def _columns(graph, pre):
        filled = []
        for name, fill in zip(pre.names, pre.fill):
            x = graph.reserve(name)
            missing = graph.node("IsNaN", [x])
            filled.append(graph.node("Where", [missing, graph.constant([fill], "fill"), x]))
        inputs = [(name, np.float32, ["N", 1]) for name in pre.names]
        return inputs, graph.node("Concat", filled, "features", axis=1)

    proto = model.to_onnx(preprocessor=columns)
    assert [(i.name, onnx_export.describe_value(i).split()[1]) for i in proto.graph.input] == [
        (n, "float32") for n in names]
    table = X.copy()
    table[::3, 1] = np.nan
    feeds = {n: table[:, [j]] for j, n in enumerate(names)}
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = model.predict(np.where(np.isnan(table), columns.fill, table))
    assert_close(session.run(["predictions"], feeds)[0], expected)
    with pytest.raises(ValueError, match="Give scaling= or preprocessor=, not both"):
        model.to_onnx(preprocessor=columns, scaling={"mean": [0] * 4, "scale": [1] * 4})


@pytest.mark.parametrize("target", ["species", "body_mass_g"])
def test_a_table_model_exports_its_preprocessing(target, tmp_path):
    import onnxruntime as ort
    from palmerpenguins import load_penguins

    from neuralnet import tabular

    table = load_penguins()
    table = table[table[target].notna()].reset_index(drop=True)
    X, y = table.drop(columns=target), table[target]
    encoder = tabular.TargetEncoder().fit(y, target)
    pre = tabular.TablePreprocessor().fit(X)
    inputs = pre.transform(X, np.float32)
    classify = encoder.task_ == "classification"
    model = NeuralNet(((inputs.shape[1], 8), (8, 3 if classify else 1)),
                      activations=["tanh", "softmax" if classify else "linear"], seed=0)
    model.fit(inputs, encoder.transform(y), epochs=20, verbose=0)
    model.preprocessor, model.target_encoder = pre, encoder
    model.save(tmp_path / "m.npz")
    loaded = neuralnet.load(tmp_path / "m.npz")
    proto = loaded.to_onnx(tmp_path / "m.onnx")
    assert [v.name for v in proto.graph.input] == pre.columns_
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = session.run(None, table_feeds(X, proto))
    np.testing.assert_allclose(out[0], loaded.predict(X), rtol=1e-4, atol=1e-4)
    if classify:
        assert out[1].tolist() == loaded.predict_classes(X).tolist()


@pytest.mark.parametrize("kind", ["batch", "layer", "noise"])
def test_normalization_and_noise_layers_export_in_their_inference_form(kind, X):
    from neuralnet import BatchNormalization, Dense, GaussianNoise, LayerNormalization

    middle = {"batch": BatchNormalization(), "layer": LayerNormalization(),
              "noise": GaussianNoise(0.3)}[kind]
    model = NeuralNet([Dense(8, activation="tanh"), middle, Dense(3, activation="softmax")],
                      seed=0)
    y = np.random.default_rng(0).integers(0, 3, len(X))
    model.fit(X, y, epochs=20, batch_size=8, verbose=0)  # moving statistics away from 0 and 1
    assert_close(run(model.to_onnx(), X)["predictions"], model.predict(X))
