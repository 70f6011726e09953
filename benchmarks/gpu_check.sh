#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU: runs the digits example with gpu: 0.5 per trial (two
# trials share one card) and again on the CPU, then reports per trial whether it saw the GPU, its
# peak GPU memory and its median epoch time. Usage: bash benchmarks/gpu_check.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
output_dir="${1:-${OUT:-benchmarks/results}}"
mkdir -p "$output_dir"
storage="$(mktemp -d)"

# Use the machine's own TensorFlow and Ray when it has them (a GPU machine may have no package
# index), and install the project itself without touching its dependencies.
if [ ! -x .venv-gpu/bin/python ]; then
    python3 -m venv --system-site-packages .venv-gpu
fi
.venv-gpu/bin/python -m pip install --quiet --no-deps -e . || true
if ! .venv-gpu/bin/python -c "import tensorflow, keras, ray.tune, ConfigSpace, pyarrow, pydantic" 2>/dev/null; then
    .venv-gpu/bin/python -m pip install --quiet -e .
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$output_dir/gpu.csv"

run() {  # run NAME GPU_SHARE
    .venv-gpu/bin/python - "$1" "$2" "$storage" <<'PY'
import sys
from pathlib import Path
from tuner.runner import run_experiment
from tuner.spec import load_experiment
name, gpu, storage = sys.argv[1], float(sys.argv[2]), sys.argv[3]
experiment = load_experiment(
    Path("examples/digits_cnn.yaml"),
    {"name": name, "storage": storage, "trials": 8, "resources": {"cpu": 1, "gpu": gpu}, "scheduler": "fifo"},
)
summary = run_experiment(experiment, emit_progress=lambda progress: print(progress.line(), flush=True))
print(summary)
PY
}

run gpu-shared 0.5
CUDA_VISIBLE_DEVICES="" run cpu-only 0

.venv-gpu/bin/python - "$storage" "$output_dir" <<'PY'
import json
import sys
import pyarrow.compute as pc
import pyarrow.parquet as pq
storage, output_dir = sys.argv[1], sys.argv[2]
report = {}
for name in ("gpu-shared", "cpu-only"):
    results = pq.read_table(f"{storage}/{name}/results.parquet")
    trials = []
    for trial_id in pc.unique(results["trial_id"]).to_pylist():
        rows = results.filter(pc.equal(results["trial_id"], trial_id))
        peak = rows["gpu_peak_memory_mb"] if "gpu_peak_memory_mb" in rows.column_names else None
        trials.append({
            "trial_id": trial_id,
            "saw_gpu": bool(pc.max(rows["n_gpus_visible"]).as_py()),
            "peak_gpu_memory_mb": pc.max(peak).as_py() if peak is not None else None,
            "median_epoch_time_s": pc.approximate_median(rows["epoch_time_s"]).as_py(),
        })
    report[name] = trials
    print(name)
    for trial in trials:
        print("  ", trial)
with open(f"{output_dir}/gpu_check.json", "w") as handle:
    json.dump(report, handle, indent=2)
PY
