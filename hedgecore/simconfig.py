"""Simulation config: a decoded document (dict) -> the simulator's SimulationSpec.

Where a YAML simulation or optimisation file becomes objects. Every field is validated
here and a wrong one raises `ConfigError(path, message)` with its field path
(``policies[1].risk_aversion``) and document "simulation"; unknown keys are refused with
the closest known key as a suggestion. The library never reads YAML: files the config
refers to are read through callables the caller passes (the CLI passes its safe loader),
except the historical price CSV, which hedgecore.simulation reads itself.

Schema (README "Simulation config"):

    model: {type: gbm, spot: 49.0, drift: 0.13, vol: 0.20}
        # heston: spot, drift, v0, kappa, theta, vol_of_vol, rho, scheme (qe | euler)
        # merton: spot, drift, vol, jump_intensity, jump_mean, jump_std
        # historical: csv (path relative to the config file), block_size, spot
    rate: 0.05                 # continuously compounded, per year
    horizon_years: 0.3846
    steps: 20                  # rebalancing opportunities over the horizon
    paths: 100000
    seed: 7                    # or null for fresh entropy
    options:                   # the book; or `portfolio: FILE` (+ underlying, as_of)
      - {type: call, strike: 50.0, expiry_years: 0.3846, quantity: -100000, settlement: linear}
    hedge: {instrument: spot, vol: 0.20}   # spot | linear_perp | inverse_perp
    costs: {proportional: 0.0, half_spread: 0.0, fixed: 0.0, funding_rate_8h: 0.0,
            impact_coef: 0.0, impact_adv: .inf}
    policies:
      - {name: weekly, method: time, every: 1}
      - {name: ww, method: whalley_wilmott, risk_aversion: 1.0}
    optimize: {...}            # read by hedgecore.optimize.parse_optimize_section
    # Variants (hedgecore.overlay): a static option overlay and the ways to carry the book,
    # compared on common paths under each model of `models` (instead of `model`):
    models: [{name: gbm, type: gbm, spot: 95000, vol: 0.65}, ...]   # + hedge_vol: per model
    overlay: [{instrument: BTC-25DEC26-95000-C, side: buy, quantity: 10, price: 0.045}, ...]
        # or {type, strike, expiry_years, settlement, side, quantity, price}; names need as_of
    overlay_fees: {rate_of_underlying: 0.0003, cap_of_price: 0.125}
    variants: [{name: delta-only, policy: hourly}, {name: overlay+delta, policy: hourly, overlay: true}]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hedgecore.errors import ConfigError, show_text
from hedgecore.overlay import NamedModel, OverlayFees, OverlayTrade, Variant, VariantStudy
from hedgecore.reading import Fields, join_path, suggest
from hedgecore.simulation import (
    MAX_PATHS,
    MAX_STEPS,
    CostSpec,
    GBMModel,
    HedgeSpec,
    HestonModel,
    HistoricalModel,
    MertonModel,
    OptionSpec,
    PolicySpec,
    PriceModel,
    SimulationSpec,
)
from hedgecore.units import SECONDS_PER_YEAR

DOCUMENT = "simulation"

# Integer fields that travel to the compiled kernel as C ints (every, min_interval,
# block_size), and seeds (numpy's SeedSequence takes any size; 128 bits is plenty).
MAX_C_INT = 2**31 - 1
MAX_SEED = 2**128 - 1

# Plausible ranges (README "Simulation config"): far beyond any market, well inside what
# float64 paths survive. A value outside is refused with its file, line and field instead
# of overflowing into inf/NaN figures. Keys: (low, high), both inclusive.
RANGES: dict[str, tuple[float, float]] = {
    "vol": (0.0, 10.0),                 # per year: 1,000% a year
    "drift": (-10.0, 10.0),             # per year
    "rate": (-1.0, 1.0),                # per year
    "years": (0.0, 100.0),              # horizon_years, expiry_years
    "price": (1e-9, 1e12),              # spot, strike (quote currency)
    "quantity": (-1e12, 1e12),          # options (units of the underlying)
    "cost_fraction": (0.0, 1.0),        # proportional, half_spread: of the traded notional
    "fixed_cost": (0.0, 1e12),          # quote currency per trade
    "funding_rate_8h": (-0.1, 0.1),     # per 8 hours: 10%, beyond any venue's cap
    "impact_coef": (0.0, 1e3),
    "kappa": (0.0, 1e3),                # Heston mean reversion per year
    "jump_intensity": (0.0, 1e3),       # jumps per year
    "jump_size": (-5.0, 5.0),           # jump_mean, jump_std: log-price units
}


def _in_range(fields: Fields, key: str, value: float, kind: str) -> float:
    """`value` (already read from fields[key]) within RANGES[kind], else ConfigError."""
    low, high = RANGES[kind]
    if not low <= value <= high:
        fields.fail(key, f"must be within [{low:g}, {high:g}] (hedgecore's plausible range), got {value:g}")
    return value

TOP_KEYS = (
    "model",
    "rate",
    "horizon_years",
    "steps",
    "paths",
    "seed",
    "options",
    "portfolio",
    "underlying",
    "as_of",
    "hedge",
    "costs",
    "policies",
    "optimize",
    "description",
    "name",
    "models",
    "overlay",
    "overlay_fees",
    "variants",
)
MODEL_KEYS: dict[str, tuple[str, ...]] = {
    "gbm": ("type", "spot", "drift", "vol"),
    "heston": ("type", "spot", "drift", "v0", "kappa", "theta", "vol_of_vol", "rho", "scheme"),
    "merton": ("type", "spot", "drift", "vol", "jump_intensity", "jump_mean", "jump_std"),
    "historical": ("type", "csv", "block_size", "spot"),
}
OPTION_KEYS = ("type", "strike", "expiry_years", "quantity", "settlement")
OVERLAY_KEYS = ("instrument", "type", "strike", "expiry_years", "settlement", "side", "quantity", "price")
OVERLAY_FEE_KEYS = ("rate_of_underlying", "cap_of_price")
VARIANT_KEYS = ("name", "policy", "overlay")
HEDGE_KEYS = ("instrument", "vol")
COST_KEYS = ("proportional", "half_spread", "fixed", "funding_rate_8h", "impact_coef", "impact_adv")
POLICY_METHODS = ("none", "time", "fixed", "whalley_wilmott", "zakamouline", "leland", "nested")
# One vocabulary with the policy file (README "One vocabulary"): a simulated policy takes the
# policy file's words, and its older words stay accepted. Documented word -> older word.
POLICY_WORDS: dict[str, str] = {
    "half_width": "width",
    "rebalance_to": "rebalance",
    "outer_half_width": "outer",
    "inner_half_width": "inner",
}
OLDER_WORDS = {older: word for word, older in POLICY_WORDS.items()}
COMMON_POLICY_KEYS = ("name", "method", "rebalance_to", "min_interval", "min_trade")
# The parameters each method takes besides the common ones (documented words).
METHOD_KEYS: dict[str, tuple[str, ...]] = {
    "none": (),
    "time": ("every",),
    "fixed": ("half_width",),
    "whalley_wilmott": ("risk_aversion",),
    "zakamouline": ("risk_aversion",),
    "leland": ("every",),
    "nested": ("risk_aversion", "outer_half_width", "inner_half_width"),
}
ALL_POLICY_KEYS = tuple(dict.fromkeys(COMMON_POLICY_KEYS + sum(METHOD_KEYS.values(), ()) + tuple(OLDER_WORDS)))

# Reads a document the config refers to (a hedgecore portfolio file) and returns what it
# decodes to; the CLI passes its safe YAML loader. Errors inside that document are the
# loader's to report (ConfigError with document "portfolio").
DocumentReader = Callable[[Path], Any]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """A parsed simulation document: the spec, where it came from, the raw optimize section.

    underlying: the coin the book is on when known (from `underlying:` or the portfolio),
    else None. optimize: the `optimize:` mapping, still raw (hedgecore.optimize parses it).
    """

    spec: SimulationSpec
    underlying: str | None
    optimize: Mapping[str, Any] | None
    base_dir: Path
    study: VariantStudy | None = None     # `variants:` (with models, overlay), else None


def integer(fields: Fields, key: str, default: int | None = None, *, minimum: int = 0,
            maximum: int | None = None) -> int:
    """An integer field (YAML int, or a float with an integral value) in [minimum, maximum]."""
    if not fields.has(key):
        if default is None:
            fields.required(key)
        return int(default)  # type: ignore[arg-type]
    value = fields.data[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer()))
    ):
        fields.fail(key, f"must be a whole number, got {_short(value)}")
    number = int(value)
    if number < minimum:
        fields.fail(key, f"must be >= {minimum}, got {_short(number)}")
    if maximum is not None and number > maximum:
        fields.fail(key, f"must be <= {maximum:,}, got {_short(number)}")
    return number


def _short(value: Any) -> str:
    """A value for a message, bounded (a 400-digit integer is named by its size)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return f"a number of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_simulation(
    data: Any,
    *,
    base_dir: str | Path = ".",
    read_document: DocumentReader | None = None,
) -> SimulationConfig:
    """Build a SimulationConfig from a decoded simulation document.

    base_dir: directory that relative file names (model.csv, portfolio) are resolved
    against, normally the config file's directory. read_document: reads a portfolio file
    (needed only for `portfolio:`).
    """
    base = Path(base_dir)
    top = Fields(data, "", DOCUMENT, allowed=TOP_KEYS)
    horizon = _in_range(top, "horizon_years", top.positive("horizon_years"), "years")
    steps = integer(top, "steps", minimum=1, maximum=MAX_STEPS)
    paths = integer(top, "paths", 10_000, minimum=1, maximum=MAX_PATHS)
    seed: int | None = (None if ("seed" in top.data and top.data["seed"] is None)
                        else integer(top, "seed", 0, maximum=MAX_SEED))
    rate = _in_range(top, "rate", top.number("rate", 0.0), "rate")
    if top.has("models"):
        if top.has("model"):
            top.fail("models", "give either 'model' or 'models', not both")
        models = _models(top, base)
        model = models[0].model
    else:
        model = _model(Fields(top.mapping("model", required=True), "model", DOCUMENT), base)

    underlying = top.text("underlying").strip().upper() if top.has("underlying") else None
    if top.has("options") and top.has("portfolio"):
        top.fail("portfolio", "give either 'options' or 'portfolio', not both")
    if top.has("portfolio"):
        options, underlying = _portfolio_options(top, base, read_document, underlying)
    else:
        if top.has("as_of") and not top.has("overlay"):
            top.fail("as_of", "applies only with 'portfolio' or 'overlay' (inline options give expiry_years)")
        items = top.sequence("options", required=True)
        if not items:
            top.fail("options", "must list at least one option")
        options = tuple(_option(item, join_path("options", k)) for k, item in enumerate(items))

    hedge_fields = Fields(top.mapping("hedge"), "hedge", DOCUMENT, allowed=HEDGE_KEYS)
    hedge = HedgeSpec(
        instrument=hedge_fields.choice("instrument", ("spot", "linear_perp", "inverse_perp"), "spot"),  # type: ignore[arg-type]
        vol=_in_range(hedge_fields, "vol", hedge_fields.positive("vol"), "vol") if hedge_fields.has("vol") else None,
    )
    if isinstance(model, HistoricalModel) and hedge.vol is None and len(model.prices) < 3:
        hedge_fields.fail_at("hedge.vol", "is needed: the historical series is too short to estimate a vol")
    costs = _costs(Fields(top.mapping("costs"), "costs", DOCUMENT, allowed=COST_KEYS))
    if costs.funding_rate_8h != 0.0 and hedge.instrument == "spot":
        top.fail_at(
            "costs.funding_rate_8h",
            "applies to perpetual hedges; set hedge.instrument to linear_perp or inverse_perp, or remove it",
        )

    items = top.sequence("policies", required=True)
    if not items:
        top.fail("policies", "must list at least one policy")
    policies = parse_policies(items, "policies")

    spec = SimulationSpec(
        model=model,
        options=options,
        policies=policies,
        horizon_years=horizon,
        steps=steps,
        paths=paths,
        seed=seed,
        rate=rate,
        hedge=hedge,
        costs=costs,
    )
    optimize = top.mapping("optimize") if top.has("optimize") else None
    study = _study(top, spec, models if top.has("models") else None)
    return SimulationConfig(spec=spec, underlying=underlying, optimize=optimize, base_dir=base, study=study)


