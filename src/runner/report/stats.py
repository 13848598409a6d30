"""The statistics of a comparison over seeds, from scipy.stats.

- The mean of a metric over seeds gets Student's t 95 % interval. With the 3
  to 10 seeds a study affords, a bootstrap interval of the mean is too
  narrow: it cannot reach beyond the observed values and covers far less than
  95 % (with 3 seeds there are only 10 distinct resamples); the t interval is
  exact for normal errors and the usual choice for few replicates. The median
  and the range are given beside it, since errors such as an MSE are skewed.
- A rate (solved, diverged: k of n seeds) gets the Wilson score interval,
  which stays inside [0, 1] and is informative at 0/n and n/n, where the
  normal approximation gives a zero-width interval (Wilson 1927; Brown, Cai &
  DasGupta 2001).
- Two configurations are compared by the probability of improvement
  P(A better than B) over all pairs of their seeds, with a percentile
  bootstrap interval that resamples each side's seeds independently, as
  rliable does (Agarwal et al. 2021); P is the Mann-Whitney U statistic over
  n_A * n_B, whose exact test is given beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0  # of the bootstrap: a report says the same every time it is written


@dataclass(frozen=True)
class Summary:
    """A metric over seeds: ``low``/``high`` bound the mean's interval (None for one seed)."""

    n: int
    mean: float
    std: float | None
    low: float | None
    high: float | None
    median: float
    min: float
    max: float


@dataclass(frozen=True)
class Rate:
    """k of n seeds, with the Wilson interval (None when n is 0)."""

    k: int
    n: int
    low: float | None
    high: float | None

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None


@dataclass(frozen=True)
class Improvement:
    """P(A better than B) over pairs of seeds; ``low``/``high``: the bootstrap interval (None below 2 seeds a side)."""

    p: float
    low: float | None
    high: float | None
    p_value: float  # Mann-Whitney U, two-sided: exact without ties, else the normal approximation

    @property
    def resolved(self) -> bool:
        """The interval leaves out 0.5 (no difference)."""
        return self.low is not None and not self.low <= 0.5 <= self.high


def summarize(values: list[float]) -> Summary | None:
    """Mean, standard deviation, Student's t interval of the mean, median and range; None without values."""
    x = np.asarray(values, dtype=float)
    if not len(x):
        return None
    mean, median = float(x.mean()), float(np.median(x))
    std = low = high = None
    if len(x) > 1:
        std = float(x.std(ddof=1))
        if std > 0:
            low, high = (float(v) for v in stats.t.interval(CONFIDENCE, len(x) - 1, loc=mean, scale=stats.sem(x)))
        else:  # every seed the same value: a point
            low = high = mean
    return Summary(len(x), mean, std, low, high, median, float(x.min()), float(x.max()))


def rate(k: int, n: int) -> Rate:
    """k successes in n seeds with the Wilson score interval."""
    if n == 0:
        return Rate(k, n, None, None)
    ci = stats.binomtest(k, n).proportion_ci(CONFIDENCE, method="wilson")
    return Rate(k, n, float(ci.low), float(ci.high))


def _p_better(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """The fraction of pairs (a_i, b_j) with a_i > b_j, ties counting half; vectorised over resamples."""
    a, b = np.moveaxis(a, axis, -1)[..., :, None], np.moveaxis(b, axis, -1)[..., None, :]
    return ((a > b) + 0.5 * (a == b)).mean(axis=(-2, -1))


def improvement(a: list[float], b: list[float], higher_is_better: bool) -> Improvement:
    """P(A better than B) from the seeds' scores; a run that diverged scores ``-inf`` or ``inf`` (the worst)."""
    sign = 1.0 if higher_is_better else -1.0
    x, y = sign * np.asarray(a, dtype=float), sign * np.asarray(b, dtype=float)
    p = float(_p_better(x, y))
    low = high = None
    if len(x) > 1 and len(y) > 1:
        boot = stats.bootstrap(
            (x, y),
            _p_better,
            n_resamples=RESAMPLES,
            method="percentile",
            vectorized=True,
            paired=False,
            confidence_level=CONFIDENCE,
            rng=np.random.default_rng(SEED),
        )
        low, high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    p_value = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)  # ranks: an infinite score is fine
    return Improvement(p, low, high, p_value)
