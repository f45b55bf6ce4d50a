namespace RawDistill.Tests.Cuda;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cuda;
using RawDistill.Diagnostics;
using RawDistill.Tensors;

/// <summary>
/// The CUDA augmentation kernels against the CPU's, through the selftest's
/// <see cref="AugmentChecks"/> (each transform on 3- and 1-channel batches of odd sizes,
/// boxes partly outside the image, flips, in-place calls; whole seeded recipes). The
/// tolerances are the checks' own: 0 for crop, grayscale, blur and solarize, whose
/// arithmetic is specified operation for operation; 1e-6 where contrast's mean is summed in
/// a different order (derivation in <see cref="AugmentChecks"/>).
/// </summary>
[Collection("cuda device")]
public class CudaAugmentTests
{
    static CudaBackend Dev => CudaTestDevice.Backend!;

    static readonly ulong[] Seeds = [0, 1, 0x5EED];

    static void Check(string name)
    {
        var check = AugmentChecks.Cases.Single(c => c.Name == name);
        foreach (var seed in Seeds)
        {
            var r = AugmentChecks.Run(check, CpuBackend.Instance, Dev, seed);
            Assert.True(r.Passed, $"{r.Name} (seed {seed}): {r.Worst} off by {r.MaxAbsError:E2}, tolerance {check.Tolerance:E0} {r.Error}");
        }
    }

    [CudaFact] public void ResizedCrop3Channels() => Check("augment resized crop, 3 ch");
    [CudaFact] public void ResizedCrop1Channel() => Check("augment resized crop, 1 ch");
    [CudaFact] public void ColorJitter3Channels() => Check("augment color jitter, 3 ch");
    [CudaFact] public void ColorJitter1Channel() => Check("augment color jitter, 1 ch");
    [CudaFact] public void Grayscale() => Check("augment grayscale");
    [CudaFact] public void GaussianBlur3Channels() => Check("augment gaussian blur, 3 ch");
    [CudaFact] public void GaussianBlur1Channel() => Check("augment gaussian blur, 1 ch");
    [CudaFact] public void Solarize() => Check("augment solarize");
    [CudaFact] public void BarlowTwinsView1Recipe3Channels() => Check("augment recipe barlow view 1, 3 ch");
    [CudaFact] public void BarlowTwinsView2Recipe3Channels() => Check("augment recipe barlow view 2, 3 ch");
    [CudaFact] public void BarlowTwinsView1Recipe1Channel() => Check("augment recipe barlow view 1, 1 ch");
    [CudaFact] public void CropFlipRecipe() => Check("augment recipe crop+flip, 3 ch");

    [CudaFact]
    public void EveryAugmentCheckHasAFactAbove()
    {
        var facts = typeof(CudaAugmentTests).GetMethods().Count(m => m.GetCustomAttributes(typeof(CudaFactAttribute), false).Length > 0);
        Assert.Equal(AugmentChecks.Cases.Count + 2, facts); // + this one and the argument check
    }

    [CudaFact]
    public void BadParametersThrowOnTheHostLikeTheCpu()
    {
        var g = new ImageBatchGeometry(2, 3, 4, 5);
        using var x = Tensor.Zeros([2, 3, 4, 5], DType.F32, Dev);
        using var y = Tensor.Zeros([2, 3, 4, 5], DType.F32, Dev);
        IAugmentBackend aug = Dev;
        Assert.Throws<ArgumentException>(() => aug.ResizedCrop(x.Storage, g, [CropBox.Full(4, 5), new CropBox(0, 0, 0, 5, 0)], 4, 5, y.Storage));
        Assert.Throws<ArgumentException>(() => aug.ResizedCrop(x.Storage, g, [CropBox.Full(4, 5)], 4, 5, y.Storage));
        Assert.Throws<ArgumentException>(() => aug.GaussianBlur(x.Storage, g, [1, 1], new float[8], 4, y.Storage));
        Assert.Throws<ArgumentException>(() => aug.GaussianBlur(x.Storage, g, [1, 1], new float[9], 5, y.Storage));  // 9 weights for 2 images of 5 taps
        Assert.Throws<ArgumentException>(() => aug.GaussianBlur(x.Storage, g, [1, 1], new float[18], 9, y.Storage)); // reflect padding 4 on 4 rows
        Assert.Throws<ArgumentException>(() => aug.Solarize(x.Storage, g, [1], 0.5f, y.Storage));
        using var wide = Tensor.Zeros([2, 3, 4, 5], DType.F64, Dev);
        Assert.Throws<NotSupportedException>(() => aug.Grayscale(wide.Storage, g, [1, 1], wide.Storage));
    }
}