def _models(top: Fields, base: Path) -> tuple[NamedModel, ...]:
    """`models:` a list of model mappings, each with a unique `name`."""
    items = top.sequence("models")
    if not items:
        top.fail("models", "must list at least one model")
    models: list[NamedModel] = []
    for index, item in enumerate(items):
        path = join_path("models", index)
        fields = Fields(item, path, DOCUMENT)
        name = fields.text("name").strip()
        if not name:
            fields.fail("name", "must not be empty")
        if any(named.name == name for named in models):
            fields.fail("name", f"duplicate model name '{name}'")
        hedge_vol = (_in_range(fields, "hedge_vol", fields.positive("hedge_vol"), "vol")
                     if fields.has("hedge_vol") else None)
        rest = {key: value for key, value in fields.data.items() if key not in ("name", "hedge_vol")}
        models.append(NamedModel(name, _model(Fields(rest, path, DOCUMENT), base), hedge_vol))
    return tuple(models)


def _study(top: Fields, spec: SimulationSpec, models: tuple[NamedModel, ...] | None) -> VariantStudy | None:
    """`variants:` with the overlay and models it compares; None when the config has none."""
    if not top.has("variants"):
        for key in ("models", "overlay", "overlay_fees"):
            if top.has(key):
                top.fail(key, "applies with 'variants' (the ways to carry the book that are compared)")
        return None
    from hedgecore.option_hedge import option_fee_terms

    rate, cap = option_fee_terms(Fields(top.mapping("overlay_fees"), "overlay_fees", DOCUMENT,
                                        allowed=OVERLAY_FEE_KEYS))
    as_of = top.timestamp("as_of", datetime.now(timezone.utc))
    overlay = tuple(_overlay_trade(item, join_path("overlay", k), as_of)
                    for k, item in enumerate(top.sequence("overlay")))
    policy_names = [policy.name for policy in spec.policies]
    items = top.sequence("variants")
    if not items:
        top.fail("variants", "must list at least one variant")
    variants: list[Variant] = []
    for index, item in enumerate(items):
        fields = Fields(item, join_path("variants", index), DOCUMENT, allowed=VARIANT_KEYS)
        name = fields.text("name").strip()
        if not name:
            fields.fail("name", "must not be empty")
        if any(v.name == name for v in variants):
            fields.fail("name", f"duplicate variant name '{name}'")
        policy = fields.text("policy", policy_names[0]).strip()
        if policy not in policy_names:
            fields.fail_at(fields.sub("policy"), f"no policy named '{policy}' (policies: {', '.join(policy_names)})",
                           suggest(policy, policy_names))
        overlaid = fields.boolean("overlay", False)
        if overlaid and not overlay:
            fields.fail("overlay", "is true but the config lists no 'overlay' trades")
        variants.append(Variant(name=name, policy=policy, overlay=overlaid))
    named = models if models is not None else (NamedModel(spec.model.type, spec.model),)
    return VariantStudy(models=named, overlay=overlay, fees=OverlayFees(rate, cap), variants=tuple(variants))


