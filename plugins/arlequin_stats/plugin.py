"""Hook implementations of the ``stats`` plugin: the built-in batch drift detectors."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register
from arlequin_stats.chi2 import ChiSquared
from arlequin_stats.jensen_shannon import JensenShannon
from arlequin_stats.kl import KullbackLeibler
from arlequin_stats.ks import KolmogorovSmirnov
from arlequin_stats.psi import PopulationStabilityIndex
from arlequin_stats.wasserstein import Wasserstein

DETECTORS = (KolmogorovSmirnov, ChiSquared, KullbackLeibler, PopulationStabilityIndex, JensenShannon, Wasserstein)


@hookimpl
def arlequin_register_detectors(register: Register) -> None:
    for detector in DETECTORS:
        register(detector)
