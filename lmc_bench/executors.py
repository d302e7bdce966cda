"""``lmc-bench run --executor local|slurm``: train the runs a plan still needs, in this process or
as one SLURM job array through submitit.

The unit of work is a group of runs trained together (:func:`lmc_bench.experiment.stack_groups`:
the pending seeds of one configuration under the fast engine, a single run under the naive one).
A job takes ``gpus_per_job`` groups, one per task and GPU. Every task trains through
:func:`lmc_bench.experiment.train_group`, which holds each run's lock and writes each finished run
into the shared store atomically, so

- a job killed mid-run leaves no record of the runs it was training, and the next ``lmc-bench run``
  trains exactly the runs still missing;
- a preempted or timed-out job is requeued by submitit (:class:`TrainGroupsJob` is checkpointable:
  it resubmits itself, and on restart the runs it already stored are skipped);
- a failed job is reported with the path of its log.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Sequence

from .config import RunSpec, spec_hash
from .experiment import resolve_device, run_experiments, stack_groups, train_group
from .store import ResultsStore

EXECUTORS = ("local", "slurm")
SLURM_SIGNAL_DELAY_S = 120
"""Seconds between SLURM's warning signal and the end of a job's time: submitit requeues it then."""


class TrainGroupsJob:
    """What one job runs: its task's share of ``groups`` trained into the store at ``results_dir``.

    Returns the hashes of the runs its task covered. A group that fails does not stop the others;
    the task raises at the end, naming the failed groups (tracebacks are in the job's log)."""

    def __call__(self, groups: Sequence[Sequence[RunSpec]], results_dir: str, data_root: str | None, device: str) -> list[str]:
        rank, tasks, local_rank = _task_position()
        mine = list(groups)[rank::tasks]
        device = task_device(device, local_rank)
        store = ResultsStore(results_dir)
        failed = []
        for group in mine:
            try:
                self.train(list(group), store, device, data_root)
                print(f"stored {len(group)} runs of {group[0].model} on {group[0].data.dataset} "
                      f"(seeds {', '.join(str(s.seed) for s in group)})", flush=True)
            except Exception:
                traceback.print_exc()
                failed.append(", ".join(spec_hash(spec) for spec in group))
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(mine)} groups failed (runs {'; '.join(failed)}); tracebacks above")
        return [spec_hash(spec) for group in mine for spec in group]

    def train(self, group: list[RunSpec], store: ResultsStore, device: str, data_root: str | None) -> None:
        train_group(group, store, resolve_device(device), data_root, show_progress=False)

    def checkpoint(self, *args, **kwargs):
        """Called by submitit on preemption or timeout: requeue the same work (stored runs are skipped)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, *args, **kwargs)


def _task_position() -> tuple[int, int, int]:
    """(global rank, number of tasks, local rank) of this task in its job; (0, 1, 0) outside one."""
    import submitit

    try:
        env = submitit.JobEnvironment()
    except RuntimeError:
        return 0, 1, 0
    return env.global_rank, env.num_tasks, env.local_rank


def task_device(device: str, local_rank: int) -> str:
    """One GPU per task: ``cuda`` becomes ``cuda:<local rank>`` when the task sees several GPUs."""
    import torch

    if device == "cuda" and torch.cuda.device_count() > 1:
        return f"cuda:{local_rank % torch.cuda.device_count()}"
    return device


def job_chunks(groups: Sequence[Sequence[RunSpec]], groups_per_job: int) -> list[list[list[RunSpec]]]:
    groups = [list(group) for group in groups]
    return [groups[i : i + groups_per_job] for i in range(0, len(groups), groups_per_job)]


def submit(executor, groups: Sequence[Sequence[RunSpec]], results_dir: str | Path, data_root: str | None,
           device: str, groups_per_job: int = 1) -> list:
    """Submit ``groups`` as one job array of ``executor`` (any submitit executor); the jobs."""
    chunks = job_chunks(groups, max(1, groups_per_job))
    n = len(chunks)
    root = str(Path(results_dir).expanduser().resolve())
    data_root = str(Path(data_root).expanduser().resolve()) if data_root else None
    return executor.map_array(TrainGroupsJob(), chunks, [root] * n, [data_root] * n, [device] * n)


def wait_for(jobs: Sequence, log=print) -> list[str]:
    """Wait for every job; one line per failed job, with its log path."""
    failures = []
    for job in jobs:
        try:
            stored = job.result()
            log(f"job {job.job_id}: {len(stored)} runs stored")
        except Exception as error:
            failures.append(f"job {job.job_id} failed ({_last_line(error)}); log: {job.paths.stderr}")
            log(failures[-1])
    return failures


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def slurm_parameters(partition: str | None, gpus_per_job: int, timeout_min: int, max_parallel: int) -> dict:
    """``SlurmExecutor.update_parameters`` for one task (and GPU) per group of a job."""
    parameters = {
        "job_name": "lmc-bench",
        "time": timeout_min,
        "ntasks_per_node": max(1, gpus_per_job),
        "array_parallelism": max_parallel,
        "signal_delay_s": SLURM_SIGNAL_DELAY_S,
    }
    if gpus_per_job > 0:
        parameters["gpus_per_node"] = gpus_per_job
    if partition:
        parameters["partition"] = partition
    return parameters


def slurm_executor(folder: str | Path, partition: str | None, gpus_per_job: int, timeout_min: int, max_parallel: int):
    try:
        import submitit
    except ImportError:
        raise ValueError("--executor slurm needs submitit: pip install 'lmc-bench[cluster]'") from None
    try:
        executor = submitit.SlurmExecutor(folder=str(folder))
    except RuntimeError as error:
        raise ValueError(f"--executor slurm: {error} (run it on the cluster's login node)") from None
    executor.update_parameters(**slurm_parameters(partition, gpus_per_job, timeout_min, max_parallel))
    return executor


# --- command line ---------------------------------------------------------------------------------


def add_run_arguments(parser) -> None:
    """Executor options of ``lmc-bench run`` and the claim selection used when no --model is given."""
    from .plan import add_selection_arguments

    group = parser.add_argument_group("executor")
    group.add_argument("--executor", choices=EXECUTORS, default="local",
                       help="local: train in this process (default); slurm: one job array through submitit")
    group.add_argument("--partition", default=None, help="SLURM partition")
    group.add_argument("--gpus-per-job", type=int, default=1, help="GPUs per SLURM job, one group of runs each (default: %(default)s; 0: CPU jobs)")
    group.add_argument("--timeout-min", type=int, default=240, help="time limit of a SLURM job in minutes (default: %(default)s)")
    group.add_argument("--max-parallel", type=int, default=64, help="SLURM jobs running at once (default: %(default)s)")
    group.add_argument("--jobs-dir", default=None, help="submitit's job files and logs (default: RESULTS_DIR/jobs/%%j)")
    claims = parser.add_argument_group("claim selection (without --model: the pending runs of the plan)")
    add_selection_arguments(claims)


def target_device(args) -> str:
    """The device the runs train on: --device, else "cuda" for SLURM jobs with GPUs, else this machine's."""
    if args.device and args.device != "auto":
        return args.device
    if args.executor == "slurm":
        return "cuda" if args.gpus_per_job > 0 else "cpu"
    return resolve_device(None).type


