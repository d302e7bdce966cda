"""Root conftest: load the lmc-bench pytest plugin (options --tier, --gpu, --data-root, --results-dir)."""

pytest_plugins = ["lmc_bench.pytest_plugin"]
