"""Built-in statistical drift detectors: ks, chi2, kl, psi, jensen_shannon, wasserstein.

Registered through ``arlequin_register_detectors`` in :mod:`arlequin_stats.plugin`,
exactly like a third-party plugin. See ``docs/detectors.md``.
"""