def _overlay_trade(data: Any, path: str, as_of: datetime) -> OverlayTrade:
    """One overlay trade: an instrument name (expiry from as_of) or the option's fields,
    side buy|sell, quantity >= 0 (options, each on one unit), price in the option's currency."""
    from hedgecore.instruments import parse_instrument_name

    fields = Fields(data, path, DOCUMENT, allowed=OVERLAY_KEYS)
    side = fields.choice("side", ("buy", "sell"))
    quantity = _in_range(fields, "quantity", fields.non_negative("quantity"), "quantity")
    price = fields.non_negative("price")
    name = ""
    if fields.has("instrument"):
        for key in ("type", "strike", "expiry_years", "settlement"):
            if fields.has(key):
                fields.fail(key, "give either 'instrument' or the option's fields, not both")
        name = fields.text("instrument").strip()
        instrument = parse_instrument_name(name)
        if instrument is None or instrument.kind != "option":
            fields.fail("instrument", f"is not an option name (like BTC-25DEC26-95000-C), got {show_text(name)}")
        assert instrument.expiry is not None
        assert instrument.strike is not None
        years = (instrument.expiry - as_of).total_seconds() / SECONDS_PER_YEAR
        if years <= 0.0:
            fields.fail("instrument", f"expired at {instrument.expiry.isoformat()}, before as_of {as_of.isoformat()}")
        quantity *= instrument.contract_size
        option = OptionSpec(type="call" if instrument.is_call else "put", strike=float(instrument.strike),
                            expiry_years=years, quantity=quantity if side == "buy" else -quantity,
                            settlement="inverse" if instrument.is_inverse else "linear")
        return OverlayTrade(option=option, price=price, name=name)
    option = OptionSpec(
        type=fields.choice("type", ("call", "put")),  # type: ignore[arg-type]
        strike=_in_range(fields, "strike", fields.positive("strike"), "price"),
        expiry_years=_in_range(fields, "expiry_years", fields.positive("expiry_years"), "years"),
        quantity=quantity if side == "buy" else -quantity,
        settlement=fields.choice("settlement", ("linear", "inverse"), "linear"),  # type: ignore[arg-type]
    )
    return OverlayTrade(option=option, price=price, name=name)


