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


def decide(old, new, alpha=DEFAULT_ALPHA, threshold=DEFAULT_THRESHOLD):
    """Compare two lists of samples. Returns (verdict, change_percent, p_value)
    where verdict is "slower", "faster", "same" or "undecidable" (too few
    samples for the test to reach alpha)."""
    m_old, m_new = statistics.median(old), statistics.median(new)
    change = (m_new - m_old) / m_old * 100 if m_old else 0.0
    if min_p_value(len(old), len(new)) > alpha:
        return "undecidable", change, None
    if change > threshold:
        p = mannwhitneyu(new, old, alternative="greater").pvalue
        return ("slower" if p <= alpha else "same"), change, p
    if -change > threshold:
        p = mannwhitneyu(new, old, alternative="less").pvalue
        return ("faster" if p <= alpha else "same"), change, p
    return "same", change, None


def reps_needed(alpha):
    """The smallest k with k repetitions per side for which the test can reach alpha."""
    k = 1
    while min_p_value(k, k) > alpha:
        k += 1
    return k
