namespace RawDistill.Benchmarks;

/// <summary>One 3×3 / stride 1 / pad 1 convolution (with bias) of a KRR-ST ConvNet block, at a batch size.</summary>
/// <param name="Id">Case name, shared with benchmarks/pytorch/conv2d.py and norm.py (the ratio table joins on it).</param>
public sealed record ConvShape(string Id, int Batch, int Cin, int Cout, int Size)
{
    /// <summary>Multiply-adds ×2 of one pass (forward, backward-input and backward-weight each do this many).</summary>
    public double Flops => 2.0 * Batch * Cout * Size * Size * Cin * 9;

    public override string ToString() => $"{Id}: {Cin}->{Cout} @{Size}x{Size}, batch {Batch}";
}

/// <summary>
/// The shapes every side-by-side benchmark uses. Keep in sync with benchmarks/pytorch/shapes.py
/// (the driver refuses to join cases whose shapes differ).
/// <list type="bullet">
/// <item>fmnist-*: the CPU default config (<c>KrrStConfig.CpuDefault</c>): ConvNet 32-64-128 on
/// 28×28×1 Fashion-MNIST, at the real batch B = 256.</item>
/// <item>cifar-*: the reference ConvNet-128-256-512-BN on 32×32×3, at batch 64 (the batch of the
/// earlier `rawdistill bench conv` runs; the reference's B = 1024 would only scale the time).</item>
/// <item>mkdt-*: MKDT's CIFAR student (ConvNet-128 ×3, instance norm) on 32×32×3 at its batch 256:
/// the convolutions its unrolled inner steps repeat N times per outer iteration.</item>
/// </list>
/// </summary>
public static class KrrShapes
{
    public static readonly ConvShape[] Conv =
    [
        new("fmnist-L1", 256, 1, 32, 28),
        new("fmnist-L2", 256, 32, 64, 14),
        new("fmnist-L3", 256, 64, 128, 7),
        new("cifar-L1", 64, 3, 128, 32),
        new("cifar-L2", 64, 128, 256, 16),
        new("cifar-L3", 64, 256, 512, 8),
        new("mkdt-L1", 256, 3, 128, 32),
        new("mkdt-L2", 256, 128, 128, 16),
        new("mkdt-L3", 256, 128, 128, 8),
    ];

    public static ConvShape ConvById(string id) => Conv.FirstOrDefault(s => s.Id == id) ?? throw new ArgumentException($"unknown conv case {id}");
}
