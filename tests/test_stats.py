"""Replicates aggregated as the report does, checked against values worked out by hand.

Student's t interval of a mean, the Wilson (1927) score interval of a rate and the
probability of improvement of Agarwal et al. (2021) on fixed synthetic results.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runner._run_folder.job import Job
from runner.report import aggregate, stats, verdict

T_975 = {2: 4.302653, 5: 2.570582}  # Student's t, 97.5th percentile, by degrees of freedom (printed tables)
Z_975 = 1.959964


def job(cell: str, seed: int, final: float | None, status: str = "ok", grad: str = "none") -> Job:
    """A finished adding-task job as the report reads it back (MSE, baseline 1/6, target halfway)."""
    return Job(
        path=Path(f"{cell}-{seed}"),
        facets={"cell": cell, "data": "adding", "seq_len": 20, "grad": grad, "length_key": "data.seq_len"},
        axes={"cell": cell, "grad": grad},
        status=status,
        record={"status": status, "monitor": "val/mse", "val": {"mse": final}, "baseline": {"mse": 1 / 6}},
        config={"seed": seed},
        replicate=f"{cell}-{grad}",
        target=1 / 12,
    )


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval, written out."""
    p, z2 = k / n, Z_975**2
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_975 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return center - half, center + half


def test_mean_sd_and_t_interval_of_three_seeds():
    s = stats.summarize([0.1, 0.2, 0.3])
    half = T_975[2] * 0.1 / math.sqrt(3)  # t * sd / sqrt(n), sd = 0.1 by hand
    assert (s.n, s.mean, s.std, s.median, s.min, s.max) == pytest.approx((3, 0.2, 0.1, 0.2, 0.1, 0.3))
    assert (s.low, s.high) == pytest.approx((0.2 - half, 0.2 + half), rel=1e-5)


def test_the_interval_contains_the_mean_and_narrows_with_more_seeds():
    three, six = stats.summarize([0.1, 0.2, 0.3]), stats.summarize([0.1, 0.2, 0.3] * 2)
    sd6 = math.sqrt(4 * 0.01 / 5)  # squared deviations 0.01, 0, 0.01 twice, over n - 1 = 5
    assert six.std == pytest.approx(sd6)
    assert six.high - six.mean == pytest.approx(T_975[5] * sd6 / math.sqrt(6), rel=1e-5)
    for s in (three, six):
        assert s.low < s.mean < s.high
    assert six.high - six.low < three.high - three.low


def test_one_seed_has_no_interval_and_equal_seeds_a_point():
    one = stats.summarize([0.5])
    assert (one.n, one.mean, one.std, one.low, one.high) == (1, 0.5, None, None, None)
    same = stats.summarize([0.5, 0.5, 0.5])
    assert (same.std, same.low, same.high) == (0.0, 0.5, 0.5)
    assert stats.summarize([]) is None


@pytest.mark.parametrize("k", [0, 3])
def test_wilson_interval_of_none_and_all_of_three(k):
    r = stats.rate(k, 3)
    assert (r.low, r.high) == pytest.approx(wilson(k, 3), abs=1e-7)
    assert (r.low, r.high) == pytest.approx((0.0, 0.5615) if k == 0 else (0.4385, 1.0), abs=1e-4)


def test_a_configuration_counts_solved_diverged_and_failed_seeds():
    jobs = [job("rnn", 0, 0.01), job("rnn", 1, 0.2), job("rnn", 2, None, "diverged"), job("rnn", 3, None, "failed")]
    (config,) = aggregate.group(jobs)
    assert config.n == 3 and config.count("failed") == 1  # a failed job is not a seed's outcome
    assert (config.solved.k, config.solved.n) == (1, 3)  # 0.01 beats the target 1/12, 0.2 does not
    assert (config.diverged.k, config.diverged.n) == (1, 3)
    assert config.final.n == 2 and config.final.mean == pytest.approx(0.105)  # over the runs that did not diverge
    assert config.scores() == [0.01, 0.2, math.inf]  # a diverged run is the worst score


def test_probability_of_improvement_over_pairs_of_seeds():
    separated = stats.improvement([1, 2, 3], [4, 5, 6], higher_is_better=False)
    assert separated.p == 1.0 and separated.resolved  # every seed of A beats every seed of B
    assert separated.p_value == pytest.approx(0.1)  # the exact Mann-Whitney test: 2 of 20 orderings
    mixed = stats.improvement([1, 5], [2, 4], higher_is_better=False)
    assert mixed.p == 0.5 and mixed.low <= 0.5 <= mixed.high and not mixed.resolved  # pairs won: (1,2), (1,4)
    ties = stats.improvement([0.3, 0.3], [0.3, 0.3], higher_is_better=True)
    assert ties.p == 0.5 and not ties.resolved  # a tie counts half
    one = stats.improvement([0.1], [0.2, 0.3], higher_is_better=False)
    assert one.p == 1.0 and one.low is None and not one.resolved  # no interval from a single seed


