"""The parameters of one population of transactions, and the drifts that change them.

A :class:`Population` is everything the sampler needs to draw rows and everything
:mod:`arlequin_synth.truth` needs to compute the exact marginal distribution of each
column. Drift never edits data after the fact (except nulls, by design): it produces a
new population, so the ground truth is exact rather than estimated.

Populations are immutable; every ``with_*`` method returns a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from arlequin_synth import schema


@dataclass(frozen=True, eq=False)
class Conditional:
    """A categorical column drawn given the merchant category.

    :param categories: the column's categories, K of them.
    :param table: shape (M, K), row m is P(column | merchant category m); rows sum to 1.
    """

    categories: tuple[str, ...]
    table: np.ndarray


@dataclass(frozen=True, eq=False)
class Population:
    """One generating distribution.

    :param merchants: merchant categories (M).
    :param merchant_probs: shape (M,), P(merchant category).
    :param channel: P(channel | merchant).
    :param country: P(country | merchant); any country but ``HOME_COUNTRY`` is foreign.
    :param amount_log_median: shape (M,), log of the main amount component's median (EUR).
    :param amount_sigma: shape (M,), sigma of log amount, main component.
    :param transforms: float column -> (scale, shift) applied as ``scale * x + shift``.
    :param missing: feature column -> probability that a value is null.
    :param rules: fraud rule name -> weight (weights sum to 1): the label's logit is the
        weighted sum of the rules' logits.
    """

    merchants: tuple[str, ...]
    merchant_probs: np.ndarray
    channel: Conditional
    country: Conditional
    amount_log_median: np.ndarray
    amount_sigma: np.ndarray
    transforms: dict[str, tuple[float, float]] = field(default_factory=dict)
    missing: dict[str, float] = field(default_factory=dict)
    rules: dict[str, float] = field(default_factory=lambda: {"baseline": 1.0})

    def categories(self, column: str) -> tuple[str, ...]:
        """The categories of ``merchant_category``, ``channel`` or ``country``."""
        if column == "merchant_category":
            return self.merchants
        return self._conditional(column).categories

    def _conditional(self, column: str) -> Conditional:
        return {"channel": self.channel, "country": self.country}[column]

    def transform(self, column: str) -> tuple[float, float]:
        """``(scale, shift)`` of a float column (identity when not drifted)."""
        return self.transforms.get(column, (1.0, 0.0))

    def missing_rate(self, column: str) -> float:
        """Probability that ``column`` is null."""
        return self.missing.get(column, 0.0)

    # ------------------------------------------------------------------ drifts

    def with_frequency(self, column: str, category: str, factor: float) -> Population:
        """Multiply P(``category``) by ``factor`` and renormalise.

        For ``channel`` and ``country`` this happens within each merchant category, so a
        channel that a merchant category never uses stays unused there.
        """
        if column == "merchant_category":
            probs = self.merchant_probs.copy()
            probs[self.merchants.index(category)] *= factor
            return replace(self, merchant_probs=probs / probs.sum())
        cond = self._conditional(column)
        table = cond.table.copy()
        table[:, cond.categories.index(category)] *= factor
        table /= table.sum(axis=1, keepdims=True)
        return replace(self, **{column: Conditional(cond.categories, table)})

    def with_new_category(self, column: str, name: str, share: float, like: str | None = None) -> Population:
        """Add category ``name`` with probability ``share``; the others keep their proportions.

        A new merchant category behaves like merchant category ``like`` (amounts,
        channels, countries). A new country is foreign. A new category is appended
        even at ``share == 0`` so every state of a scenario has the same categories.
        """
        if column == "merchant_category":
            src = self.merchants.index(like or "online_retail")
            probs = np.append(self.merchant_probs * (1.0 - share), share)

            def grow(cond: Conditional) -> Conditional:
                return Conditional(cond.categories, np.vstack([cond.table, cond.table[src]]))

            return replace(
                self,
                merchants=(*self.merchants, name),
                merchant_probs=probs,
                channel=grow(self.channel),
                country=grow(self.country),
                amount_log_median=np.append(self.amount_log_median, self.amount_log_median[src]),
                amount_sigma=np.append(self.amount_sigma, self.amount_sigma[src]),
            )
        cond = self._conditional(column)
        table = np.hstack([cond.table * (1.0 - share), np.full((cond.table.shape[0], 1), share)])
        return replace(self, **{column: Conditional((*cond.categories, name), table)})

    def with_transform(self, column: str, scale: float, shift: float) -> Population:
        """Compose ``x -> scale * x + shift`` after the column's current transform."""
        old_scale, old_shift = self.transform(column)
        transforms = {**self.transforms, column: (scale * old_scale, scale * old_shift + shift)}
        return replace(self, transforms=transforms)

    def with_missing(self, column: str, rate: float) -> Population:
        """Set the null rate of ``column``."""
        return replace(self, missing={**self.missing, column: rate})

    def with_rule(self, rule: str, weight: float) -> Population:
        """Move ``weight`` of the label's logit onto fraud rule ``rule``."""
        rules = {name: w * (1.0 - weight) for name, w in self.rules.items()}
        rules[rule] = rules.get(rule, 0.0) + weight
        return replace(self, rules={name: w for name, w in rules.items() if w > 0.0})


def base_population() -> Population:
    """The undrifted population (the reference every batch is compared with)."""
    merchants = schema.MERCHANT_CATEGORIES
    channel = np.array([schema.CHANNEL_GIVEN_MERCHANT[m] for m in merchants], dtype=float)
    foreign = np.array([schema.FOREIGN_GIVEN_MERCHANT[m] for m in merchants])
    abroad = np.asarray(schema.FOREIGN_COUNTRY_PROBS)
    country = np.hstack([(1.0 - foreign)[:, None], foreign[:, None] * abroad[None, :]])
    return Population(
        merchants=merchants,
        merchant_probs=np.asarray(schema.MERCHANT_PROBS, dtype=float),
        channel=Conditional(schema.CHANNELS, channel),
        country=Conditional((schema.HOME_COUNTRY, *schema.FOREIGN_COUNTRIES), country),
        amount_log_median=np.log([schema.AMOUNT_MAIN[m][0] for m in merchants]),
        amount_sigma=np.array([schema.AMOUNT_MAIN[m][1] for m in merchants]),
    )
