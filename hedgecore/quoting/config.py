"""The quoting YAML: per underlying, what to quote, how big, how hard to lean on inventory.

Where a quoting file becomes objects. Every field is validated here; a wrong one raises
ConfigError with its field path (``underlyings.BTC.risk_aversion.vega``) and document
"quoting". Schema and units (README "Quoting config"):

    underlyings:
      BTC:
        instruments:
          names: [BTC-PERPETUAL, BTC-25DEC26-100000-C]   # quoted as named
          filter:                                        # and/or options generated from a filter
            expiries: [25DEC26, 26MAR27]                 # expiry codes (default: the market's smiles)
            strikes: {min: 80000, max: 120000, step: 5000}   # or a list of strikes, USD
            types: [call, put]
            delta: {min: 0.10, max: 0.90}                # |delta| per contract (coin), options only
            settlement: inverse                          # inverse (BTC-...) or linear (BTC_USDC-...)
        order_size: {option: 1, perpetual: 10000, future: 10000}   # contracts per quote (or one number)
        risk_aversion:          # penalty 0.5 (delta_ra D^2 + sum_b vega_ra_b V_b^2 + gamma_ra G^2), USD
          delta: 0.5            # USD per coin^2          (D: book delta, coin)
          vega: 0.0002          # 1/USD, or per expiry {25DEC26: 0.0002, default: 0.0001} (V_b: vega USD per vol point)
          gamma: 0.0            # 1/USD                   (G: gamma USD per 1% move)
          cara: null            # optional CARA gamma per native price unit for the base spread
        intensity:              # fills per hour at depth 0 (A) and per native price unit of depth (k)
          option: {A: 2.0, k: 5000}           # or {fills_csv: fills.csv} (relative to the quoting file)
                                              # or {from_journal: true | PATH, max_mid_age_minutes: 60}
          perpetual: {A: 30, k: 0.05}
        limits: {delta: 50, vega_usd: 200000, gamma_usd_1pct: 100000, position: {option: 500}}
                                # position: contracts per instrument (one number: every kind)
        fees: {option_maker: 0.0003, option_cap: 0.125, perpetual_maker: 0.0}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hedgecore.errors import ConfigError, Fields, finite_number, join_path
from hedgecore.instruments import parse_expiry_code

DOCUMENT = "quoting"
KINDS = ("option", "perpetual", "future")
MAX_GENERATED = 100_000


@dataclass(frozen=True, slots=True)
class StrikeRange:
    low: float
    high: float
    step: float


@dataclass(frozen=True, slots=True)
class InstrumentFilter:
    expiries: tuple[str, ...] | None = None        # expiry codes; None: every smile of the market
    strikes: StrikeRange | tuple[float, ...] | None = None
    types: tuple[str, ...] = ("call", "put")
    delta_min: float = 0.0
    delta_max: float = math.inf
    settlement: str = "inverse"


@dataclass(frozen=True, slots=True)
class Intensity:
    a_per_hour: float
    k: float
    source: str = "config"           # "config", or the fills CSV or journal it was estimated from
    a_interval: tuple[float, float] | None = None
    k_interval: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    delta: float = math.inf
    vega_usd: float = math.inf
    gamma_usd_1pct: float = math.inf
    position: dict[str, float] = field(default_factory=dict)   # contracts per instrument, by kind


@dataclass(frozen=True, slots=True)
class Fees:
    option_maker: float = 0.0        # units of the underlying per contract (0.0003 = 0.03%)
    option_cap: float = 0.125        # at most this fraction of the option's price
    perpetual_maker: float = 0.0     # fraction of notional (also futures)


@dataclass(frozen=True)
class UnderlyingQuoting:
    underlying: str
    names: tuple[str, ...]
    filter: InstrumentFilter | None
    order_size: dict[str, float]
    delta_ra: float
    vega_ra: dict[str, float]          # expiry code -> 1/USD; "default" for the rest
    gamma_ra: float
    cara: float | None
    intensity: dict[str, Intensity]
    limits: Limits
    fees: Fees
    path: str = ""

    def vega_ra_of(self, expiry_code: str) -> float:
        return self.vega_ra.get(expiry_code, self.vega_ra.get("default", 0.0))


@dataclass(frozen=True)
class QuotingConfig:
    underlyings: dict[str, UnderlyingQuoting] = field(default_factory=dict)


def parse_quoting(data: Any, *, base_dir: Path | None = None,
                  estimate: Callable[[Path, str, str], Intensity] | None = None,
                  estimate_journal: Callable[[Path, str, str, float], Intensity] | None = None) -> QuotingConfig:
    """A decoded quoting document -> QuotingConfig. `estimate(csv_path, kind, underlying)`
    turns `fills_csv` into an Intensity (the caller passes hedgecore.quoting.intensity's, or
    a stub in tests); without it `fills_csv` is refused. `estimate_journal(journal_path,
    kind, underlying, max_age_seconds)` does the same for `from_journal`
    (hedgecore.quoting.journal_fills)."""
    top = Fields(data, "", DOCUMENT, allowed=("underlyings",))
    raw = top.mapping("underlyings", required=True)
    if not raw:
        top.fail("underlyings", "must name at least one underlying")
    result = {}
    for name, body in raw.items():
        where = join_path("underlyings", str(name))
        result[str(name).upper()] = _underlying(str(name).upper(), Fields(body, where, DOCUMENT, allowed=(
            "instruments", "order_size", "risk_aversion", "intensity", "limits", "fees")), base_dir, estimate,
            estimate_journal)
    return QuotingConfig(result)


def _from_journal(spec: Fields, kind: str, underlying: str, base_dir: Path | None,
                  estimate_journal: Callable[[Path, str, str, float], Intensity] | None) -> Intensity:
    """`from_journal: true` (the default journal) or a path (relative to the quoting file)."""
    if spec.has("k"):
        spec.fail_at(spec.path, "give A and k, fills_csv or from_journal: one of them")
    if estimate_journal is None:
        spec.fail("from_journal", "estimating from the journal is not available here")
    raw = spec.raw("from_journal")
    if raw is True:
        from hedgecore.journal.store import default_journal_path

        journal = default_journal_path()
    elif isinstance(raw, str) and raw.strip():
        journal = Path(raw.strip()).expanduser()
        if base_dir is not None and not journal.is_absolute():
            journal = base_dir / journal
    else:
        spec.fail("from_journal", "must be true (the default journal) or a journal file's path")
    age = spec.positive("max_mid_age_minutes", 60.0)
    return estimate_journal(journal, kind, underlying, age * 60.0)


def _underlying(name: str, f: Fields, base_dir: Path | None,
                estimate: Callable[[Path, str, str], Intensity] | None,
                estimate_journal: Callable[[Path, str, str, float], Intensity] | None = None) -> UnderlyingQuoting:
    inst = Fields(f.mapping("instruments", required=True), f.sub("instruments"), DOCUMENT,
                  allowed=("names", "filter"))
    names = []
    for index, item in enumerate(inst.sequence("names")):
        if not isinstance(item, str) or not item.strip():
            inst.fail_at(f"{inst.sub('names')}[{index}]", "must be an instrument name such as BTC-PERPETUAL")
        names.append(item.strip().upper())
    instrument_filter = _filter(Fields(inst.mapping("filter"), inst.sub("filter"), DOCUMENT, allowed=(
        "expiries", "strikes", "types", "delta", "settlement"))) if inst.has("filter") else None
    if not names and instrument_filter is None:
        inst.fail_at(inst.path, "give names, a filter or both")

    sizes = f.raw("order_size", 1.0)
    order_size: dict[str, float]
    if isinstance(sizes, dict):
        size_fields = Fields(sizes, f.sub("order_size"), DOCUMENT, allowed=KINDS)
        order_size = {kind: size_fields.positive(kind, 1.0) for kind in KINDS}
    else:
        value = f.positive("order_size", 1.0)
        order_size = dict.fromkeys(KINDS, value)

    ra = Fields(f.mapping("risk_aversion"), f.sub("risk_aversion"), DOCUMENT,
                allowed=("delta", "vega", "gamma", "cara"))
    vega_raw = ra.raw("vega", 0.0)
    vega_ra: dict[str, float]
    if isinstance(vega_raw, dict):
        vega_fields = Fields(vega_raw, ra.sub("vega"), DOCUMENT)
        vega_ra = {}
        for key in vega_raw:
            code = str(key).upper()
            if code != "DEFAULT" and parse_expiry_code(code) is None:
                vega_fields.fail(str(key), "must be an expiry code such as 25DEC26 or 'default'")
            vega_ra["default" if code == "DEFAULT" else code] = vega_fields.non_negative(str(key))
    else:
        vega_ra = {"default": ra.non_negative("vega", 0.0)}
    cara = ra.positive("cara") if ra.has("cara") else None

    intensity_fields = Fields(f.mapping("intensity", required=True), f.sub("intensity"), DOCUMENT, allowed=KINDS)
    intensity = {}
    for kind in KINDS:
        if not intensity_fields.has(kind):
            continue
        spec = Fields(intensity_fields.mapping(kind), intensity_fields.sub(kind), DOCUMENT,
                      allowed=("A", "k", "fills_csv", "from_journal", "max_mid_age_minutes"))
        sources = [key for key in ("A", "fills_csv", "from_journal") if spec.has(key)]
        if len(sources) > 1 and sources != ["A"]:
            spec.fail_at(spec.path, "give A and k, fills_csv or from_journal: one of them")
        if spec.has("max_mid_age_minutes") and not spec.has("from_journal"):
            spec.fail("max_mid_age_minutes", "only with from_journal")
        if spec.has("from_journal"):
            intensity[kind] = _from_journal(spec, kind, name, base_dir, estimate_journal)
        elif spec.has("fills_csv"):
            if spec.has("A") or spec.has("k"):
                spec.fail_at(spec.path, "give A and k, or fills_csv, not both")
            if estimate is None:
                spec.fail("fills_csv", "estimating from fills is not available here")
            csv_path = Path(spec.text("fills_csv"))
            if base_dir is not None and not csv_path.is_absolute():
                csv_path = base_dir / csv_path
            intensity[kind] = estimate(csv_path, kind, name)
        else:
            intensity[kind] = Intensity(spec.positive("A"), spec.positive("k"))
    if not intensity:
        intensity_fields.fail_at(intensity_fields.path, f"give the intensity of at least one of {', '.join(KINDS)}")

    lim = Fields(f.mapping("limits"), f.sub("limits"), DOCUMENT,
                 allowed=("delta", "vega_usd", "gamma_usd_1pct", "position"))
    position_raw = lim.raw("position")
    if isinstance(position_raw, dict):
        by_kind = Fields(position_raw, lim.sub("position"), DOCUMENT, allowed=KINDS)
        position = {kind: by_kind.positive(kind) for kind in KINDS if by_kind.has(kind)}
    else:
        position = dict.fromkeys(KINDS, lim.positive("position")) if position_raw is not None else {}
    bounds = {key: lim.positive(key) if lim.has(key) else math.inf
              for key in ("delta", "vega_usd", "gamma_usd_1pct")}
    limits = Limits(delta=bounds["delta"], vega_usd=bounds["vega_usd"], gamma_usd_1pct=bounds["gamma_usd_1pct"],
                    position=position)
    fee_fields = Fields(f.mapping("fees"), f.sub("fees"), DOCUMENT,
                        allowed=("option_maker", "option_cap", "perpetual_maker"))
    fees = Fees(fee_fields.number("option_maker", 0.0), fee_fields.non_negative("option_cap", 0.125),
                fee_fields.number("perpetual_maker", 0.0))
    for key, value in (("option_maker", fees.option_maker), ("perpetual_maker", fees.perpetual_maker)):
        if not -0.01 <= value <= 0.01:
            fee_fields.fail(key, f"must be within [-0.01, 0.01], got {value}")
    return UnderlyingQuoting(
        underlying=name, names=tuple(names), filter=instrument_filter, order_size=order_size,
        delta_ra=ra.non_negative("delta", 0.0), vega_ra=vega_ra, gamma_ra=ra.non_negative("gamma", 0.0),
        cara=cara, intensity=intensity, limits=limits, fees=fees, path=f.path)


def _filter(f: Fields) -> InstrumentFilter:
    expiries: list[str] | None = None
    if f.has("expiries"):
        expiries = []
        for index, code in enumerate(f.sequence("expiries")):
            text = str(code).strip().upper()
            if parse_expiry_code(text) is None:
                f.fail_at(f"{f.sub('expiries')}[{index}]", f"must be an expiry code such as 25DEC26, got '{text[:20]}'")
            expiries.append(text)
    strikes: StrikeRange | tuple[float, ...] | None = None
    raw = f.raw("strikes")
    if isinstance(raw, dict):
        s = Fields(raw, f.sub("strikes"), DOCUMENT, allowed=("min", "max", "step"))
        low, high, step = s.positive("min"), s.positive("max"), s.positive("step")
        if high < low:
            s.fail("max", f"must be >= min ({low}), got {high}")
        if (high - low) / step > MAX_GENERATED:
            s.fail("step", f"gives more than {MAX_GENERATED:,} strikes")
        strikes = StrikeRange(low, high, step)
    elif raw is not None:
        values = []
        for index, item in enumerate(f.sequence("strikes")):
            where = f"{f.sub('strikes')}[{index}]"
            value = finite_number(item, where, DOCUMENT)
            if not value > 0.0:
                f.fail_at(where, f"must be > 0, got {value}")
            values.append(value)
        strikes = tuple(values)
    types = tuple(str(t).lower() for t in f.sequence("types")) or ("call", "put")
    for index, kind in enumerate(types):
        if kind not in ("call", "put"):
            f.fail_at(f"{f.sub('types')}[{index}]", f"must be call or put, got '{kind[:20]}'")
    low_delta, high_delta = 0.0, math.inf
    if f.has("delta"):
        d = Fields(f.mapping("delta"), f.sub("delta"), DOCUMENT, allowed=("min", "max"))
        low_delta, high_delta = d.non_negative("min", 0.0), d.positive("max", 1e9)
        if high_delta < low_delta:
            d.fail("max", f"must be >= min ({low_delta}), got {high_delta}")
    settlement = f.choice("settlement", ("inverse", "linear"), "inverse")
    return InstrumentFilter(None if expiries is None else tuple(expiries), strikes, types, low_delta,
                            high_delta, settlement)


__all__ = [
    "DOCUMENT",
    "ConfigError",
    "Fees",
    "InstrumentFilter",
    "Intensity",
    "Limits",
    "QuotingConfig",
    "UnderlyingQuoting",
    "parse_quoting",
]
