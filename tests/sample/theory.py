"""theory.py — what sampling by bytes promises (tests/sample/*.sh).

The agent records an allocation of n bytes with probability
p = 1 - exp(-n/S); a report weighs it by n/p bytes and 1/p blocks (blocks
rounded at random to a whole number).  Over N allocations of n bytes the
estimates are unbiased, with variances
    bytes:  N n^2 (1-p)/p
    blocks: N (1-p)/p  + N p / 4   (the rounding adds at most 1/4 a sample)
and the number of samples is binomial(N, p).  Tests allow 4 standard
deviations (with a fixed seed the result is one fixed draw: it passes or
fails the same way every run), plus the rounding of n/p to whole bytes
(half a byte per sample)."""
import math


def p_sampled(n, interval):
    return -math.expm1(-n / interval)


def sd_bytes(count, n, interval):
    p = p_sampled(n, interval)
    return math.sqrt(count * n * n * (1 - p) / p)


def sd_blocks(count, n, interval):
    p = p_sampled(n, interval)
    return math.sqrt(count * (1 - p) / p + count * p / 4)


def within(what, got, want, sd, slack=0.0, sigmas=4):
    """Prints and returns whether |got - want| <= sigmas*sd + slack."""
    bound = sigmas * sd + slack
    ok = abs(got - want) <= bound
    print("%s %s: estimate %d, truth %d, off %+.2f%% (bound %s%d = %d sd)"
          % ("ok  " if ok else "FAIL", what, got, want,
             100.0 * (got - want) / want if want else 0.0, "\u00b1", bound, sigmas))
    return ok
