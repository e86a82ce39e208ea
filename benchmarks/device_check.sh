#!/usr/bin/env bash
# Issue 29's device check: one command on a machine with a GPU, prepared and tried here first.
#
#   there:  bash benchmarks/device_check.sh     # about 8 minutes on one H200 (see below)
#   here:   TINY=1 bash benchmarks/device_check.sh   # the script itself, on the CPU, tiny sizes
#
# The device machine has its own python3 with torch and the suite's test packages but no
# network: made runs from src/ (PYTHONPATH), and binarized MNIST travels as a carried copy in
# .device-data/ (git-ignored; `mkdir -p .device-data && cp ../shared/data/binarized_mnist.npz
# .device-data/`, then `carry: [".device-data"]`). Everything it reports goes under $OUT (the
# device tool's folder there; runs/device-check here), at most 8 small files:
#   machine.txt      the GPU, the driver, torch's version and what it sees
#   test-device.log  tests/test_device.py: every device test on CUDA as well as the CPU
#   test-suite.log   the whole suite, spread over the machine's cores
#   sampling.txt     samples a second on the device (100 and 10,000 at once)
#   mnist.json       the no-flag `made train` on binarized MNIST on the GPU (its summary)
#   mnist-log.txt    that run's output
set -u -o pipefail
OUT=${OUT:-runs/device-check}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
DEVICE=cuda MINUTES=${MINUTES:-4} SUITE=tests WORKERS=${WORKERS:-8}
DATA=${DATA:-.device-data/binarized_mnist.npz} RUN=$(mktemp -d)
if [ -n "${TINY:-}" ]; then  # the script's own check: the CPU, one test file, one epoch
    DEVICE=cpu MINUTES=0.01 SUITE=tests/test_device.py WORKERS=2
    DATA=$RUN/tiny.npz
    $PY - "$DATA" <<'EOF'
import sys, numpy as np
rng = np.random.default_rng(0)
split = lambda n: (rng.random((n, 784)) < 0.2).astype(np.uint8)
np.savez(sys.argv[1], train_data=split(300), valid_data=split(100), test_data=split(100))
EOF
fi

{ nvidia-smi || echo "no nvidia-smi"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

echo "== 1. the device tests, then the whole suite"
$PY -m pytest -q -p no:cacheprovider tests/test_device.py 2>&1 | tee "$OUT/test-device.log"
$PY -m pytest -q -p no:cacheprovider -n "$WORKERS" --dist worksteal "$SUITE" 2>&1 \
    | tee "$OUT/test-suite.log" | tail -25

echo "== 2. sampling on $DEVICE"
$PY - "$DEVICE" <<'EOF' 2>&1 | tee "$OUT/sampling.txt"
import sys, time, torch
from made import MADE
device = torch.device(sys.argv[1])
model = MADE(784, [4000], seed=0).to(device)
for n in (100, 10_000):
    g = torch.Generator(device).manual_seed(0)
    model.sample(n, generator=g)  # warm
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.sample(n, generator=g)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(f"{device}: {n:6d} samples of 784 pixels ([4000] units) in {seconds:.3f} s, "
          f"{n / seconds:,.0f} a second")
EOF

echo "== 3. binarized MNIST, the no-flag recipe on $DEVICE, at most $MINUTES minutes"
$PY -m made train --data "$DATA" --device "$DEVICE" --time-limit "$MINUTES" --out "$RUN/mnist" \
    2>&1 | tee "$OUT/mnist-log.txt" | tail -8
cp "$RUN/mnist/summary.json" "$OUT/mnist.json" 2>/dev/null || echo "no summary.json"
rm -rf "$RUN"