def _model(fields: Fields, base: Path) -> PriceModel:
    kind = fields.choice("type", tuple(MODEL_KEYS))
    Fields(fields.data, fields.path, DOCUMENT, allowed=MODEL_KEYS[kind])  # unknown keys
    if kind == "gbm":
        return GBMModel(spot=_in_range(fields, "spot", fields.positive("spot"), "price"),
                        drift=_in_range(fields, "drift", fields.number("drift", 0.0), "drift"),
                        vol=_in_range(fields, "vol", fields.positive("vol"), "vol"))
    if kind == "heston":
        rho = fields.number("rho", 0.0)
        if not -1.0 <= rho <= 1.0:
            fields.fail("rho", f"must be in [-1, 1], got {rho:g}")
        v0 = fields.non_negative("v0")
        theta = fields.positive("theta")
        for key, variance in (("v0", v0), ("theta", theta)):
            if variance > RANGES["vol"][1] ** 2:
                fields.fail(key, f"must be at most {RANGES['vol'][1] ** 2:g} (a variance: vol "
                                 f"{RANGES['vol'][1]:g}), got {variance:g}")
        return HestonModel(
            spot=_in_range(fields, "spot", fields.positive("spot"), "price"),
            drift=_in_range(fields, "drift", fields.number("drift", 0.0), "drift"),
            v0=v0,
            kappa=_in_range(fields, "kappa", fields.positive("kappa"), "kappa"),
            theta=theta,
            vol_of_vol=_in_range(fields, "vol_of_vol", fields.non_negative("vol_of_vol"), "vol"),
            rho=rho,
            scheme=fields.choice("scheme", ("qe", "euler"), "qe"),  # type: ignore[arg-type]
        )
    if kind == "merton":
        return MertonModel(
            spot=_in_range(fields, "spot", fields.positive("spot"), "price"),
            drift=_in_range(fields, "drift", fields.number("drift", 0.0), "drift"),
            vol=_in_range(fields, "vol", fields.positive("vol"), "vol"),
            jump_intensity=_in_range(fields, "jump_intensity", fields.non_negative("jump_intensity"),
                                     "jump_intensity"),
            jump_mean=_in_range(fields, "jump_mean", fields.number("jump_mean", 0.0), "jump_size"),
            jump_std=_in_range(fields, "jump_std", fields.non_negative("jump_std", 0.0), "jump_size"),
        )
    csv_name = fields.text("csv")
    csv_path = Path(csv_name) if Path(csv_name).is_absolute() else base / csv_name
    block_size = integer(fields, "block_size", minimum=1, maximum=MAX_C_INT) if fields.has("block_size") else None
    spot = _in_range(fields, "spot", fields.positive("spot"), "price") if fields.has("spot") else None
    if not csv_path.is_file():
        fields.fail("csv", f"no such file: {csv_path}")
    try:
        model = HistoricalModel.from_csv(csv_path, block_size=block_size, spot=spot)
    except (OSError, ValueError) as error:
        fields.fail("csv", str(error))
    if len(model.prices) < 2:
        fields.fail("csv", f"needs at least 2 prices, found {len(model.prices)} in {csv_path}")
    if any(not (math.isfinite(p) and p > 0.0) for p in model.prices):
        fields.fail("csv", f"prices must be finite and > 0 ({csv_path})")
    if block_size is not None and block_size > len(model.prices) - 1:
        fields.fail("block_size", f"must not exceed the {len(model.prices) - 1} returns in {csv_path}")
    return model


