"""Run scikit-learn's own MLP tests against neuralnet's estimators, with only the import changed.

scikit-learn ships ``sklearn/neural_network/tests/test_mlp.py`` in its wheel. This script copies
that file from the installed package into a temporary directory, replaces its one line

    from sklearn.neural_network import MLPClassifier, MLPRegressor

by

    from neuralnet.sklearn import NeuralNetClassifier as MLPClassifier, NeuralNetRegressor as MLPRegressor

runs pytest on the copy (with scikit-learn's ``conftest`` loaded as a plugin, for its
``global_random_seed`` fixture) and prints one line per test, the first line of each failure's
reason, and how many passed. scikit-learn's file is read from the installed package and never
stored in this repository.

    python benchmarks/sklearn_mlp_tests.py                # neuralnet's estimators
    python benchmarks/sklearn_mlp_tests.py --original     # scikit-learn's own, for comparison
    python benchmarks/sklearn_mlp_tests.py -k lbfgs       # a subset (pytest's -k)
    python benchmarks/sklearn_mlp_tests.py --min-passed 45   # exit 1 below 45 passed

Exit code: pytest's own when ``--min-passed`` is not given, else 0 or 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OUR_IMPORT = (
    "from neuralnet.sklearn import NeuralNetClassifier as MLPClassifier, "
    "NeuralNetRegressor as MLPRegressor"
)


def sklearn_test_file() -> Path:
    """Return the path of the installed scikit-learn's ``test_mlp.py``."""
    try:
        import sklearn
    except ImportError:
        sys.exit('scikit-learn is not installed: pip install "neuralnet[sklearn]"')
    path = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    if not path.is_file():
        sys.exit(f"scikit-learn {sklearn.__version__} has no {path}: its tests are not installed.")
    return path


def rewrite(source: str, original: bool) -> str:
    """Return the test module with only its import of the two estimators changed."""
    if source.count(SKLEARN_IMPORT) != 1:
        sys.exit(f"expected the line {SKLEARN_IMPORT!r} exactly once in scikit-learn's test_mlp.py")
    return source if original else source.replace(SKLEARN_IMPORT, OUR_IMPORT)


def results(report: Path) -> list[tuple[str, str, str]]:
    """Return ``(test, outcome, first line of the reason)`` for every test in a JUnit XML file."""
    rows = []
    for case in ET.parse(report).iter("testcase"):
        outcome, reason = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                text = (child.get("message") or child.text or "").strip()
                reason = text.splitlines()[0] if text else ""
                break
        rows.append((case.get("name", "?"), outcome, reason))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", action="store_true",
                        help="run scikit-learn's own MLPClassifier / MLPRegressor instead")
    parser.add_argument("-k", dest="keyword", help="only the tests matching this pytest -k expression")
    parser.add_argument("--min-passed", type=int, default=None,
                        help="exit with 1 when fewer tests than this pass")
    parser.add_argument("--width", type=int, default=160, help="cut reasons to this many characters")
    args = parser.parse_args(argv)

    source = sklearn_test_file().read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="sklearn_mlp_tests_") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "test_mlp.py").write_text(rewrite(source, args.original), encoding="utf-8")
        # An empty config of its own: this repository's pytest settings must not apply.
        (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        report = tmp_path / "report.xml"
        command = [sys.executable, "-m", "pytest", "test_mlp.py", "-q", "-p", "sklearn.conftest",
                   "-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
        if args.keyword:
            command += ["-k", args.keyword]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)
        if not report.is_file():
            print(proc.stdout, proc.stderr, sep="\n")
            return proc.returncode or 1
        rows = results(report)

    who = "scikit-learn's MLPClassifier / MLPRegressor" if args.original else (
        "neuralnet's NeuralNetClassifier / NeuralNetRegressor")
    print(f"scikit-learn's test_mlp.py against {who}")
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, outcome, reason in rows:
        line = f"{outcome.upper():8} {name:{width}}"
        if reason:
            line += f"  {reason[: args.width]}"
        print(line.rstrip())
    passed = sum(outcome == "passed" for _, outcome, _ in rows)
    print(f"\n{passed} of {len(rows)} passed")
    if args.min_passed is not None:
        return 0 if passed >= args.min_passed else 1
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
