"""The regression decision of perf/compare, shared with perf/calibrate.

A figure (a time or an ns_per_* metric, lower is better) counts as slower when
both hold:

  * a one-sided Mann-Whitney U test says the new samples are stochastically
    larger than the old ones at level alpha (no assumption on the shape of the
    distribution; every sample must come from its own process so that the
    samples are independent), and
  * the ratio of the medians exceeds 1 + threshold, so that a tiny but
    consistent change (a test with many repetitions finds those) is not
    reported.

Faster is the mirror image. The defaults are those perf/calibrate measured on
a loaded 2-core machine; see perf/README.md, "The regression gate".

Needs scipy: Debian's python3-scipy, importable by /usr/bin/python3 only.
"""

import statistics

from scipy.stats import mannwhitneyu

DEFAULT_ALPHA = 0.01
DEFAULT_THRESHOLD = 5.0  # percent


def min_p_value(n_old, n_new):
    """The smallest one-sided p-value the exact U test can give for these sizes
    (all new samples above all old ones): 1 / C(n_old + n_new, n_old)."""
    from math import comb
    return 1.0 / comb(n_old + n_new, n_old)


def verdict(change, p_greater, p_less, n_old, n_new, alpha, threshold):
    """The decision from the change of the medians (percent) and the one-sided
    p-values (new greater, new less)."""
    if min_p_value(n_old, n_new) > alpha:
        return "undecidable"
    if change > threshold and p_greater <= alpha:
        return "slower"
    if -change > threshold and p_less <= alpha:
        return "faster"
    return "same"


def decide(old, new, alpha=DEFAULT_ALPHA, threshold=DEFAULT_THRESHOLD):
    """Compare two lists of samples. Returns (verdict, change_percent, p_value)
    where verdict is "slower", "faster", "same" or "undecidable" (too few
    samples for the test to reach alpha), and p_value is that of the one-sided
    test in the direction of the change."""
    m_old, m_new = statistics.median(old), statistics.median(new)
    change = (m_new - m_old) / m_old * 100 if m_old else 0.0
    p_greater = mannwhitneyu(new, old, alternative="greater").pvalue
    p_less = mannwhitneyu(new, old, alternative="less").pvalue
    p = p_greater if change > 0 else p_less
    return verdict(change, p_greater, p_less, len(old), len(new), alpha, threshold), change, p


def relative(samples, reference):
    """Each sample divided by the reference's sample of the same repetition
    (perf/run measures a kernel's implementations one after another within a
    repetition, so a drift of the whole machine between runs cancels out).
    None when the two do not pair up (a repetition failed in one of them)."""
    if not reference or len(samples) != len(reference) or not all(reference):
        return None
    return [s / r for s, r in zip(samples, reference)]


def reps_needed(alpha):
    """The smallest k with k repetitions per side for which the test can reach alpha."""
    k = 1
    while min_p_value(k, k) > alpha:
        k += 1
    return k
