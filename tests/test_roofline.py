"""The roofline table of benchmarks/roofline.py on a tiny store (digits, one epoch, two seeds)."""

import math

import pytest

from benchmarks.roofline import ADAM_BYTES_PER_PARAMETER, main, markdown_table, roofline_rows
from lmc_bench.config import DataSpec, RunSpec, TrainSpec
from lmc_bench.cost import estimate_training_flops
from lmc_bench.experiment import run_experiments
from lmc_bench.models import build_model, count_parameters
from lmc_bench.store import ResultsStore

SPEC = RunSpec("mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=1, batch_size=64), engine="fast")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = ResultsStore(tmp_path_factory.mktemp("roofline"))
    run_experiments([SPEC.replace(seed=1), SPEC.replace(seed=2), SPEC.replace(**{"train.batch_size": 128})], store, "cpu",
                    show_progress=False)
    return store


def test_rows_hold_compute_memory_and_measured_time(store):
    records = list(store.records())
    rows = {r["configuration"]: r for r in roofline_rows(records, matmul_flops_per_s=1e10, bytes_per_s=1e9)}
    row = rows["mlp_l1, digits_bundled, lr 0.001, B=64"]
    runs = [r for r in records if r["spec"]["train"]["batch_size"] == 64]
    sizes = runs[0]["subset_sizes"]
    assert row["seeds"] == 2 and row["engine"] == "fast"
    assert row["flops"] == pytest.approx(2 * estimate_training_flops(SPEC, tuple(sizes), runs[0]["test_size"]))
    assert row["compute_s"] == pytest.approx(row["flops"] / 1e10)
    assert row["model_steps"] == 2 * sum(math.ceil(n / 64) for n in sizes)
    parameters = count_parameters(build_model("mlp_l1", "digits_bundled"))
    assert row["memory_s"] == pytest.approx(ADAM_BYTES_PER_PARAMETER * parameters * row["model_steps"] / 1e9)
    assert row["measured_s"] == pytest.approx(sum(r["wall_seconds"] for r in runs))
    assert row["ratio"] == pytest.approx(row["measured_s"] / (row["compute_s"] + row["memory_s"]))
    table = markdown_table(list(rows.values()))
    assert table.count("\n") == 4 and "| **all** | 3 |" in table


def test_script_measures_the_machine_and_appends_its_tables(store, tmp_path, capsys):
    results = tmp_path / "RESULTS.md"
    assert main(["--results-dir", str(store.root), "--matmul-size", "128", "--bandwidth-megabytes", "4", "--breakdown",
                 "--append", str(results)]) == 0
    text = results.read_text()
    assert "GFLOP/s" in text and "GB/s" in text and "measured / roofline" in text and "forward + backward (s)" in text
    assert text.strip() in capsys.readouterr().out
    assert main(["--results-dir", str(tmp_path / "empty")]) == 2
