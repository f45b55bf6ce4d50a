#!/usr/bin/python3
"""Writes the teacher-import fixtures under tests/RawDistill.Tests/Fixtures/import/ with
torchvision's own ResNet code (Debian's python3-torch / python3-torchvision):

    /usr/bin/python3 tests/pytorch/make_import_fixtures.py

Each case is a checkpoint as people hold them, saved with torch.save and converted with the
committed tools/torch_to_safetensors.py (so the fixture is exactly what a user's conversion
gives), plus images and the features PyTorch computes from them:

  krrst_resnet18       the KRR-ST teacher layout (selfsup_dd train.py): torchvision resnet18 with
                       conv1 = Conv2d(3, w, 3, stride 1, padding 2), maxpool = Identity,
                       fc = Identity; saved as a solo-learn Lightning checkpoint
                       {"state_dict": {"backbone.*", "projector.*", "classifier.*"}, "epoch", ...}.
                       Normalization: KRR-ST's CIFAR-100 statistics. 32 px.
  torchvision_resnet50 torchvision resnet50 (ImageNet stem: 7x7 stride-2 conv1, max-pool) with
                       its fc head, saved from nn.DataParallel (keys "module.*"). ImageNet
                       normalization. 32 px inputs (the stem takes any size).

Widths are reduced (first stage 4 channels instead of 64) with torchvision's own blocks and
_make_layer, so the files stay small; the script asserts that the same construction at width
64 has exactly torchvision's state-dict keys and shapes, and stores those full-size layouts in
torchvision_layouts.json for the C# key-mapping test.

Files per case: <case>.weights.safetensors (the converted checkpoint) and
<case>.expected.safetensors: images (U8 [N,3,32,32]), features (F32 [N,d], eval mode, from
(images/255 - mean)/std), metadata "case" (JSON: arch, stem, stem_padding, size, width,
normalization preset, mean, std, prefix).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch_to_safetensors  # noqa: E402

sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402

OUT_DIR = os.path.join(ROOT, "tests", "RawDistill.Tests", "Fixtures", "import")

# KRR-ST's (db-Lee/selfsup_dd data/augmentation.py) CIFAR-100 statistics at 32 px, and torchvision's ImageNet ones.
CIFAR100 = ((0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762))
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


class NarrowResNet(ResNet):
    """torchvision's ResNet with the first stage `width` channels wide (64 in torchvision),
    built from torchvision's own blocks and _make_layer; forward is torchvision's."""

    def __init__(self, block, layers, width, num_classes=1000):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)


def krrst_stem(model: ResNet, width: int) -> ResNet:
    """What selfsup_dd's train.py does to torchvision's resnet18."""
    model.fc = nn.Identity()
    model.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=2, bias=False)
    model.maxpool = nn.Identity()
    return model


def layout(model: nn.Module) -> dict:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def check_narrow_matches_torchvision() -> dict:
    """The narrowing changes widths only: at width 64 the keys and shapes are torchvision's."""
    r18 = krrst_stem(torchvision.models.resnet18(), 64)
    n18 = krrst_stem(NarrowResNet(BasicBlock, [2, 2, 2, 2], 64), 64)
    r50 = torchvision.models.resnet50()
    n50 = NarrowResNet(Bottleneck, [3, 4, 6, 3], 64)
    for a, b, what in ((r18, n18, "resnet18"), (r50, n50, "resnet50")):
        assert list(layout(a).items()) == list(layout(b).items()), f"NarrowResNet({what}, 64) differs from torchvision"
    return {"krrst_resnet18": layout(r18), "torchvision_resnet50": layout(r50)}


def randomize(model: nn.Module) -> None:
    """Non-trivial BN affine parameters and running statistics (fresh ones are 1/0/0/1)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.2 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
                m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean))
                m.running_var.copy_(0.5 + torch.rand_like(m.running_var))
                m.num_batches_tracked.fill_(1000)


def features(model: nn.Module, images: torch.Tensor, norm) -> torch.Tensor:
    mean = torch.tensor(norm[0]).view(1, 3, 1, 1)
    std = torch.tensor(norm[1]).view(1, 3, 1, 1)
    model.eval()
    with torch.no_grad():
        return model((images.float() / 255 - mean) / std)


def write_case(name: str, checkpoint, backbone: nn.Module, images: torch.Tensor, norm, case: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, name + (".ckpt" if case["prefix"] == "backbone." else ".pt"))
        torch.save(checkpoint, src)
        torch_to_safetensors.convert(src, os.path.join(OUT_DIR, f"{name}.weights.safetensors"))
    f = features(backbone, images, norm)
    case = dict(case, mean=list(norm[0]), std=list(norm[1]), feature_dim=f.shape[1])
    safetensors_io.save_file({"images": images, "features": f}, os.path.join(OUT_DIR, f"{name}.expected.safetensors"), {
        "case": json.dumps(case, sort_keys=True),
        "generator": "tests/pytorch/make_import_fixtures.py",
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
    })


def krrst_resnet18() -> None:
    torch.manual_seed(0)
    width = 4
    backbone = krrst_stem(NarrowResNet(BasicBlock, [2, 2, 2, 2], width), width)
    randomize(backbone)
    # solo-learn's BarlowTwins module: backbone, projector (Linear-BN-ReLU-Linear-BN-ReLU-Linear),
    # online classifier; Lightning adds epoch/global_step/version around the state dict.
    projector = nn.Sequential(nn.Linear(width * 8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 16))
    classifier = nn.Linear(width * 8, 100)
    state = {}
    state.update({"backbone." + k: v for k, v in backbone.state_dict().items()})
    state.update({"projector." + k: v for k, v in projector.state_dict().items()})
    state.update({"classifier." + k: v for k, v in classifier.state_dict().items()})
    checkpoint = {"epoch": 999, "global_step": 195000, "pytorch-lightning_version": "1.9.0", "state_dict": state}
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    write_case("krrst_resnet18", checkpoint, backbone, images, CIFAR100, {
        "arch": "resnet18", "stem": "cifar", "stem_padding": 2, "size": 32, "width": width,
        "normalization": "cifar100", "prefix": "backbone.",
    })


def torchvision_resnet50() -> None:
    torch.manual_seed(1)
    width = 4
    model = NarrowResNet(Bottleneck, [3, 4, 6, 3], width, num_classes=10)
    randomize(model)
    checkpoint = nn.DataParallel(model).state_dict()  # keys "module.*", fc included
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    model.fc = nn.Identity()  # the teacher's representation is the pooled last stage
    write_case("torchvision_resnet50", checkpoint, model, images, IMAGENET, {
        "arch": "resnet50", "stem": "imagenet", "stem_padding": 3, "size": 32, "width": width,
        "normalization": "imagenet", "prefix": "module.",
    })


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    layouts = check_narrow_matches_torchvision()
    with open(os.path.join(OUT_DIR, "torchvision_layouts.json"), "w") as f:
        json.dump(layouts, f, indent=0)
        f.write("\n")
    krrst_resnet18()
    torchvision_resnet50()
    for n in sorted(os.listdir(OUT_DIR)):
        print(n, os.path.getsize(os.path.join(OUT_DIR, n)))


if __name__ == "__main__":
    main()
