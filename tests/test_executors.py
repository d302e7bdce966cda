"""lmc-bench run over executors: submitit's debug and local executors train a tiny grid into the
store; a job killed while saving leaves no record and the next run trains exactly what is missing;
a preempted job is requeued and skips what it stored; SLURM parameters reach the sbatch file.
Nothing here needs SLURM: the local executor runs each job in subprocesses, as SLURM would."""

import argparse
import os
import signal

import pytest
import torch

submitit = pytest.importorskip("submitit")

from lmc_bench import cli, plan  # noqa: E402
from lmc_bench.claims import ClaimRow, Setting  # noqa: E402
from lmc_bench.config import PAPER_SEEDS, DataSpec, EvalSpec, RunSpec, TrainSpec  # noqa: E402
from lmc_bench.executors import TrainGroupsJob, materialise, slurm_parameters, submit, wait_for  # noqa: E402
from lmc_bench.experiment import run_experiments, stack_groups  # noqa: E402
from lmc_bench.store import ResultsStore  # noqa: E402

TINY = RunSpec(model="mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(lr=1e-3, batch_size=64, epochs=1),
               eval=EvalSpec(lambdas=(0, 0.5, 1)), engine="fast")
GRID = [TINY.replace(seed=seed, **{"train.lr": lr}) for lr in (1e-3, 1e-2) for seed in (1, 2)]
"""Two configurations of two seeds: two groups of the fast engine."""


def local_executor(tmp_path):
    executor = submitit.LocalExecutor(folder=tmp_path / "jobs" / "%j")
    executor.update_parameters(timeout_min=10)
    return executor


def record_times(store, specs):
    return [(store.run_dir(spec) / "record.json").stat().st_mtime_ns for spec in specs]


def test_debug_executor_trains_the_grid_as_this_process_does(tmp_path):
    store = ResultsStore(tmp_path / "results")
    jobs = submit(submitit.DebugExecutor(tmp_path / "jobs"), stack_groups(GRID), store.root, None, "cpu")
    assert len(jobs) == 2 and wait_for(jobs, log=lambda line: None) == []
    reference = ResultsStore(tmp_path / "reference")
    run_experiments(GRID, reference, "cpu", show_progress=False)
    for spec in GRID:
        ours, theirs = store.load_tensors(spec), reference.load_tensors(spec)
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


def test_job_killed_while_saving_leaves_no_record_and_the_next_run_trains_what_is_missing(tmp_path):
    class KilledWhileSaving(TrainGroupsJob):
        """Dies (SIGKILL) when committing its second run folder: the run's files are written,
        its folder not yet renamed into place."""

        def train(self, group, store, device, data_root):
            import lmc_bench.store

            replace, commits = lmc_bench.store.os.replace, []

            def dying_replace(src, dst):
                if os.path.isdir(src):
                    commits.append(dst)
                    if len(commits) == 2:
                        os.kill(os.getpid(), signal.SIGKILL)
                replace(src, dst)

            lmc_bench.store.os.replace = dying_replace
            super().train(group, store, device, data_root)

    store = ResultsStore(tmp_path / "results")
    executor = local_executor(tmp_path)
    groups = stack_groups(GRID)
    jobs = executor.map_array(KilledWhileSaving(), [groups], [str(store.root)], [None], ["cpu"])
    failures = wait_for(jobs, log=lambda line: None)
    assert len(failures) == 1 and str(jobs[0].paths.stderr) in failures[0]
    assert jobs[0].paths.stderr.is_file()

    first, killed, *rest = GRID
    assert store.has(first) and not store.has(killed) and not any(store.has(spec) for spec in rest)
    half_written = [p for p in store.runs_dir.iterdir() if p.name.startswith(".") and (p / "record.json").is_file()]
    assert half_written, "the kill should strike after the run's files were written"
    assert [r["hash"] for r in store.records()] == [store.load(first)["hash"]]

    before = record_times(store, [first])
    args = argparse.Namespace(executor="local", results_dir=str(store.root), data_root=None)
    assert materialise(GRID, args, "cpu") == 0
    assert all(store.has(spec) for spec in GRID)
    assert record_times(store, [first]) == before
    assert len(list(store.records())) == len(GRID)


def test_local_executor_requeues_a_preempted_job_which_skips_what_it_stored(tmp_path):
    """The grid end to end in a subprocess of submitit's local executor, preempted once (submitit's
    own signal) after storing its first group: requeued, it trains the second group only."""
    marker, trained_log = tmp_path / "preempted", tmp_path / "trained.txt"

    class PreemptedOnce(TrainGroupsJob):
        """Receives the preemption signal once, after storing its first group."""

        def train(self, group, store, device, data_root):
            with open(trained_log, "a") as log:
                log.write(" ".join(str(s.train.lr) for s in group if not store.has(s)) + "\n")
            super().train(group, store, device, data_root)
            if not marker.exists():
                marker.touch()
                os.kill(os.getpid(), submitit.JobEnvironment._usr_sig())
                signal.pause()

    store = ResultsStore(tmp_path / "results")
    jobs = local_executor(tmp_path).map_array(PreemptedOnce(), [stack_groups(GRID)], [str(store.root)], [None], ["cpu"])
    assert wait_for(jobs, log=lambda line: None) == []
    assert marker.exists() and all(store.has(spec) for spec in GRID)
    assert len(list(store.records())) == len(GRID)
    assert trained_log.read_text().split("\n")[:-1] == ["0.001 0.001", "", "0.01 0.01"]
    assert "requeued" in jobs[0].paths.stdout.read_text().lower() + jobs[0].paths.stderr.read_text().lower()


def test_slurm_parameters_reach_the_sbatch_file(tmp_path):
    from submitit.slurm.slurm import _make_sbatch_string

    text = _make_sbatch_string(command="python -m job", folder=tmp_path, map_count=5,
                               **slurm_parameters("gpu", gpus_per_job=2, timeout_min=90, max_parallel=4))
    for line in ("--partition=gpu", "--gpus-per-node=2", "--ntasks-per-node=2", "--time=90", "--array=0-4%4", "--signal=USR2@120"):
        assert f"#SBATCH {line}" in text


def test_cli_slurm_outside_a_cluster_is_a_clear_error(tmp_path, capsys):
    code = cli.main(["run", "--model", "mlp_l1", "--executor", "slurm", "--seeds", "1", "--results-dir", str(tmp_path)])
    assert code == 2 and "srun" in capsys.readouterr().err


def test_cli_run_trains_the_pending_runs_of_the_selected_claims(tmp_path, monkeypatch, capsys):
    row = ClaimRow("C0", "tiny", "-", "smoke", (Setting("tiny", TINY.replace(engine="naive")),), "none")
    monkeypatch.setattr(plan, "collect_claim_rows", lambda selection: [("claims/test_x.py::test_tiny[smoke]", row)])
    results = str(tmp_path / "results")
    assert cli.main(["run", "-k", "tiny", "--executor", "local", "--device", "cpu", "--results-dir", results]) == 0
    assert f"{len(PAPER_SEEDS)} to train" in capsys.readouterr().out
    assert cli.main(["run", "-k", "tiny", "--results-dir", results, "--device", "cpu"]) == 0
    assert "0 to train" in capsys.readouterr().out
    assert len(list(ResultsStore(results).records())) == len(PAPER_SEEDS)
