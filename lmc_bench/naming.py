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
                      *(text for _, text in _variations(spec))])


def _variations(spec: RunSpec) -> list[tuple[str, str]]:
    """(short, readable) names of the ways ``spec`` departs from the protocol's defaults."""
    out = []
    if spec.data.shift == "label_imbalance":
        x = spec.data.imbalance_x
        out.append((f"split{x}-{100 - x}", f"{x}/{100 - x}"))
    elif spec.data.shift == "none":
        out.append(("one-subset", "same subset"))
    elif spec.data.shift == "domain":
        first, second = spec.data.bands
        out.append((f"{first}-vs-{second}", f"bands {first} vs {second}"))
    if spec.data.normalization == "unit":
        out.append(("unit01", "[0,1]"))
    if spec.train.init == "independent":
        out.append(("indep-init", "independent init"))
    if spec.train.noise == "different":
        out.append(("diff-noise", "different noise"))
    if spec.train.epochs != TrainSpec.epochs:
        out.append((f"{spec.train.epochs}ep", f"{spec.train.epochs} epoch" + ("s" if spec.train.epochs != 1 else "")))
    if spec.train.precision != TrainSpec.precision:
        out.append((spec.train.precision, spec.train.precision))
    if spec.eval.bn_mode != EvalSpec.bn_mode:
        out.append((f"bn-{spec.eval.bn_mode}", f"BatchNorm {spec.eval.bn_mode}d"))
    return out


def spec_id_parts(spec: RunSpec) -> list[str]:
    """The parts of a test id naming ``spec``: model, dataset, lr, batch size, then what differs from the defaults."""
    return [spec.model, spec.data.dataset, f"lr{format_lr(spec.train.lr)}", f"B{spec.train.batch_size}",
            *(short for short, _ in _variations(spec))]
