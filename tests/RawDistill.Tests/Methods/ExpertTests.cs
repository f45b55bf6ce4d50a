namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.Methods.Common;
using RawDistill.Methods.Mkdt;
using RawDistill.Random;

/// <summary>MKDT stage 1: the expert store (manifest, shards, resume, half-written experts).</summary>
public sealed class ExpertTests
{
    const int D = 3;

    internal static readonly NormalizationStats Norm = new([0.4], [0.3]);

    internal static (ImageDataset Images, float[] Targets) Toy(int n = 12)
    {
        var images = CommonTests.Images(n, seed: 3);
        var t = new float[n * D];
        new Generator(8).FillNormal(t);
        return (images, t);
    }

    internal static ExpertConfig Tiny(int experts = 3, int epochs = 3) =>
        new() { Experts = experts, Epochs = epochs, Batch = 5, Widths = [4, 4], Lr = 0.05, Seed = 2 };

    internal static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rawdistill-experts-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void ResumedExpertIsBitExactAndHalfWrittenIsNotFinished()
    {
        var dir = TempDir();
        try
        {
            var (images, targets) = Toy();
            var data = RegressionData.FromDataset(images, targets, Norm);
            var manifest = ExpertTrainer.Manifest(Tiny(), "h", images, Norm, D);
            var a = ExpertStore.OpenOrCreate(Path.Combine(dir, "a"), manifest);
            ExpertTrainer.Train(a, 1, data);
            Assert.True(a.Status(1).Finished);
            Assert.False(a.Status(0).Finished);

            var b = ExpertStore.OpenOrCreate(Path.Combine(dir, "b"), manifest);
            ExpertTrainer.Train(b, 1, data, stopAfterEpoch: 1);
            Assert.Equal(new ExpertStatus(1, 1, false), b.Status(1));
            Assert.Empty(b.Finished());
            ExpertTrainer.Train(b, 1, data);
            for (int e = 0; e <= 3; e++) Assert.Equal(a.Snapshot(1, e), b.Snapshot(1, e));
            Assert.NotEqual(a.Snapshot(1, 0), a.Snapshot(1, 3));

            // A finished expert whose snapshot went missing is not finished.
            File.Delete(b.SnapshotPath(1, 2));
            Assert.False(b.Status(1).Finished);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ShardsSplitTheExpertsAndAgreeOnTheManifest()
    {
        Assert.Equal([1, 4, 7], ExpertTrainer.Shard(9, 1, 3));
        Assert.Equal((2, 4), ExpertTrainer.ParseShard("2/4"));
        Assert.Throws<ArgumentException>(() => ExpertTrainer.ParseShard("4/4"));
        Assert.Throws<ArgumentException>(() => ExpertTrainer.ParseShard("x"));

        var dir = TempDir();
        try
        {
            var (images, _) = Toy();
            var manifest = ExpertTrainer.Manifest(Tiny(), "h", images, Norm, D);
            ExpertStore.OpenOrCreate(dir, manifest);
            var e = Assert.Throws<InvalidDataException>(() => ExpertStore.OpenOrCreate(dir, manifest with { TeacherHash = "other" }));
            Assert.Contains("teacher", e.Message);
            Assert.Equal(manifest.ParameterCount, ExpertStore.Open(dir).Manifest.ParameterCount);
            Assert.Throws<InvalidDataException>(() => ExpertStore.Open(Path.Combine(dir, "nothing")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

/// <summary>MKDT stage 2: the high-loss ranking on constructed cases.</summary>
public sealed class HighLossInitTests
{
    [Fact]
    public void TopAndBalancedRankAsConstructed()
    {
        double[] s = [0.1, 5, 3, 5, 0.2, 4, 0.3, 0.05];
        Assert.Equal([1, 3, 5], HighLossInit.Top(s, 3));
        int[] labels = [0, 0, 0, 0, 1, 0, 1, 1];
        // Two per class: class 0 gives 1, 3; class 1 gives 6, 4; ordered by score.
        Assert.Equal([1, 3, 6, 4], HighLossInit.TopBalanced(s, labels, 2, 4));
        // Odd m: the remainder goes to the highest of the rest (5).
        Assert.Equal([1, 3, 5, 6, 4], HighLossInit.TopBalanced(s, labels, 2, 5));
        Assert.Throws<ArgumentException>(() => HighLossInit.Top(s, 9));
    }

    [Fact]
    public void ScoresAreTheExpertsMeanPerImageMse()
    {
        var dir = ExpertTests.TempDir();
        try
        {
            var (images, targets) = ExpertTests.Toy();
            // Make images 2 and 7 hard: targets far from anything an epoch-1 student predicts.
            for (int j = 0; j < 3; j++) { targets[2 * 3 + j] = 40; targets[7 * 3 + j] = -30; }
            var data = RegressionData.FromDataset(images, targets, ExpertTests.Norm);
            var store = ExpertStore.OpenOrCreate(dir, ExpertTrainer.Manifest(ExpertTests.Tiny(experts: 2, epochs: 1), "h", images, ExpertTests.Norm, 3));
            ExpertTrainer.Train(store, 0, data);
            ExpertTrainer.Train(store, 1, data);
            var scores = HighLossInit.Scores(store, [0, 1], data);
            Assert.Equal([2, 7], HighLossInit.Top(scores, 2).Order().ToArray());

            // Against a direct computation for expert 0 alone.
            var one = HighLossInit.Scores(store, [0], data);
            using var net = ExpertTrainer.Student(store.Manifest, 0);
            using var scope = RawDistill.Tensors.TensorScope.Begin();
            net.LoadFlatParameters(store.SnapshotTensor(0, 1));
            var y = net.Forward(data.Inputs([4], RawDistill.Tensors.Tensor.DefaultBackend)).ToArray<float>();
            double mse = Enumerable.Range(0, 3).Average(j => (y[j] - targets[4 * 3 + j]) * (double)(y[j] - targets[4 * 3 + j]));
            Assert.Equal(mse, one[4], 5);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
