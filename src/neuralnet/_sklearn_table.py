"""``TableStep``: a ``TablePreprocessor`` as a scikit-learn transformer, for pipelines and searches.

Each ``fit`` (each cross-validation fold) fits a fresh preprocessor on its own rows, so no
statistic of a held-out fold reaches the training. Imported only where scikit-learn is needed.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from neuralnet.tabular import TableNote, TablePreprocessor


class TableStep(TransformerMixin, BaseEstimator):
    """Encode a raw DataFrame's columns as ``TablePreprocessor`` does (same parameters)."""

    def __init__(self, features=None, drop=None, categorical=None, max_levels=20):
        self.features = features
        self.drop = drop
        self.categorical = categorical
        self.max_levels = max_levels

    def fit(self, X, y=None):
        with warnings.catch_warnings():
            # The same note for every fold would drown the search's table; fit once to see them.
            warnings.simplefilter("ignore", TableNote)
            self.preprocessor_ = TablePreprocessor(self.features, self.drop, self.categorical,
                                                   self.max_levels).fit(X)
        self.n_features_out_ = self.preprocessor_.n_features_out_
        return self

    def transform(self, X):
        check_is_fitted(self, "preprocessor_")
        return self.preprocessor_.transform(X)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "preprocessor_")
        return np.asarray(self.preprocessor_.get_feature_names_out(), dtype=object)
