"""Hook implementations of the ``stats`` plugin: the built-in batch drift detectors.

Registered by name; each detector's module (numpy, scipy) is imported when the
detector is first used.
"""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register

#: name -> ``module:class`` of every detector this plugin registers.
DETECTORS = {
    "ks": "arlequin_stats.ks:KolmogorovSmirnov",
    "chi2": "arlequin_stats.chi2:ChiSquared",
    "kl": "arlequin_stats.kl:KullbackLeibler",
    "psi": "arlequin_stats.psi:PopulationStabilityIndex",
    "jensen_shannon": "arlequin_stats.jensen_shannon:JensenShannon",
    "wasserstein": "arlequin_stats.wasserstein:Wasserstein",
}


@hookimpl
def arlequin_register_detectors(register: Register) -> None:
    for name, target in DETECTORS.items():
        register(lazy(target, name=name))
