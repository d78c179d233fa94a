"""Drift detection: detector interface, results, policy and reports."""
