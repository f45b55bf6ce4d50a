#!/usr/bin/env bash
# The PyTorch round trip on a tiny set, for CI (.ci/run) and by hand:
#   1. a torchvision ResNet-18 with KRR-ST's stem, torch.save'd and converted by
#      tools/torch_to_safetensors.py, imports at full size (512-d);
#   2. `distill` runs a few steps with the committed small torchvision teacher fixture;
#   3. `export` writes the set as an ImageFolder, which torchvision reads;
#   4. examples/pytorch_pretrain.py pre-trains torchvision's resnet18 on distilled.safetensors.
# Skips (exit 0, with a message) when no python3 with torch and torchvision is found, so a
# machine without PyTorch does not fail CI. Usage: examples/ci_pytorch_interop.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch, torchvision' >/dev/null 2>&1; then
        PY="$candidate"
        break
    fi
done
if [ -z "$PY" ]; then
    echo "skipping the PyTorch interop example: no python3 with torch and torchvision (Debian: apt-get install python3-torch python3-torchvision)"
    exit 0
fi

if [ "${1:-}" != "--no-build" ]; then
    dotnet build src/RawDistill.Cli -c Release -v q -nologo >/dev/null
fi
CLI=(dotnet src/RawDistill.Cli/bin/Release/net10.0/rawdistill.dll)
WORK="$(mktemp -d -t rawdistill-pytorch-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
echo "PyTorch interop example with $PY ($("$PY" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)')) in $WORK"

# 1. A full-size KRR-ST-layout teacher from torchvision, through the converter and the import.
"$PY" - "$WORK/krrst.pt" <<'PYEOF'
import sys, torch, torch.nn as nn, torchvision
m = torchvision.models.resnet18()
m.fc = nn.Identity()
m.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=2, bias=False)
m.maxpool = nn.Identity()
torch.save(m.state_dict(), sys.argv[1])
PYEOF
"$PY" tools/torch_to_safetensors.py "$WORK/krrst.pt" "$WORK/krrst.safetensors"
"${CLI[@]}" teacher import --weights "$WORK/krrst.safetensors" --normalization cifar100 --out "$WORK/krrst-teacher.safetensors"
# A checkpoint holding Python objects besides tensors is refused without --trust-pickle.
"$PY" -c 'import sys, argparse, torch; torch.save({"hyper_parameters": argparse.Namespace(lr=0.1), "state_dict": {"w": torch.zeros(2)}}, sys.argv[1])' "$WORK/objects.ckpt"
if "$PY" tools/torch_to_safetensors.py "$WORK/objects.ckpt" "$WORK/objects.safetensors" 2>/dev/null; then
    echo "error: the converter unpickled a checkpoint with Python objects without --trust-pickle" >&2
    exit 1
fi

# 2. A tiny distillation with the small torchvision teacher fixture (width 4, 32-d).
"${CLI[@]}" teacher import --weights tests/RawDistill.Tests/Fixtures/import/krrst_resnet18.weights.safetensors \
    --normalization cifar100 --out "$WORK/small-teacher.safetensors"
"${CLI[@]}" distill --teacher "$WORK/small-teacher.safetensors" -m 20 --steps 2 --real-batch 64 --pool-size 2 --t-max 3 \
    --widths 8,16 --eval-seeds 0 --quiet --out "$WORK/run"

# 3. The set as an ImageFolder.
"${CLI[@]}" export "$WORK/run/distilled.safetensors" --out "$WORK/exported"
"$PY" - "$WORK/exported/run" <<'PYEOF'
import sys, torchvision
ds = torchvision.datasets.ImageFolder(sys.argv[1])
assert len(ds) == 20 and ds.classes == ["images"], (len(ds), ds.classes)
print(f"torchvision ImageFolder reads {len(ds)} images of {ds[0][0].size}")
PYEOF

# 4. Pre-train torchvision's resnet18 on the set; the result loads strictly into torchvision.
"$PY" examples/pytorch_pretrain.py "$WORK/run/distilled.safetensors" --epochs 2 --out "$WORK/pretrained.pt"
"$PY" - "$WORK/pretrained.pt" <<'PYEOF'
import sys, torch, torch.nn as nn, torchvision
m = torchvision.models.resnet18()
m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); m.fc = nn.Identity()
m.load_state_dict(torch.load(sys.argv[1], map_location="cpu"), strict=True)
print("the pre-trained encoder loads into torchvision's resnet18 (strict)")
PYEOF
echo "PyTorch interop example: OK"
