"""Tests of the always-valid rate comparisons (migration.sequential)."""

from __future__ import annotations

import math
import random

import pytest

from migration.sequential import compare_means, compare_rates, radius, samples_needed

HARM = {"harm_margin": 0.005, "ni_margin": 0.01, "harm_alpha": 0.001, "ni_alpha": 0.05}


def test_radius_shrinks_with_variance_and_grows_with_confidence() -> None:
    """Less variance gives a narrower bound; a smaller alpha a wider one; no variance none."""
    assert radius(1e-4, 0.05, 0.05) > radius(1e-5, 0.05, 0.05) > 0
    assert radius(1e-4, 0.001, 0.05) > radius(1e-4, 0.05, 0.05)
    assert radius(0.0, 0.05, 0.05) == 0.0


def test_radius_is_wider_than_a_fixed_sample_bound() -> None:
    """The price of looking every time: the mixture bound exceeds the one-look z bound."""
    variance = 1e-5
    assert radius(variance, 0.05, 0.01) > 1.645 * math.sqrt(variance)


def test_a_clear_regression_is_harm_and_not_non_inferior() -> None:
    """12 errors in 150 against 4 in 1,350 is shown worse than baseline + 0.5 points."""
    c = compare_rates(12, 150, 4, 1350, harm_tau=0.05, **HARM)
    assert c.harm
    assert not c.non_inferior
    assert c.harm_bound > 0.005


def test_equal_rates_with_enough_samples_show_non_inferiority() -> None:
    """A candidate like the baseline is shown within 1 point with a few thousand samples."""
    c = compare_rates(9, 3000, 27, 9000, harm_tau=0.05, **HARM)
    assert c.non_inferior
    assert not c.harm
    assert c.ni_bound < 0.01


def test_few_samples_conclude_nothing() -> None:
    """Twenty samples neither harm nor clear the candidate."""
    c = compare_rates(0, 20, 0, 20, harm_tau=0.05, **HARM)
    assert not c.harm
    assert not c.non_inferior


def test_no_samples_conclude_nothing() -> None:
    """Without candidate or baseline samples the bounds are infinite."""
    c = compare_rates(0, 0, 3, 100, harm_tau=0.05, **HARM)
    assert (c.harm, c.non_inferior, c.harm_bound, c.ni_bound) == (False, False, -math.inf, math.inf)


def test_against_a_fixed_limit() -> None:
    """With a limit the reference has no noise: 5 % errors are shown above a 1 % limit."""
    above = compare_rates(
        50, 1000, 0, 0, harm_margin=0.0, ni_margin=0.0, harm_alpha=0.001, ni_alpha=0.05,
        harm_tau=0.05, limit=0.01,
    )  # fmt: skip
    below = compare_rates(
        0, 2000, 0, 0, harm_margin=0.0, ni_margin=0.0, harm_alpha=0.001, ni_alpha=0.05,
        harm_tau=0.05, limit=0.01,
    )  # fmt: skip
    assert above.harm
    assert above.n_base == 0
    assert below.non_inferior
    assert not below.harm


