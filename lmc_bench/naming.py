"""Names of run configurations, for people (report, CLI) and for test ids."""

from __future__ import annotations

from .config import EvalSpec, RunSpec, TrainSpec


def format_lr(lr: float) -> str:
    """A learning rate as the paper writes it: 1e-3, 1.5e-2."""
    mantissa, exponent = f"{lr:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def describe_spec(spec: RunSpec) -> str:
    """Readable name of a run configuration, e.g. "mlp_l1, mnist, lr 1e-3, B=32, 20/80, different noise"."""
    return ", ".join([spec.model, spec.data.dataset, f"lr {format_lr(spec.train.lr)}", f"B={spec.train.batch_size}",
                      *(text for _, _, text in _variations(spec))])


DEFAULT_ID_PARTS = {"shift": "split50-50", "normalization": "centred", "init": "shared-init", "noise": "same-noise",
                    "epochs": f"{TrainSpec.epochs}ep", "precision": TrainSpec.precision, "bn_mode": f"bn-{EvalSpec.bn_mode}"}
"""Test-id names of the defaults, for a comparison whose other settings depart from them."""


def _variations(spec: RunSpec) -> list[tuple[str, str, str]]:
    """(kind, short, readable) names of the ways ``spec`` departs from the protocol's defaults."""
    out = []
    if spec.data.shift == "label_imbalance":
        x = spec.data.imbalance_x
        out.append(("shift", f"split{x}-{100 - x}", f"{x}/{100 - x}"))
    elif spec.data.shift == "none":
        out.append(("shift", "one-subset", "same subset"))
    elif spec.data.shift == "domain":
        first, second = spec.data.bands
        out.append(("shift", f"{first}-vs-{second}", f"bands {first} vs {second}"))
    if spec.data.normalization == "unit":
        out.append(("normalization", "unit01", "[0,1]"))
    if spec.train.init == "independent":
        out.append(("init", "indep-init", "independent init"))
    if spec.train.noise == "different":
        out.append(("noise", "diff-noise", "different noise"))
    if spec.train.epochs != TrainSpec.epochs:
        out.append(("epochs", f"{spec.train.epochs}ep", f"{spec.train.epochs} epoch" + ("s" if spec.train.epochs != 1 else "")))
    if spec.train.precision != TrainSpec.precision:
        out.append(("precision", spec.train.precision, spec.train.precision))
    if spec.eval.bn_mode != EvalSpec.bn_mode:
        out.append(("bn_mode", f"bn-{spec.eval.bn_mode}", f"BatchNorm {spec.eval.bn_mode}d"))
    return out


def variation_kinds(spec: RunSpec) -> set[str]:
    """The kinds of default (:data:`DEFAULT_ID_PARTS`) that ``spec`` departs from."""
    return {kind for kind, _, _ in _variations(spec)}


def spec_id_parts(spec: RunSpec, named_defaults: set[str] = frozenset()) -> list[str]:
    """The parts of a test id naming ``spec``: model, dataset, lr, batch size, then what differs from
    the defaults, and the defaults it keeps among ``named_defaults`` (kinds of :data:`DEFAULT_ID_PARTS`)."""
    variations = _variations(spec)
    departed = {kind for kind, _, _ in variations}
    kept = [DEFAULT_ID_PARTS[kind] for kind in DEFAULT_ID_PARTS if kind in named_defaults and kind not in departed]
    return [spec.model, spec.data.dataset, f"lr{format_lr(spec.train.lr)}", f"B{spec.train.batch_size}",
            *(short for _, short, _ in variations), *kept]
