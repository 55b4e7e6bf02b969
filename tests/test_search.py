"""Grid search on this machine and on a Dask cluster, and the ``neuralnet search`` command."""

import sys

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuralnet import datasets
from neuralnet.cli import main
from neuralnet.search import format_results, grid_search, infer_task
from neuralnet.sklearn import NeuralNetClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = {"hidden_layer_sizes": [(8,), (16, 16)], "learning_rate": [0.003, 0.03]}
SEARCH_ARGS = ["search", "--dataset", "moons", "--hidden", "8", "16,16", "--learning-rate",
               "0.003", "0.03", "--epochs", "8", "--cv", "3"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on this machine, loopback only, no dashboard; closed afterwards."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster


def moons_search():
    X, y = datasets.make_moons(240, noise=0.2, seed=0)
    pipe = make_pipeline(StandardScaler(),
                         NeuralNetClassifier(epochs=8, learning_rate=0.01, random_state=0))
    grid = {f"neuralnetclassifier__{k}": v for k, v in GRID.items()}
    return GridSearchCV(pipe, grid, cv=3), X, y


def assert_same_search(a, b):
    for key in ("mean_test_score", "std_test_score", "rank_test_score",
                *(f"split{i}_test_score" for i in range(3))):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key], err_msg=key)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    assert a.best_params_ == b.best_params_


def test_dask_cluster_search_returns_exactly_the_sequential_results(cluster):
    import joblib
    from distributed import Client, get_task_stream

    sequential, X, y = moons_search()
    sequential.fit(X, y)

    distributed_search, X, y = moons_search()
    with Client(cluster) as client, joblib.parallel_backend("dask"):
        with get_task_stream(client) as stream:
            distributed_search.fit(X, y)
    # The fits ran on the cluster's worker processes, not in this one.
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(cluster.scheduler_info["workers"])
    assert_same_search(sequential, distributed_search)
    np.testing.assert_array_equal(sequential.predict_proba(X), distributed_search.predict_proba(X))
    assert len({round(s, 6) for s in sequential.cv_results_["mean_test_score"]}) > 1


def test_grid_search_helper_locally_and_on_the_cluster(cluster):
    X, y = datasets.make_moons(240, noise=0.2, seed=0)
    local = grid_search(X, y, GRID, cv=3, epochs=8)
    remote = grid_search(X, y, GRID, cv=3, epochs=8, scheduler=cluster.scheduler_address)
    assert_same_search(local, remote)
    assert list(local.best_params_) == ["net__hidden_layer_sizes", "net__learning_rate"]
    assert type(local.best_estimator_[-1]).__name__ == "NeuralNetClassifier"


def _table_and_best(output: str) -> list[str]:
    lines = output.splitlines()
    assert lines[0].startswith("Grid search (classification): 4 candidates x 3 folds = 12 fits")
    assert lines[-1].startswith("searched in ")
    return lines[1:-1]  # the ranked table, the best parameters and score


def test_cli_search_on_the_cluster_matches_the_one_machine_run(cluster, capsys):
    assert main([*SEARCH_ARGS, "--n-jobs", "1"]) == 0
    local = capsys.readouterr().out
    assert main([*SEARCH_ARGS, "--scheduler", cluster.scheduler_address]) == 0
    remote = capsys.readouterr().out
    assert f"on the Dask cluster at {cluster.scheduler_address}" in remote.splitlines()[0]
    assert "on local processes (n_jobs=1)" in local.splitlines()[0]
    assert _table_and_best(local) == _table_and_best(remote)
    table = _table_and_best(local)
    assert table[0].split() == ["rank", "mean", "score", "std", "activation", "alpha",
                                "hidden_layer_sizes", "learning_rate"]
    assert [row.split()[0] for row in table[1:5]] == sorted(row.split()[0] for row in table[1:5])
    assert table[5].startswith("best parameters: activation='relu', alpha=0.0001, ")
    assert table[6].startswith("best mean accuracy: ")


