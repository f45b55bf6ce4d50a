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

