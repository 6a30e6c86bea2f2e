"""Two engines of one model: SimPy (des) and vectorised numpy (batch)."""
