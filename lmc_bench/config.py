"""Run descriptions: frozen dataclasses whose canonical JSON names a run in the results store.

A :class:`RunSpec` is everything that determines what one experiment computes (protocol of
docs/protocol.md: split, init, pair training, interpolation). Its :func:`spec_hash` is the key under which
the store keeps the result, so the same run is never trained twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field

from .code_version import code_fingerprint

SCHEMA_VERSION = 1
"""Layout of a run description; raised when a field changes meaning."""

PAPER_SEEDS = (1, 20, 100, 500, 1500)
"""Initialisation seeds of the paper (Appendix C)."""

SEED_LIMIT = 2**32
"""Seeds are integers in [0, 2^32), the range every random-number generator involved accepts."""

DEFAULT_LAMBDAS = tuple(round(i / 10, 1) for i in range(11))
"""Default interpolation grid: 0, 0.1, ..., 1 (the paper does not state one; docs/protocol.md)."""

SHIFTS = ("covariate", "label_imbalance", "none", "domain")
DOMAIN_DATASETS = ("bigearthnet", "bigearthnet_example")
RESAMPLINGS = ("bilinear", "nearest")
NOISES = ("same", "different")
NORMALIZATIONS = ("centered", "unit")
INITS = ("shared", "independent")
BN_MODES = ("interpolate", "recompute")
ENGINES = ("naive", "fast")
AUTO_ENGINE = "auto"
"""A spec's default engine: resolved, on the device the run trains on, by
:func:`lmc_bench.experiment.resolve_engine` before the run is looked up or stored."""
PRECISIONS = ("fp32", "bf16")


def _check(value, allowed, what):
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(map(repr, allowed))}")


@dataclass(frozen=True)
class DataSpec:
    """Which data and which shift (Table II).

    ``shift``: "covariate" = class-aligned 50/50 split; "label_imbalance" = x/(100-x) split with
    ``imbalance_x``; "none" = both copies train on subset 1 of the 50/50 split (Fig. 6); "domain" =
    BigEarthNet, every training patch in band selection ``bands[0]`` for copy A and in ``bands[1]``
    for copy B (Section IV-F).
    ``normalization``: "centered" (per-channel training mean/std) or "unit" (x/255, "[0,1]").
    ``flip``: random horizontal flip of training images (CIFAR-10 in the paper).
    ``split_seed``: seed of the random split (Section III-B splits "at random").
    ``bands``: domain shift only, the two band selections, stored canonically ("B02", "B04B03B02").
    ``resampling``: how 20 m and 60 m bands reach 120 x 120 ("bilinear" or "nearest"; BigEarthNet only).
    """

    dataset: str = "mnist_bundled"
    shift: str = "covariate"
    imbalance_x: int = 20
    normalization: str = "centered"
    flip: bool = False
    split_seed: int = 0
    bands: tuple[str, ...] = ()
    resampling: str = "bilinear"

    def __post_init__(self):
        _check(self.shift, SHIFTS, "shift")
        _check(self.normalization, NORMALIZATIONS, "normalization")
        _check(self.resampling, RESAMPLINGS, "resampling")
        if not 0 < self.imbalance_x < 100:
            raise ValueError(f"imbalance_x must lie in (0, 100), got {self.imbalance_x}")
        object.__setattr__(self, "bands", self._checked_bands())

    def _checked_bands(self) -> tuple[str, ...]:
        """The two band selections of the domain shift, canonical; nothing for other shifts."""
        if (self.shift == "domain") != (self.dataset in DOMAIN_DATASETS):
            raise ValueError(f"the domain shift is the shift of {', '.join(DOMAIN_DATASETS)} (and they have no other); "
                             f"got dataset {self.dataset!r} with shift {self.shift!r}")
        if self.shift != "domain":
            if self.bands:
                raise ValueError(f"bands are for the domain shift only, got {self.bands!r} with shift {self.shift!r}")
            return ()
        from .data.bigearthnet.bands import canonical_selection, parse_selection

        if isinstance(self.bands, str) or len(self.bands) != 2:
            raise ValueError(f"the domain shift needs two band selections (subset 1, subset 2), got {self.bands!r}")
        if self.normalization != "centered":
            raise ValueError("BigEarthNet is standardised per band (normalization 'centered'); '[0,1]' is not defined for it")
        first, second = (parse_selection(b) for b in self.bands)
        if len(first) != len(second):
            raise ValueError(f"both band selections need the same number of bands (one network), got {self.bands!r}")
        return canonical_selection(first), canonical_selection(second)

    def model_overrides(self) -> dict:
        """Input options of the model: the channel count of the domain shift's band selections."""
        if self.shift != "domain":
            return {}
        from .data.bigearthnet.bands import parse_selection

        return {"in_channels": len(parse_selection(self.bands[0]))}