def test_cli_search_with_local_worker_processes(capsys):
    args = ["search", "--dataset", "xor", "--hidden", "8", "--learning-rate", "0.001", "0.03",
            "--epochs", "5", "--cv", "2", "--top", "1"]
    assert main([*args, "--n-jobs", "2"]) == 0
    parallel = capsys.readouterr().out.splitlines()
    assert main([*args, "--n-jobs", "1"]) == 0
    sequential = capsys.readouterr().out.splitlines()
    assert parallel[1:-1] == sequential[1:-1]
    assert len(parallel) == 6  # header, table header, the top row, best, score, time
    assert "learning_rate=0.03" in parallel[3]


def test_cli_search_on_a_csv_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    price = 3 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=60)
    path = tmp_path / "houses.csv"
    lines = ["size,price,age"] + [f"{a:.4f},{p:.4f},{b:.4f}" for (a, b), p in zip(X, price)]
    path.write_text("\n".join(lines) + "\n")
    assert main(["search", "--data", str(path), "--target", "price", "--hidden", "8",
                 "--learning-rate", "0.03", "--epochs", "20", "--cv", "2", "--n-jobs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Grid search (regression): 1 candidates x 2 folds = 2 fits on ")
    assert "(60 samples, 2 features)" in out[0]
    assert out[-2].startswith("best mean R^2: ")
    assert float(out[-2].split()[-1]) > 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "x.csv"], "--data needs --target COLUMN"),
        (["--target", "y"], "--target names a column of a table given with --data"),
        (["--data", "{missing}"], "No such file"),
    ],
)
def test_cli_search_errors(args, message, tmp_path, capsys):
    args = [a.format(missing=tmp_path / "missing.csv") for a in args]
    if args[0] == "--data" and len(args) == 2 and "missing" in args[1]:
        args += ["--target", "y"]
    assert main(["search", *args]) == 1
    assert message in capsys.readouterr().err


def test_cli_search_rejects_bad_option_values(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["search", "--alpha", "-1"])
    assert exc.value.code == 2
    assert "expected a non-negative number, received '-1'" in capsys.readouterr().err


# ------------------------------------------------------------ grid_search
def test_grid_search_errors():
    X, y = datasets.make_xor(40, noise=0.1, seed=0)
    with pytest.raises(ValueError, match=r"`task`, expected one of \('classification', "):
        grid_search(X, y, GRID, task="ranking")
    with pytest.raises(ValueError, match="param_grid must be a non-empty mapping"):
        grid_search(X, y, {})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['hidden'\] of "
                                         r"NeuralNetClassifier"):
        grid_search(X, y, {"hidden": [(8,)]})


def test_a_diverging_candidate_scores_nan_and_ranks_last():
    from sklearn.exceptions import FitFailedWarning

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = 3 * X[:, 0] + 0.5
    with pytest.warns(FitFailedWarning, match="2 fits failed out of a total of 4"), \
            pytest.warns(UserWarning, match="One or more of the test scores are non-finite"):
        search = grid_search(X, y, {"learning_rate": [0.01, 1e6], "optimizer": ["sgd"]},
                             cv=2, epochs=10)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert search.best_params_["net__learning_rate"] == 0.01
    assert format_results(search).splitlines()[2].split()[:3] == ["2", "nan", "nan"]


def test_grid_search_without_distributed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    X, y = datasets.make_xor(40, noise=0.1, seed=0)
    with pytest.raises(ImportError, match=r"pip install 'neuralnet\[distributed\]'"):
        grid_search(X, y, {"learning_rate": [0.01]}, scheduler="tcp://127.0.0.1:1", epochs=1)


def test_infer_task():
    assert infer_task(np.array([0, 1, 1])) == "classification"
    assert infer_task(np.array(["a", "b"])) == "classification"
    assert infer_task(np.array([0.5, 1.25])) == "regression"


def test_format_results_ranks_and_truncates():
    X, y = datasets.make_xor(80, noise=0.1, seed=0)
    search = grid_search(X, y, {"learning_rate": [1e-4, 0.05]}, cv=2, epochs=10)
    text = format_results(search).splitlines()
    assert text[0].split() == ["rank", "mean", "score", "std", "learning_rate"]
    assert [line.split()[0] for line in text[1:]] == ["1", "2"]
    assert text[1].split()[-1] == "0.05"
    assert len(format_results(search, top=1).splitlines()) == 2
