"""Fast engine: many runs of one configuration trained and evaluated as one stacked model.

:func:`train_pairs_fast` returns, per spec, what the naive :func:`lmc_bench.train.train_pair_naive`
returns; :func:`evaluate_path_fast` returns what :func:`lmc_bench.train.evaluate_path` returns.
"""

from .fast import supports, train_pairs_fast, train_stack
from .path import evaluate_path_fast
from .stacked import StackedNetwork, stack_models, unstack_models

__all__ = [
    "StackedNetwork",
    "evaluate_path_fast",
    "stack_models",
    "supports",
    "train_pairs_fast",
    "train_stack",
    "unstack_models",
]
