#!/usr/bin/env bash
# The accelerator benchmarks in one go: installs what the machine lacks from wheels carried with
# the working tree, runs benchmarks/device_bench.py, writes one JSON file.
#
#   bash benchmarks/device.sh --fetch-wheels          # here, with network: wheels into .whl/
#   bash benchmarks/device.sh [--out FILE] [--tiny] [device_bench.py options]
#
# On the device machine (see benchmarks/README.md, "On an accelerator") the output goes to
# $OUT/device.json when $OUT is set, else ./device.json. --tiny runs tiny networks, one step
# each (how the test suite runs this script on a CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
WHEELS=${JAXGAN_WHEELS:-.whl}
# Pure-Python or manylinux wheels the device image lacks (jaxgan's core imports ml_collections;
# its data pipeline grain, which needs array_record and portpicker). Pinned as this project's
# environment has them; one version of each.
REQUIREMENTS="ml_collections==1.1.0 grain==0.2.18 array_record==0.8.6 portpicker==1.6.0"

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  mkdir -p "$WHEELS"
  exclude=$(git rev-parse --git-path info/exclude)  # also right in a git worktree
  if [[ "$WHEELS" == ".whl" ]] && ! grep -qx '/.whl/' "$exclude" 2>/dev/null; then
    mkdir -p "$(dirname "$exclude")" && echo '/.whl/' >> "$exclude"
  fi
  "$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$WHEELS" $REQUIREMENTS
  ls -la "$WHEELS"
  exit 0
fi

out="${OUT:-.}/device.json"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

# Install only what does not import already, into a private folder (nothing else changes).
missing=$("$PYTHON" - <<'EOF'
import importlib.util
wanted = {"ml_collections": "ml_collections", "grain": "grain", "array_record": "array_record",
          "portpicker": "portpicker"}
print(" ".join(w for w, module in wanted.items() if importlib.util.find_spec(module) is None))
EOF
)
if [[ -n "$missing" ]]; then
  site=${JAXGAN_SITE:-/tmp/jaxgan_site}
  wheels=()
  for name in $missing; do
    found=$(ls "$WHEELS"/${name}-*.whl 2>/dev/null | head -1 || true)
    if [[ -z "$found" ]]; then
      echo "device.sh: $name is missing and no wheel of it is in $WHEELS (run bash benchmarks/device.sh --fetch-wheels where pip can download, and carry $WHEELS)" >&2
      exit 2
    fi
    wheels+=("$found")
  done
  echo "device.sh: installing ${missing} into $site" >&2
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "${wheels[@]}"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# jaxgan and PyTorch share the accelerator in one process: jax allocates as it goes instead of
# taking 75% of the memory at its start.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
export PYTHONUNBUFFERED=1

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
fi
"$PYTHON" -c "import jax, flax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__)" >&2
exec "$PYTHON" benchmarks/device_bench.py --out "$out" ${args[@]+"${args[@]}"}