@dataclass(frozen=True)
class TrainSpec:
    """How each copy is trained (Section III, Appendix B): Adam, constant lr, NLL or BCE.

    ``precision``: "fp32" (the paper's numerics, the only one claims accept) or "bf16" (forward and
    backward of training steps under bfloat16 autocast; weights, Adam and every evaluation stay fp32).
    """

    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 20
    noise: str = "same"
    init: str = "shared"
    precision: str = "fp32"

    def __post_init__(self):
        _check(self.noise, NOISES, "SGD noise")
        _check(self.init, INITS, "init")
        _check(self.precision, PRECISIONS, "precision")
        if self.batch_size < 1 or self.epochs < 1 or not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"batch size, epochs and learning rate must be positive and finite; got batch size "
                             f"{self.batch_size}, {self.epochs} epochs, lr {self.lr}")


@dataclass(frozen=True)
class EvalSpec:
    """Interpolation grid and BatchNorm handling along the path (defaults of docs/protocol.md)."""

    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    bn_mode: str = "interpolate"
    on_train: bool = False

    def __post_init__(self):
        _check(self.bn_mode, BN_MODES, "BatchNorm mode")
        lambdas = tuple(float(x) for x in self.lambdas)
        object.__setattr__(self, "lambdas", lambdas)
        if len(lambdas) < 3 or list(lambdas) != sorted(lambdas) or not {0.0, 0.5, 1.0} <= set(lambdas):
            raise ValueError(f"lambdas must be increasing and contain 0, 0.5 and 1, got {lambdas}")


@dataclass(frozen=True)
class RunSpec:
    """One experiment: two copies of one initialised network trained on two subsets, then
    interpolated. ``engine`` chooses the trainer ("fast" stacks models; "naive" is the reference;
    "auto", the default, is the faster of the two on the run's device, the same choice the CLI and
    the claim tests make)."""

    model: str
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    eval: EvalSpec = field(default_factory=EvalSpec)
    seed: int = 1
    engine: str = AUTO_ENGINE

    def __post_init__(self):
        _check(self.engine, (AUTO_ENGINE, *ENGINES), "engine")
        if not (isinstance(self.seed, int) and 0 <= self.seed < SEED_LIMIT):
            raise ValueError(f"seed must be an integer in [0, 2^32), got {self.seed}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        return cls(
            model=d["model"],
            data=DataSpec(**d["data"]),
            train=TrainSpec(**d["train"]),
            eval=EvalSpec(**{**d["eval"], "lambdas": tuple(d["eval"]["lambdas"])}),
            seed=d["seed"],
            engine=d["engine"],
        )

    def replace(self, **changes) -> "RunSpec":
        """Copy with changes; nested fields by ``"train.lr"`` style keys."""
        nested: dict[str, dict] = {}
        top = {}
        for key, value in changes.items():
            if "." in key:
                part, name = key.split(".", 1)
                nested.setdefault(part, {})[name] = value
            else:
                top[key] = value
        for part, values in nested.items():
            top[part] = dataclasses.replace(getattr(self, part), **values)
        return dataclasses.replace(self, **top)


def canonical_json(spec: RunSpec) -> str:
    """Key-sorted, whitespace-free JSON of the spec, the schema version and the fingerprint of the
    code that trains and measures (:func:`lmc_bench.code_version.code_fingerprint`): results of
    older code are never read as current."""
    payload = {"schema": SCHEMA_VERSION, "code": code_fingerprint(), **spec.to_dict()}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def spec_hash(spec: RunSpec) -> str:
    """Content hash naming the run in the store (first 16 hex digits of SHA-256)."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]