def _option(data: Any, path: str) -> OptionSpec:
    fields = Fields(data, path, DOCUMENT, allowed=OPTION_KEYS)
    quantity = _in_range(fields, "quantity", fields.number("quantity"), "quantity")
    if quantity == 0.0:
        fields.fail("quantity", "must not be 0 (negative = short)")
    return OptionSpec(
        type=fields.choice("type", ("call", "put")),  # type: ignore[arg-type]
        strike=_in_range(fields, "strike", fields.positive("strike"), "price"),
        expiry_years=_in_range(fields, "expiry_years", fields.positive("expiry_years"), "years"),
        quantity=quantity,
        settlement=fields.choice("settlement", ("linear", "inverse"), "linear"),  # type: ignore[arg-type]
    )


def _portfolio_options(
    top: Fields, base: Path, read_document: DocumentReader | None, underlying: str | None
) -> tuple[tuple[OptionSpec, ...], str]:
    """The options of one underlying of a hedgecore portfolio file, expiries in years from
    `as_of` (default: now). Futures, perpetuals and spot lines are left out: the simulator
    hedges an option book, and the policy's hedge is what it simulates."""
    from hedgecore.portfolio import parse_portfolio

    name = top.text("portfolio")
    file = Path(name) if Path(name).is_absolute() else base / name
    if read_document is None:
        top.fail(
            "portfolio",
            "portfolio files are read through the CLI (hedgecore simulate); "
            "pass read_document= or list the options inline",
        )
    if not file.is_file():
        top.fail("portfolio", f"no such file: {file}")
    portfolio = parse_portfolio(read_document(file))
    as_of = top.timestamp("as_of", datetime.now(timezone.utc))
    options = [p for p in portfolio.positions if p.instrument.kind == "option"]
    coins = list(dict.fromkeys(p.instrument.underlying for p in options))
    if not coins:
        top.fail("portfolio", f"{file.name} holds no options")
    if underlying is None:
        if len(coins) > 1:
            top.fail_at("underlying", f"is required: {file.name} holds options on {', '.join(coins)}")
        underlying = coins[0]
    chosen = [p for p in options if p.instrument.underlying == underlying]
    if not chosen:
        top.fail("underlying", f"{file.name} holds no {underlying} options (it has {', '.join(coins)})")
    specs = []
    for position in chosen:
        instrument = position.instrument
        assert instrument.expiry is not None
        assert instrument.strike is not None
        years = (instrument.expiry - as_of).total_seconds() / SECONDS_PER_YEAR
        if years <= 0.0:
            top.fail(
                "portfolio",
                f"{position.path} ({position.id}) expired at {instrument.expiry.isoformat()}, "
                f"before as_of {as_of.isoformat()}",
            )
        specs.append(
            OptionSpec(
                type="call" if instrument.is_call else "put",
                strike=float(instrument.strike),
                expiry_years=years,
                quantity=position.quantity * instrument.contract_size,
                settlement="inverse" if instrument.is_inverse else "linear",
            )
        )
    return tuple(specs), underlying