def test_the_bootstrap_interval_is_reproducible_and_contains_the_estimate():
    a, b = [0.1, 0.3, 0.2, 0.5, 0.15], [0.25, 0.4, 0.35, 0.6, 0.2]
    first, again = stats.improvement(a, b, False), stats.improvement(a, b, False)
    assert first == again
    assert first.low <= first.p <= first.high
    assert first.p == pytest.approx(18.5 / 25)  # of the 25 pairs A's error is lower in 18, and one tie (0.2)


def test_comparisons_pair_the_cells_of_one_setting():
    jobs = [
        job(cell, seed, final)
        for cell, base in (("rnn", 0.1), ("lstm", 0.001), ("gru", 0.002))
        for seed, final in enumerate(base * f for f in (1, 1.5, 2))
    ]
    pairs = aggregate.comparisons(aggregate.group(jobs))
    named = [(p.a.facets["cell"], p.b.facets["cell"]) for p in pairs]
    assert named == [("rnn", "lstm"), ("rnn", "gru"), ("lstm", "gru")]
    # lstm 0.001, 0.0015, 0.002 against gru 0.002, 0.003, 0.004: 8 pairs won, one tie
    assert [p.result.p for p in pairs] == [0.0, 0.0, pytest.approx(8.5 / 9)]


def seeds(cell: str, finals: list[float | None], grad: str = "none") -> list[Job]:
    return [job(cell, i, f, "ok" if f is not None else "diverged", grad) for i, f in enumerate(finals)]


def verdict_of(a: list[Job], b: list[Job]) -> str:
    (pair,) = aggregate.comparisons(aggregate.group(a + b))
    return verdict.verdict(pair)


def test_two_configurations_that_diverged_in_every_seed_are_not_called_unresolved():
    assert verdict_of(seeds("rnn", [None] * 3), seeds("gru", [None] * 3)) == "both diverged in every seed"


def test_the_better_of_two_that_are_both_worse_than_the_baseline_is_not_called_better():
    worse = verdict_of(seeds("rnn", [0.5, 0.6, 0.7]), seeds("gru", [0.8, 0.9, 1.0]))  # baseline 1/6
    assert worse == "neither beats the baseline"  # not "rnn better", though every seed of rnn is
    far = verdict_of(seeds("rnn", [0.5, 0.6, 0.7]), seeds("gru", [2.0, 3.0, 4.0]))  # > 10 x the baseline
    assert far == "neither beats the baseline (gru blew up in every seed)"
    lost = verdict_of(seeds("rnn", [0.5, 0.6, 0.7]), seeds("gru", [None] * 3))
    assert lost == "neither beats the baseline (gru diverged in every seed)"
    blew = verdict_of(seeds("rnn", [0.01, 0.011, 0.012]), seeds("gru", [None, 5.0, 5.01]))  # > 10 x 1/6
    assert blew == "rnn better (gru blew up in every seed)"


def test_a_resolved_difference_says_whether_the_intervals_overlap():
    apart = verdict_of(seeds("rnn", [0.01, 0.011, 0.012]), seeds("gru", [0.1, 0.101, 0.102]))
    assert apart == "rnn better"  # every seed of rnn beats every seed of gru, the t intervals far apart
    close = verdict_of(seeds("rnn", [0.01, 0.05, 0.09]), seeds("gru", [0.1, 0.11, 0.14]))
    assert close == "rnn better, yet their 95 % intervals of the final metric overlap"
    mixed = verdict_of(seeds("rnn", [0.01, 0.1, 0.05]), seeds("gru", [0.02, 0.09, 0.06]))
    assert mixed == "not resolved with 3 and 3 seeds; their 95 % intervals overlap"


def test_clipping_against_none_within_one_cell_is_compared():
    jobs = [
        *seeds("rnn", [0.01, 0.011, 0.012], "clip_norm (max_norm=1)"),
        *seeds("rnn", [None, None, 0.3]),
        *seeds("gru", [0.02, 0.03, 0.04], "clip_norm (max_norm=1)"),
    ]
    pairs = aggregate.comparisons(aggregate.group(jobs))
    found = {(p.axis, verdict.axis_value(p, p.a), verdict.axis_value(p, p.b), p.same) for p in pairs}
    # rnn without clipping against gru with it differ on two axes: no row
    assert found == {
        ("cell", "rnn", "gru", "grad=clip_norm (max_norm=1)"),
        ("grad", "clip_norm (max_norm=1)", "none", "cell=rnn"),
    }
    assert [p.axis for p in pairs] == ["cell", "grad"]  # along the cell first


def test_a_run_far_past_the_baseline_is_blown_up():
    assert job("rnn", 0, 10 / 6 + 0.01).blown_up  # more than 10 times the baseline of 1/6
    assert not job("rnn", 0, 10 / 6 - 0.01).blown_up
    assert not job("rnn", 0, None, "diverged").blown_up  # a divergence is said as such
    (config,) = aggregate.group(seeds("rnn", [0.1, 5.0, None]))
    assert (config.blown_up.k, config.blown_up.n) == (1, 3)