def materialise(specs: Sequence[RunSpec], args, device: str) -> int:
    """Train the runs of ``specs`` missing from the store with ``args.executor``; 0 when all are stored after."""
    store = ResultsStore(args.results_dir)
    pending = [spec for spec in dict.fromkeys(specs) if not store.has(spec)]
    if not pending:
        return 0
    if args.executor == "local":
        run_experiments(pending, store, device, args.data_root)
        return 0
    groups = stack_groups(pending)
    folder = args.jobs_dir or str(Path(args.results_dir).expanduser().resolve() / "jobs" / "%j")
    executor = slurm_executor(folder, args.partition, args.gpus_per_job, args.timeout_min, args.max_parallel)
    jobs = submit(executor, groups, args.results_dir, args.data_root, device, args.gpus_per_job)
    print(f"lmc-bench: submitted {len(jobs)} jobs ({len(pending)} runs in {len(groups)} groups), first job "
          f"{jobs[0].job_id}; logs in {folder}. Waiting; interrupting leaves them running, and "
          "`lmc-bench run` again later trains only what is still missing.")
    failures = wait_for(jobs)
    missing = [spec for spec in pending if not store.has(spec)]
    if missing:
        print(f"lmc-bench: {len(missing)} of {len(pending)} runs are not stored "
              f"({len(failures)} jobs failed, logs above); `lmc-bench run` again trains them.", file=sys.stderr)
    return 1 if missing or failures else 0


def run_claims(args) -> int:
    """``lmc-bench run`` without --model: the plan's pending runs."""
    from .plan import build_plan, collect_claim_rows, format_flops, selection_args

    device = target_device(args)
    store = ResultsStore(args.results_dir)
    rows = collect_claim_rows(selection_args(args))
    plan = build_plan(rows, store, args.tier, "cuda" if device.startswith("cuda") else "cpu", args.engine, args.data_root)
    totals = plan.totals()
    flops = totals["pending_train_flops"] + totals["pending_eval_flops"]
    print(f"lmc-bench: {totals['runs']} runs needed, {totals['stored']} stored, {totals['pending']} to train "
          f"({format_flops(flops)}FLOP; {args.executor}, {device}).")
    return materialise([run.spec for run in plan.pending], args, device)
