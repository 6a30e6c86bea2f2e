"""Named random streams: one per decision site, derived from the root seed with SeedSequence.

A stream's identity is ``(root seed, replica or block, hash of the site name)``; the name is hashed
with hashlib (stable across processes), never with the salted built-in ``hash``. So two scenarios
that differ by one lever draw the same numbers at every other site (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def site_key(name: str) -> int:
    """Stable 32-bit key of a decision-site name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")


def stream(root_seed: int, index: int, name: str) -> np.random.Generator:
    """Generator for site ``name`` of replica (or block) ``index`` under ``root_seed``.

    ``SeedSequence(root_seed).spawn(n)[index]`` has spawn key ``(index,)``; the site stream is that
    child's child keyed by the site's hash, so replicas are exactly ``SeedSequence.spawn`` children.
    """
    # SeedSequence(root).spawn(n)[i] is SeedSequence(root, spawn_key=(i,)); built directly here.
    ss = np.random.SeedSequence(root_seed, spawn_key=(index, site_key(name)))
    return np.random.Generator(np.random.PCG64(ss))