def test_samples_needed_forecasts_when_non_inferiority_would_show() -> None:
    """The forecast is at least what is there, and that many samples do show it."""
    c = compare_rates(1, 200, 9, 1800, harm_tau=0.05, **HARM)
    assert not c.non_inferior
    need = samples_needed(c, ni_margin=0.01, ni_alpha=0.05)
    assert need is not None
    assert need > 200
    n = 200 * (need // 200 + 1)  # the same rates, exactly, at the forecast size
    scaled = compare_rates(n // 200, n, 9 * n // 200, 9 * n, harm_tau=0.05, **HARM)
    assert scaled.non_inferior


def test_samples_needed_is_none_when_the_difference_is_past_the_margin() -> None:
    """A candidate 2 points worse would never be shown within 1 point."""
    c = compare_rates(25, 1000, 5, 1000, harm_tau=0.05, **HARM)
    assert samples_needed(c, ni_margin=0.01, ni_alpha=0.05) is None


@pytest.mark.parametrize("rate", [0.003, 0.05])
def test_harm_stays_under_its_alpha_however_often_it_is_read(rate: float) -> None:
    """Equal rates read after every batch of 20 for 200 looks reject far less often than alpha."""
    rng = random.Random(7)
    alpha, runs, rejected = 0.05, 300, 0
    for _ in range(runs):
        xc = xb = n = 0
        for _look in range(200):
            xc += sum(rng.random() < rate for _ in range(20))
            xb += sum(rng.random() < rate for _ in range(20))
            n += 20
            c = compare_rates(
                xc, n, xb, n, harm_margin=0.0, ni_margin=0.01, harm_alpha=alpha, ni_alpha=0.05,
                harm_tau=0.05,
            )  # fmt: skip
            if c.harm:
                rejected += 1
                break
    assert rejected / runs <= alpha


def _cleared_at_the_margin(cand: float, base: float, margins: dict[str, float], seed: int) -> float:
    """Share of 1,000 runs in which a candidate exactly at the NI margin is cleared, read 150 times
    (20 candidate and 60 baseline samples a look, as at 10 % of a thin route)."""
    rng = random.Random(seed)
    runs, shown = 1000, 0
    for _ in range(runs):
        xc = xb = n = 0
        for _look in range(150):
            xc += sum(rng.random() < cand for _ in range(20))
            xb += sum(rng.random() < base for _ in range(60))
            n += 20
            if compare_rates(xc, n, xb, 3 * n, harm_tau=0.05, **margins).non_inferior:
                shown += 1
                break
    return shown / runs


def test_non_inferiority_at_the_margin_keeps_its_nominal_level() -> None:
    """A candidate exactly 1 point worse in errors is cleared in at most 5 % of runs at alpha 5 %.

    Measured: 3.7 % of these 1,000 (3.0 % and 3.8 % in 5,000-run batches of two seeds). The
    previous half-event-smoothed Wald bound cleared 8.9 % here (9.4 % and 10.4 %), so this fails
    if the bound becomes that optimistic again; see the module docstring.
    """
    assert _cleared_at_the_margin(0.013, 0.003, HARM, seed=3) <= 0.05


def test_tail_share_non_inferiority_at_the_margin_keeps_its_nominal_level() -> None:
    """A slow share exactly 5 points worse (10 % against 5 %) is cleared in at most 5 % of runs.

    Measured: 2.7 % of these 1,000 (2.8 % and 2.7 % in 5,000-run batches); the previous bound
    was at its level here already (4.5 %; 5.0 % and 5.1 %).
    """
    margins = {"harm_margin": 0.05, "ni_margin": 0.05, "harm_alpha": 0.001, "ni_alpha": 0.05}
    assert _cleared_at_the_margin(0.10, 0.05, margins, seed=3) <= 0.05


SHIFT = {"harm_margin": math.log(1.05), "harm_alpha": 0.001, "harm_tau": 0.1}


def test_a_mean_shown_above_the_margin_is_harm() -> None:
    """A difference of 0.18 with a standard error of 0.02 is shown above log(1.05)."""
    shift = compare_means(0.18, 0.02**2, 3000, 3000, **SHIFT)
    assert shift.harm
    assert math.log(1.05) < shift.harm_bound < 0.18


def test_a_mean_difference_of_the_wrong_sign_is_never_harm() -> None:
    """A faster candidate (negative difference) is not harm however precise the estimate."""
    assert not compare_means(-0.2, 1e-8, 10**6, 10**6, **SHIFT).harm


def test_a_mean_comparison_needs_two_samples_a_side() -> None:
    """Fewer than two samples on a side: no variance, nothing decided."""
    shift = compare_means(1.0, 0.0, 1, 1000, **SHIFT)
    assert (shift.harm, shift.harm_bound) == (False, -math.inf)