def _costs(fields: Fields) -> CostSpec:
    impact_coef = _in_range(fields, "impact_coef", fields.non_negative("impact_coef", 0.0), "impact_coef")
    impact_adv = math.inf
    if fields.has("impact_adv"):
        raw = fields.data["impact_adv"]
        impact_adv = math.inf if isinstance(raw, float) and raw == math.inf else fields.positive("impact_adv")
    elif impact_coef > 0.0:
        fields.fail_at(
            fields.sub("impact_adv"), "is required with impact_coef (average daily volume in units of the underlying)"
        )
    return CostSpec(
        proportional=_in_range(fields, "proportional", fields.non_negative("proportional", 0.0), "cost_fraction"),
        half_spread=_in_range(fields, "half_spread", fields.non_negative("half_spread", 0.0), "cost_fraction"),
        fixed=_in_range(fields, "fixed", fields.non_negative("fixed", 0.0), "fixed_cost"),
        funding_rate_8h=_in_range(fields, "funding_rate_8h", fields.number("funding_rate_8h", 0.0),
                                  "funding_rate_8h"),
        impact_coef=impact_coef,
        impact_adv=impact_adv,
    )


def policy_word(data: Mapping[str, Any], word: str) -> str:
    """The key a policy mapping uses for `word` (a documented word): the word itself, or
    its older spelling when only that is present (so errors name what the user wrote)."""
    older = POLICY_WORDS.get(word)
    return older if older is not None and word not in data and older in data else word


