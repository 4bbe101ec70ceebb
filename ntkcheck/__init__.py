"""ntkcheck: verify neural-tangent-kernel convergence theorems against exact computation.

The model (docs/theory.md §1) is the two-layer ReLU network
``f(W, x) = m^{-1/2} sum_r a_r relu(<w_r, x>)`` of Du et al. (2019) and Liao & Kyrillidis
(2022).  The package computes its finite-width, masked, shifted and infinite-width NTKs and
their extreme eigenvalues, trains it with randomly masked subnetworks (LK22 Algorithm 1),
and puts measurements beside the theorems encoded in the sibling package :mod:`bounds`.
"""

from ._config import NumericalWarning
from .eigen import eigenvalue_extremes, max_eigenvalue, min_eigenvalue
from .certify import Certificate, certify_min_eigenvalue, count_eigenvalues_below, min_eigenvalue_fast
from .ntk import (
    angles,
    firing_fraction,
    firing_fraction_infinite,
    ntk_at_init,
    ntk_finite,
    ntk_infinite,
    ntk_output_finite,
    ntk_output_infinite,
)
from .masks import sample_masks
from .network import Network, init_network, network_output
from .train import TrainResult, Trajectory, train
from .plateau import PlateauPrediction, implicit_objective, predict_plateau
from .assumptions import AssumptionReport, check_assumptions
from .data import Dataset, load_dataset
from .deep import DeepNetwork, deep_forward, init_deep_network, ntk_deep_finite, ntk_deep_infinite
from .deep_train import DeepTrainResult, DeepTrajectory, deep_from_two_layer, sample_deep_masks, train_deep

__version__ = "0.1.0"

__all__ = [
    "AssumptionReport",
    "Dataset",
    "check_assumptions",
    "load_dataset",
    "NumericalWarning",
    "Network",
    "TrainResult",
    "Trajectory",
    "init_network",
    "network_output",
    "sample_masks",
    "train",
    "PlateauPrediction",
    "implicit_objective",
    "predict_plateau",
    "angles",
    "eigenvalue_extremes",
    "firing_fraction",
    "firing_fraction_infinite",
    "max_eigenvalue",
    "min_eigenvalue",
    "Certificate",
    "certify_min_eigenvalue",
    "count_eigenvalues_below",
    "min_eigenvalue_fast",
    "ntk_at_init",
    "ntk_finite",
    "ntk_infinite",
    "ntk_output_finite",
    "ntk_output_infinite",
    "DeepNetwork",
    "deep_forward",
    "init_deep_network",
    "ntk_deep_finite",
    "ntk_deep_infinite",
    "DeepTrainResult",
    "DeepTrajectory",
    "deep_from_two_layer",
    "sample_deep_masks",
    "train_deep",
]
