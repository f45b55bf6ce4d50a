"""The shapes of the side-by-side benchmarks, by case name. Keep in sync with
benchmarks/RawDistill.Benchmarks/KrrShapes.cs and KrrOuterStepBenchmarks.cs (KrrOuterConfigs):
compare.py joins the C# and PyTorch results on these names and checks the shapes agree.
"""

# name -> (batch, Cin, Cout, H=W) of one 3x3 / stride 1 / pad 1 convolution with bias.
#   fmnist-*: the CPU default KRR-ST config, ConvNet 32-64-128 on 28x28x1 at the real batch B = 256
#   cifar-*:  the reference ConvNet-128-256-512-BN on 32x32x3, batch 64
#   mkdt-*:   MKDT's CIFAR student, ConvNet-128 x3 (instance norm) on 32x32x3, batch 256
CONV = {
    "fmnist-L1": (256, 1, 32, 28),
    "fmnist-L2": (256, 32, 64, 14),
    "fmnist-L3": (256, 64, 128, 7),
    "cifar-L1": (64, 3, 128, 32),
    "cifar-L2": (64, 128, 256, 16),
    "cifar-L3": (64, 256, 512, 8),
    "mkdt-L1": (256, 3, 128, 32),
    "mkdt-L2": (256, 128, 128, 16),
    "mkdt-L3": (256, 128, 128, 8),
}

# Norm benchmarks normalize the output of these conv cases (N x Cout x H x W).
NORM_CASES = ["fmnist-L1", "cifar-L1", "cifar-L2"]

# Cholesky f64: m values and the columns d of the right-hand side.
CHOLESKY_M = [100, 250, 500, 1000, 2000]
CHOLESKY_COLUMNS = 512

# KRR-ST outer-step configs: m, B, ConvNet widths, channels, size, teacher dim d, ridge, pool SGD.
KRR = {
    # KrrStConfig.CpuDefault on fashion-mnist-mini; d = the default teacher's 2048 features.
    "fmnist": dict(m=100, B=256, widths=[32, 64, 128], channels=1, size=28, d=2048, lr=1e-2),
    # KrrStConfig.Cifar100's network, input and lr, d = 512 (a ResNet-18 teacher), but m and B
    # reduced to the CPU config's 100 and 256: at m = 1000, B = 1024 one step recorded ~15 GB of
    # activations and took tens of seconds on the 2-core machine (see KrrOuterConfigs in C#).
    "reference": dict(m=100, B=256, widths=[128, 256, 512], channels=3, size=32, d=512, lr=1e-4),
}
KRR_COMMON = dict(ridge=1e-6, pool_lr=0.1, pool_momentum=0.9, pool_weight_decay=1e-3, adam_eps=1e-8)
