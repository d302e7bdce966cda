"""The report as a reader sees it: real HTML (no Markdown markers, coloured verdict badges without
emoji, images that decode), figures whose titles fit, runs grouped by their full description,
training time of the runs beside the test's own time, and truthful analogue wording."""

import base64
import html.parser
import io
import re
import shutil
import subprocess

import matplotlib
import numpy as np
import pytest
from PIL import Image

from lmc_bench import plots
from lmc_bench.claims import Measurement, Setting, paper_setting, paper_spec, smoke_setting
from lmc_bench.config import DataSpec, RunSpec, TrainSpec
from lmc_bench.experiment import run_experiments
from lmc_bench.report import (build_report, family_label, format_value, noise_relation, recommendations_table,
                              skipped_rows, summary_rows)
from lmc_bench.store import ResultsStore

BASE = RunSpec("mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=1, batch_size=64))
VARIANTS = {
    "base": BASE,
    "unit": BASE.replace(**{"data.normalization": "unit"}),
    "b32": BASE.replace(**{"train.batch_size": 32}),
    "c2b": BASE.replace(**{"data.shift": "none", "train.init": "independent", "train.noise": "different", "eval.on_train": True}),
    "bf16": BASE.replace(**{"train.precision": "bf16"}),
}
SEEDS = (1, 2)
EMOJI = re.compile("[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\u23e9-\u23fa]")


def outcome(claim, status, settings, *, tier="smoke", headline=("barrier", "delta"), extra=None, reason="", checks=None,
            expectation="asserted", analogue=""):
    """A claim outcome as the pytest plugin stores it."""
    summaries = [Measurement(setting, records).summary(headline) for setting, records in settings]
    label = summaries[0]["label"] if len(summaries) == 1 else expectation
    return {"nodeid": f"claims/test_x.py::test_x[{claim}-{tier}-{label}]", "claim": claim, "row": label,
            "test_id": f"{claim}-{tier}-{len(label)}", "headline": list(headline), "title": f"title of {claim}", "section": "IV",
            "tier": tier, "analogue": analogue, "expectation": expectation, "status": status, "reason": reason,
            "wall_seconds": 3.0, "recorded": "2026-01-01T00:00:00+00:00", "settings": summaries,
            "checks": checks if checks is not None else [{"description": "Δ holds", "passed": status == "passed", "detail": "numbers"}],
            "extra": extra or {}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = ResultsStore(tmp_path_factory.mktemp("results"))
    records = {name: run_experiments([spec.replace(seed=s) for s in SEEDS], store, "cpu", show_progress=False)
               for name, spec in VARIANTS.items()}
    setting = {name: smoke_setting("", spec, ("mnist", 1e-3, 1024)) for name, spec in VARIANTS.items()}
    outcomes = [
        outcome("C1", "passed", [(setting["base"], records["base"])], analogue="fewer images"),
        outcome("C3", "not reproduced", [(setting["b32"], records["b32"]), (setting["base"], records["base"])],
                expectation="barrier falls from B=32 to B=64", extra={"barrier_means": [1.4352331970214842, 2.0312]}),
        outcome("C2b", "failed", [(setting["c2b"], records["c2b"])], headline=("train_a_barrier", "train_a_delta"),
                extra={"gap": {"seed 1": 12.3456789}}),
        outcome("C6", "xpassed", [(setting["unit"], records["unit"])]),
        outcome("C8", "passed", [(setting["base"], records["base"])], headline=("wa_lmc", "wd_lmc"),
                extra={"ensembles": {"lmc": {"wa": [0.2, 0.01], "wd": [0.04, 0.01], "vote_acc": [71.0, 0.5], "average_acc": [72.0, 0.4]},
                                     "different_seeds": {"wa": 0.1, "wd": 0.08, "vote_acc": 77.0, "average_acc": 78.0}}}),
        *(outcome("C4", "skipped", [], tier="full", reason="full-tier claim needs a CUDA GPU", checks=[]) for _ in range(3)),
        outcome("C4", "skipped", [], tier="full", reason="MNIST: not found under data root /x; expected ROOT/MNIST/raw/", checks=[]),
    ]
    outcomes[4]["settings"][0]["measured"].update({"wa_lmc": [0.2, 0.01], "wd_lmc": [0.04, 0.01]})
    outcomes[4]["settings"][0]["paper"].update({"wa_lmc": [0.245, 0.002], "wd_lmc": [0.165, 0.002]})
    for i, o in enumerate(outcomes):
        o["nodeid"] += str(i)
        store.save_claim(f"outcome-{i}", o)
    return store


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    return build_report(store, tmp_path_factory.mktemp("report"))


class PageText(html.parser.HTMLParser):
    """Visible text, images and verdict badges of an HTML page."""

    def __init__(self):
        super().__init__()
        self.text, self.images, self.badges, self._skip, self._badge = [], [], [], False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._skip = tag in ("style", "script")
        if tag == "img":
            self.images.append(attrs["src"])
        self._badge = tag == "span" and "verdict" in attrs.get("class", "")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)
            if self._badge:
                self.badges.append(data)
                self._badge = False


def parse(path) -> PageText:
    page = PageText()
    page.feed(path.read_text())
    return page


def test_html_has_no_markdown_markers_and_every_image_decodes(report):
    page = parse(report["html"])
    text = "\n".join(page.text)
    for marker in ("**", "`", "![", "|---", "](figures/", "\n- ", "\n# ", "\n## "):
        assert marker not in text, marker
    assert len(page.images) >= 6
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()
    assert "<li>" in report["html"].read_text() and "<script" not in report["html"].read_text()


def test_verdicts_are_coloured_text_badges_without_emoji(report):
    page = parse(report["html"])
    assert {"reproduced", "not reproduced", "not reproduced (known finding)", "reproduced, unexpectedly"} <= set(page.badges)
    for path in (report["html"], report["md"]):
        assert not EMOJI.search(path.read_text()), EMOJI.search(path.read_text())
    assert ".verdict-passed{background:" in report["html"].read_text().replace(" ", "")


def test_markdown_keeps_figures_beside_it(report):
    md = report["md"].read_text()
    for name in re.findall(r"\(figures/([^)]+)\)", md):
        assert (report["md"].parent / "figures" / name).is_file()


def test_noted_values_are_formatted(report):
    md = report["md"].read_text()
    assert "1.4352331970214842" not in md and "barrier means: 1.44, 2.03" in md
    assert "gap: seed 1: 12.3" in md
    assert format_value({"a_b": [0.123456, True, None]}) == "a b: 0.123, yes, –"


def test_c8_summary_shows_wrong_agreement_and_disagreement(store):
    [c8] = [o for o in store.claim_outcomes() if o["claim"] == "C8"]
    [row] = summary_rows([c8])
    assert row[2] == "WA (LMC) 0.245 ± 0.002 / WD (LMC) 0.165 ± 0.002" and row[3].startswith("WA (LMC) 0.2 ± 0.01")


def test_training_data_claims_plot_training_curves(report):
    names = sorted(p.name for p in (report["md"].parent / "figures").iterdir())
    assert any(n.startswith("fig_C2b") and n.endswith("_train_a.png") for n in names)
    assert "training subset 1" in report["md"].read_text()


def test_summary_shows_training_time_of_the_runs_and_the_test_time(store):
    [c1] = [o for o in store.claim_outcomes() if o["claim"] == "C1"]
    records = {r["hash"]: r for r in store.records()}
    for h in c1["settings"][0]["hashes"]:
        records[h] = {**records[h], "train_seconds": 100.0}
    [row] = summary_rows([c1], records)
    assert row[7] == "3.3 min" and row[8] == "3 s"


def test_runs_are_grouped_by_their_full_description(store):
    records = list(store.records())
    rows = recommendations_table(records)
    assert len(rows) == len(VARIANTS)
    assert all(row[5] == f"{len(SEEDS)}/{len(SEEDS)}" or row[5].endswith(f"/{len(SEEDS)}") for row in rows)
    others = " | ".join(sorted(row[4] for row in rows))
    assert "[0,1]" in others and "bf16" in others and "independent init" in others


def test_runs_no_claim_asked_for_are_marked_and_kept_out_of_table_i(report, store):
    md = report["md"].read_text()
    table_i, ad_hoc = md.split("## Runs no claim asked for")
    bf16 = [line for line in md.splitlines() if "bf16" in line and line.startswith("|")]
    assert bf16 and all(line.rstrip().endswith("ad hoc |") for line in bf16)
    assert "bf16" not in table_i.split("## Across the claims' runs")[1]


def test_scatter_plots_colour_configuration_families(store):
    records = list(store.records())
    families = {family_label(r) for r in records}
    assert len(families) == len(VARIANTS) - 1  # base and B=32 are one family: they differ in B only
    fig = plots.metric_against(records, "noise_scale", "g", family_label)
    assert len(fig.axes[0].collections) == len(families)


def test_batch_size_axis_shows_the_batch_sizes(store):
    fig = plots.metric_against(list(store.records()), "train.batch_size", "batch size B", family_label)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [32.0, 64.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "64"]
    assert len(ax.xaxis.get_minor_ticks()) == 0 or not any(t.get_visible() and t.label1.get_text() for t in ax.xaxis.get_minor_ticks())


def test_figure_titles_fit_the_figure(store):
    records = list(store.records())[:2]
    title = "C3: barrier falls as lr falls at B=32, on every seed, mlp_l3, mnist_bundled, lr 1.5e-2, B=32 versus lr 1e-3"
    fig = plots.interpolation_curves([("setting", records)], title=title)
    fig.canvas.draw()
    ax_title = fig.axes[0].title
    box = ax_title.get_window_extent()
    assert ax_title.get_text().startswith("C3:") and box.x0 >= 0 and box.x1 <= fig.bbox.width
    matplotlib.pyplot.close(fig)


def test_skipped_tests_are_grouped_by_claim_and_reason(store):
    rows = skipped_rows(store.claim_outcomes())
    assert sorted(rows) == sorted([["C4", "full", "3", "full-tier claim needs a CUDA GPU"],
                                   ["C4", "full", "1", "MNIST: not found under data root /x; expected ROOT/MNIST/raw/"]])


def test_noise_relation_is_worded_from_the_numbers():
    assert noise_relation(0.0922, 0.0936).startswith("matched")
    assert noise_relation(0.102, 0.0283) == "3.6 times the paper's"
    assert noise_relation(0.0615, 0.936) == "15 times smaller than the paper's"


def test_analogue_texts_leave_the_noise_comparison_to_the_numbers():
    """The report words each analogue's g against the paper's from the numbers; the hand-written
    analogue notes claim no match."""
    from lmc_bench.claim_catalog import collect_claim_tests

    for test in collect_claim_tests(["-m", "smoke"]):
        assert "match" not in test.row.analogue.lower(), (test.row.id, test.row.analogue)


def test_paper_setting_and_smoke_setting_carry_the_paper_configuration():
    full = paper_setting("", paper_spec("mlp_l3", "mnist", 1e-3, 32))
    smoke = smoke_setting("", paper_spec("mlp_l3", "mnist_bundled", 1.5e-2, 32), ("mnist", 1e-3, 32))
    assert full.paper == smoke.paper and smoke.paper_noise_scale == pytest.approx(full.paper_noise_scale)
    assert isinstance(smoke, Setting) and smoke.paper_config == "mnist, lr 1e-3, B=32"


CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian: apt-get install chromium)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    """The page as a browser lays it out: its text holds the headings, tables and badges, and the
    badges are painted in their colour."""
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"]
    url = report["html"].resolve().as_uri()
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    page = PageText()
    page.feed(dom)
    text = " ".join(" ".join(page.text).split())
    assert "lmc-bench claim verification" in text and "Summary" in text and "Skipped claim tests" in text
    assert "not reproduced (known finding)" in text and "**" not in text
    shot = tmp_path / "page.png"
    subprocess.run([*base, "--window-size=1200,1400", f"--screenshot={shot}", url], capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert (np.abs(pixels.astype(int) - [0x1F, 0x7A, 0x3A]).sum(1) < 12).sum() > 50, "no green verdict badge painted"
