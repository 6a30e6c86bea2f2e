"""Confidence intervals for proportions and their differences that behave at 0 and 1.

The normal (Wald) interval ``p +- z sqrt(p (1 - p) / n)`` has zero width at ``p = 0`` or ``1``,
where a comparison of scenarios often is (a town held in every replica of both). These are the
score intervals Newcombe recommends instead:

- :func:`wilson`: one proportion, Wilson (1927), *J. Am. Stat. Assoc.* 22:209-212.
- :func:`newcombe_paired`: difference of two proportions measured on the same replicas,
  Newcombe (1998), "Improved confidence intervals for the difference between binomial
  proportions based on paired data", *Stat. Med.* 17:2635-2650, **method 10**: the square-and-add
  of the two Wilson intervals with the correlation correction ``phi`` (its numerator
  ``ad - bc`` is reduced by ``n/2`` when positive and set to 0 when in ``[0, n/2]``, as in
  Altman et al., *Statistics with Confidence*, 2nd ed., 2000, ch. 6).
- :func:`newcombe_unpaired`: difference of two independent proportions, Newcombe (1998),
  *Stat. Med.* 17:873-890, method 10 (square-and-add of the two Wilson intervals).

All work element-wise on arrays (one interval per town at once).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]
Z95 = 1.959963984540054


def wilson(x: ArrayLike, n: ArrayLike, z: float = Z95) -> tuple[F64, F64]:
    """Wilson score interval ``(low, high)`` of ``x`` successes in ``n`` trials (``n >= 1``)."""
    xv, nv = np.asarray(x, np.float64), np.asarray(n, np.float64)
    p = xv / nv
    z2 = z * z
    centre = (p + z2 / (2 * nv)) / (1 + z2 / nv)
    half = z / (1 + z2 / nv) * np.sqrt(p * (1 - p) / nv + z2 / (4 * nv * nv))
    # at x = 0 (or n) the bound is exactly 0 (or 1); rounding must not move it past
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe_paired(n11: ArrayLike, n10: ArrayLike, n01: ArrayLike, n00: ArrayLike,
                    z: float = Z95) -> tuple[F64, F64, F64]:
    """``(difference, low, high)`` of ``p1 - p2`` from paired counts: ``n11`` both, ``n10``
    the first only, ``n01`` the second only, ``n00`` neither (``p1 = (n11 + n10) / n``,
    ``p2 = (n11 + n01) / n``). Newcombe (1998) method 10."""
    a, b, c, d = (np.asarray(v, np.float64) for v in (n11, n10, n01, n00))
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    num = a * d - b * c
    num = np.where(num > n / 2, num - n / 2, np.where(num < 0, num, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(margins > 0, num / np.sqrt(np.where(margins > 0, margins, 1.0)), 0.0)
    dlo = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    dhi = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    diff = p1 - p2
    return (diff, np.maximum(diff - np.sqrt(np.maximum(dlo, 0.0)), -1.0),
            np.minimum(diff + np.sqrt(np.maximum(dhi, 0.0)), 1.0))


def newcombe_unpaired(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                      z: float = Z95) -> tuple[F64, F64, F64]:
    """``(difference, low, high)`` of ``x1/n1 - x2/n2`` for independent samples: Newcombe
    (1998) method 10 (square-and-add of the Wilson intervals)."""
    p1 = np.asarray(x1, np.float64) / np.asarray(n1, np.float64)
    p2 = np.asarray(x2, np.float64) / np.asarray(n2, np.float64)
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    diff = p1 - p2
    return (diff, diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
