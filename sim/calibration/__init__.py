"""Calibration: targets from the record, the objective, the ABC-SMC posterior, its scores and
simulation-based calibration."""
