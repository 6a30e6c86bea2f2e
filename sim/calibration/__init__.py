"""Calibration: targets from the record, the objective, screening, fitting and the posterior."""