def parse_sim_policy(data: Any, path: str) -> PolicySpec:
    """One policy mapping -> PolicySpec; keys that do not apply to its method are refused.

    Keys are the policy file's words (`half_width`, `rebalance_to`, `outer_half_width`,
    `inner_half_width`, `min_interval` as a duration such as ``30m``); the older words
    (`width`, `rebalance`, `outer`, `inner`, `min_interval` as a whole number of steps)
    are still read. A duration becomes steps when the simulation runs (steps can change
    with --steps): see PolicySpec.min_interval_seconds.
    """
    fields = Fields(data, path, DOCUMENT, allowed=ALL_POLICY_KEYS)
    method = fields.choice("method", POLICY_METHODS)
    allowed = COMMON_POLICY_KEYS + METHOD_KEYS[method]
    for key in fields.data:
        word = OLDER_WORDS.get(str(key), str(key))
        if word not in allowed:
            fields.fail(
                str(key),
                f"does not apply to method '{method}' (it takes "
                f"{', '.join(METHOD_KEYS[method]) or 'no parameters'} besides {', '.join(COMMON_POLICY_KEYS)})",
            )
        if word != key and word in fields.data:
            fields.fail(str(key), f"give either {word} or its older name {key}, not both")
    name = fields.text("name", method).strip()
    if not name:
        fields.fail("name", "must not be empty")
    every = integer(fields, "every", 1, minimum=1, maximum=MAX_C_INT)
    width_key = policy_word(fields.data, "half_width")
    if method == "fixed" and not fields.has(width_key):
        fields.fail_at(path, "missing required key 'half_width' (or its older name 'width')")
    width = fields.non_negative(width_key) if method == "fixed" else None
    risk_aversion = None
    if method in ("whalley_wilmott", "zakamouline"):
        risk_aversion = fields.positive("risk_aversion")
    outer = inner = None
    if method == "nested":
        outer_key = policy_word(fields.data, "outer_half_width")
        inner_key = policy_word(fields.data, "inner_half_width")
        outer = fields.non_negative(outer_key) if fields.has(outer_key) else None
        inner = fields.non_negative(inner_key) if fields.has(inner_key) else None
        risk_aversion = fields.positive("risk_aversion") if fields.has("risk_aversion") else None
        if risk_aversion is not None and (outer is not None or inner is not None):
            fields.fail("risk_aversion", f"give either risk_aversion (optimal nested band) or {outer_key} and "
                                         f"{inner_key}, not both")
        if risk_aversion is None:
            if outer is None or inner is None:
                fields.fail_at(path, "nested policy needs 'risk_aversion', or both 'outer_half_width' and "
                                     "'inner_half_width' (older names: both 'outer' and 'inner')")
            if inner > outer:
                fields.fail(inner_key, f"must not exceed {outer_key} ({inner:g} > {outer:g})")
    rebalance = None
    rebalance_key = policy_word(fields.data, "rebalance_to")
    if fields.has(rebalance_key):
        if method in ("none", "time", "leland", "nested"):
            fields.fail(rebalance_key, f"does not apply to method '{method}'")
        rebalance = fields.choice(rebalance_key, ("edge", "target"))
    min_interval, min_interval_seconds = _min_interval(fields)
    min_trade = fields.non_negative("min_trade", 0.0)
    return PolicySpec(
        name=name,
        method=method,  # type: ignore[arg-type]
        every=every,
        width=width,
        risk_aversion=risk_aversion,
        outer=outer,
        inner=inner,
        rebalance=rebalance,  # type: ignore[arg-type]
        min_interval=min_interval,
        min_trade=min_trade,
        min_interval_seconds=min_interval_seconds,
    )


def _min_interval(fields: Fields) -> tuple[int, float | None]:
    """`min_interval` as (steps, None) for a whole number of steps (the older form), or
    (0, seconds) for a duration such as ``30m`` (the policy file's form)."""
    if isinstance(fields.data.get("min_interval"), str):
        return 0, fields.duration("min_interval", timedelta(0)).total_seconds()
    return integer(fields, "min_interval", 0, minimum=0, maximum=MAX_C_INT), None


def parse_policies(items: list[Any], path: str) -> tuple[PolicySpec, ...]:
    """A list of policy mappings; names must be unique."""
    policies: list[PolicySpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        policy = parse_sim_policy(item, join_path(path, index))
        if policy.name in seen:
            where = join_path(join_path(path, index), "name")
            raise ConfigError(
                where,
                f"duplicate policy name '{policy.name}' (first used by {path}[{seen[policy.name]}])",
                document=DOCUMENT,
            )
        seen[policy.name] = index
        policies.append(policy)
    return tuple(policies)
