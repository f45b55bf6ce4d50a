using BenchmarkDotNet.Attributes;
using RawDistill.Data;
using RawDistill.Data.Augment;
using RawDistill.Random;
using RawDistill.Tensors;

namespace RawDistill.Benchmarks;

/// <summary>
/// One augmented batch of 256 images on the CPU backend: both Barlow Twins views and the
/// KRR-ST crop+flip, for CIFAR-sized RGB and Fashion-MNIST-sized gray images, plus the
/// u8 → f32 minibatch assembly that precedes them. These sit inside every teacher step, so
/// they must stay small next to the model's forward and backward passes.
/// Run: <c>dotnet run -c Release --project benchmarks/RawDistill.Benchmarks -- --filter *AugmentBenchmarks*</c>.
/// </summary>
[ShortRunJob]
public class AugmentBenchmarks
{
    private const int Batch = 256;

    private Tensor? images;
    private ImageDataset? dataset;
    private int[] indices = [];
    private AugmentRecipe view1 = new(), view2 = new(), cropFlip = new();

    /// <summary>"3x32" (CIFAR) or "1x28" (Fashion-MNIST).</summary>
    [Params("3x32", "1x28")]
    public string Geometry { get; set; } = "3x32";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Geometry.Split('x');
        int c = int.Parse(parts[0]), s = int.Parse(parts[1]);
        var rng = new Generator(1);
        var bytes = new byte[Batch * 4 * c * s * s];
        var u = new float[bytes.Length];
        rng.FillUniform(u);
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(u[i] * 255);
        dataset = new ImageDataset("bench", bytes, Batch * 4, c, s, s);
        indices = new Generator(2).Permutation(Batch * 4)[..Batch];
        images = dataset.Batch(indices);
        (view1, view2) = AugmentPresets.BarlowTwins();
        cropFlip = AugmentPresets.CropFlip();
    }

    [GlobalCleanup]
    public void Cleanup() => images?.Dispose();

    [Benchmark]
    public void AssembleBatch() => dataset!.Batch(indices).Dispose();

    [Benchmark]
    public void BarlowTwinsView1() => view1.Apply(images!, new Generator(3)).Dispose();

    [Benchmark]
    public void BarlowTwinsView2() => view2.Apply(images!, new Generator(3)).Dispose();

    [Benchmark]
    public void CropFlip() => cropFlip.Apply(images!, new Generator(3)).Dispose();
}
