namespace RawDistill.Tests.Methods;

using System.Text.Json;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Eval;
using RawDistill.Methods.Ssl;
using RawDistill.Nn;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>The Barlow Twins teacher: one training step against PyTorch, exact resume, the teacher file, the CLI end to end.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class TeacherTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "rawdistill-teacher-tests-" + Guid.NewGuid().ToString("N"));

    public TeacherTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static EncoderConfig TinyConvNet(int channels, int size) => new()
    {
        Arch = "convnet",
        Channels = channels,
        Size = size,
        Widths = [4, 8],
        Norm = "batch",
        Pool = "avg",
        ConvBias = true,
        FirstPadding = 1,
    };

    /// <summary>n seeded random u8 images 1×size×size with labels i mod 3.</summary>
    static ImageDataset RandomImages(int n, int size, ulong seed = 7)
    {
        var u = new double[n * size * size];
        new Generator(seed).FillUniform(u);
        var bytes = u.Select(v => (byte)(v * 256)).ToArray();
        return new ImageDataset("toy", bytes, n, 1, size, size, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 3);
    }

    static double RelErr(double[] actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            num = Math.Max(num, Math.Abs(actual[i] - expected[i]));
            den = Math.Max(den, Math.Abs(expected[i]));
        }
        return den == 0 ? num : num / den;
    }

    static Dictionary<string, byte[]> Bytes(Module m) => StateDictIO.ToEntries(m).ToDictionary(e => e.Name, e => e.Data);

    [Fact]
    [Trait("Category", "PyTorchParity")]
    public void TwoBarlowTwinsStepsMatchPyTorch()
    {
        // tests/pytorch/make_teacher_fixtures.py: same weights, same views, LARS with the trainer's schedule.
        var f = Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "teacher", "bt_step.safetensors"));
        var cfg = JsonDocument.Parse(f.Metadata["teacher_step"]).RootElement;
        int batch = cfg.GetProperty("batch").GetInt32(), steps = cfg.GetProperty("steps").GetInt32();
        var options = new BarlowTwinsOptions
        {
            Epochs = 1,
            Batch = batch,
            Projector = cfg.GetProperty("projector").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            LambdaOff = cfg.GetProperty("lambda_off").GetDouble(),
            Optimizer = "lars",
            Lr = 0.3,
            WeightDecay = cfg.GetProperty("weight_decay").GetDouble(),
            Momentum = cfg.GetProperty("momentum").GetDouble(),
            Eta = cfg.GetProperty("eta").GetDouble(),
            WarmupEpochs = 0,
            MinLrFactor = cfg.GetProperty("min_lr_factor").GetDouble(),
        };
        using var trainer = new BarlowTwinsTrainer(TinyConvNet(1, 8), options, NormalizationStats.Identity(1), batch * steps, "fixture");
        StateDictIO.Load(trainer.Encoder, f, strict: true, prefix: "init.encoder.");
        StateDictIO.Load(trainer.Projector, f, strict: true, prefix: "init.projector.");
        var lrs = cfg.GetProperty("lrs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int s = 0; s < steps; s++)
        {
            using var scope = TensorScope.Begin();
            double loss = trainer.Step(f.ReadTensor($"step{s}.view1"), f.ReadTensor($"step{s}.view2"));
            Assert.Equal(lrs[s], trainer.Optimizer.Lr, 12);
            double expected = f.GetF64($"step{s}.loss")[0];
            Assert.True(Math.Abs(loss - expected) <= 1e-4 * Math.Abs(expected), $"step {s} loss {loss:R}, PyTorch {expected:R}");
        }
        foreach (var (prefix, module) in new (string, Module)[] { ("after.encoder.", trainer.Encoder), ("after.projector.", trainer.Projector) })
            foreach (var (name, t) in module.StateDict())
            {
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
                double err = RelErr(t.ToDoubles(), f.GetF64(prefix + name));
                Assert.True(err < 1e-4, $"{prefix}{name}: relative error {err:E2} after {steps} steps");
            }
    }

    static BarlowTwinsOptions SmallRun(int epochs) => new()
    {
        Epochs = epochs,
        Batch = 8,
        Projector = [16, 16, 16],
        Seed = 3,
        WarmupEpochs = 1,
    };

    [Fact]
    public void ResumeFromACheckpointEqualsTheUninterruptedRunBitForBit()
    {
        var data = RandomImages(20, 12);
        var norm = data.ComputeNormalization();
        var enc = TinyConvNet(1, 12);

        using var straight = new BarlowTwinsTrainer(enc, SmallRun(3), norm, data.Count, "toy");
        straight.Train(data);

        string ckpt = Path.Combine(_dir, "bt.ckpt");
        using (var first = new BarlowTwinsTrainer(enc, SmallRun(3), norm, data.Count, "toy"))
        {
            first.Train(data, ckpt, stopAfterEpoch: 2);
            Assert.Equal(2, first.CompletedEpochs);
        }
        using var resumed = BarlowTwinsTrainer.LoadCheckpoint(ckpt);
        Assert.Equal(2, resumed.CompletedEpochs);
        resumed.Train(data, ckpt);

        Assert.Equal(3, resumed.CompletedEpochs);
        Assert.Equal(straight.EpochLosses, resumed.EpochLosses);
        Assert.Equal(straight.AugmentCounter, resumed.AugmentCounter);
        Assert.Equal(straight.Optimizer.StepCount, resumed.Optimizer.StepCount);
        foreach (var (a, b) in new[] { (straight.Encoder as Module, resumed.Encoder as Module), (straight.Projector, resumed.Projector) })
        {
            var x = Bytes(a);
            var y = Bytes(b);
            Assert.Equal(x.Keys, y.Keys);
            foreach (var k in x.Keys) Assert.True(x[k].AsSpan().SequenceEqual(y[k]), $"{k} differs after resume");
        }
        var sa = straight.Optimizer.StateTensors();
        var sb = resumed.Optimizer.StateTensors();
        Assert.Equal(sa.Keys, sb.Keys);
        foreach (var k in sa.Keys) Assert.Equal(sa[k].ToDoubles(), sb[k].ToDoubles());
        // The loss went down over the run (the toy data has structure the views share).
        Assert.All(straight.EpochLosses, l => Assert.True(double.IsFinite(l)));
    }

    [Theory]
    [InlineData("convnet")]
    [InlineData("resnet18")]
    public void TeacherFileRebuildsAnIdenticalEncoder(string arch)
    {
        var config = arch == "convnet" ? TinyConvNet(1, 12) : EncoderConfig.Default("resnet18", 1, 12) with { Width = 4, StemPadding = 2 };
        var data = RandomImages(10, 12);
        var norm = data.ComputeNormalization();
        using var encoder = config.Build(new Generator(5));
        // Move the BN running statistics away from their initial values so the buffers are checked too.
        FeatureExtractorWarmup(encoder, data, norm);
        string path = Path.Combine(_dir, arch + ".safetensors");
        Teacher.Save(path, encoder, config, norm, "toy", new Dictionary<string, string> { ["epochs"] = "3", ["seed"] = "5", ["final_loss"] = "1.5" });

        using var teacher = Teacher.Load(path);
        Assert.Equal(config.ToJson(), teacher.Config.ToJson());
        Assert.Equal(norm.Mean, teacher.Normalization.Mean);
        Assert.Equal(norm.Std, teacher.Normalization.Std);
        Assert.Equal(arch, teacher.Metadata["arch"]);
        Assert.Equal(arch == "convnet" ? "1" : "2", teacher.Metadata["stem_padding"]);
        Assert.Equal("1", teacher.Metadata["input_channels"]);
        Assert.Equal("12", teacher.Metadata["input_size"]);
        Assert.Equal("toy", teacher.Metadata["dataset"]);
        Assert.Equal("3", teacher.Metadata["epochs"]);
        Assert.False(teacher.Encoder.Training);
        var x = Bytes(encoder);
        var y = Bytes(teacher.Encoder);
        Assert.Equal(x.Keys, y.Keys);
        foreach (var k in x.Keys) Assert.True(x[k].AsSpan().SequenceEqual(y[k]), $"{k} differs after the round trip");
        Assert.DoesNotContain(x.Keys, k => k.StartsWith("projector", StringComparison.Ordinal));
        Assert.Equal(FeatureExtractor.Extract(encoder, data, norm, 4), teacher.Embed(data, 3));
        // Into a caller's buffer (an evaluation reuses one for every encoder): the same features,
        // whatever the buffer held before; a buffer of the wrong length is refused.
        var expected = FeatureExtractor.Extract(encoder, data, norm, 4);
        var buffer = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
        FeatureExtractor.Extract(encoder, data, norm, buffer.AsSpan(), 3);
        Assert.Equal(expected, buffer);
        Assert.Contains("a buffer of", Assert.Throws<ArgumentException>(() => FeatureExtractor.Extract(encoder, data, norm, new float[expected.Length + 1].AsSpan())).Message);
    }

    static void FeatureExtractorWarmup(RawDistill.Nn.Models.ImageModel encoder, ImageDataset data, NormalizationStats norm)
    {
        using var scope = TensorScope.Begin();
        encoder.Train();
        encoder.Embed(data.Batch(Enumerable.Range(0, data.Count).ToArray(), null, norm));
    }

    [Fact]
    public void TeacherLoadNamesTheProblemWhenWeightsDoNotFit()
    {
        var config = TinyConvNet(1, 12);
        using var encoder = config.Build(new Generator(1));
        string path = Path.Combine(_dir, "bad.safetensors");
        Teacher.Save(path, encoder, config with { Widths = [4, 16] }, NormalizationStats.Identity(1), "toy");
        var e = Assert.Throws<InvalidDataException>(() => Teacher.Load(path));
        Assert.Contains("do not fit", e.Message);
    }

    [Fact]
    public void LambdaOffIsThePapersValueUnlessScaledAsOneOverTheWidth()
    {
        Assert.Equal(5e-3, new BarlowTwinsOptions { Projector = [512, 512, 512] }.EffectiveLambdaOff);
        Assert.Equal(0.1, new BarlowTwinsOptions { LambdaOff = 0.1 }.EffectiveLambdaOff);
        Assert.Equal(5e-3, BarlowTwinsOptions.ScaledLambdaOff(8192), 15);
        Assert.Equal(0.02, BarlowTwinsOptions.ScaledLambdaOff(2048), 15);
        Assert.Equal(0.08, BarlowTwinsOptions.ScaledLambdaOff(512), 15);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void CliTrainsATinyTeacherThatLoadsAndEmbeds()
    {
        string teacher = Path.Combine(_dir, "sub", "t.safetensors");
        int rc = Cli.CliApp.Run(["teacher", "train", "--train-images", "256", "--epochs", "1", "--batch", "64", "--widths", "4,8,8",
            "--projector", "32,32,32", "--quiet", "--out", teacher]);
        Assert.Equal(0, rc);
        // Issue 14 item 4: a finished teacher leaves no checkpoint behind (it used to leave OUT.ckpt, 13 MB at the default size).
        Assert.False(File.Exists(teacher + ".ckpt"));
        Assert.Equal(1, Cli.CliApp.Run(["teacher", "train", "--resume", "--quiet", "--out", teacher]));   // nothing to continue: a one-line error
        using (var t = Teacher.Load(teacher))
        {
            Assert.Equal("fashion-mnist-mini", t.Metadata["dataset"]);
            Assert.Equal("1", t.Metadata["epochs"]);
            Assert.True(double.IsFinite(double.Parse(t.Metadata["final_loss"], System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(8 * 4 * 4, t.FeatureDim);
        }
        string features = Path.Combine(_dir, "f.safetensors");
        Assert.Equal(0, Cli.CliApp.Run(["teacher", "embed", "--teacher", teacher, "--split", "test", "--out", features]));
        var f = Safetensors.Read(features);
        Assert.Equal([2000, 128], f["features"].Shape);
        Assert.Equal([2000], f["labels"].Shape);
        Assert.All(f.GetF32("features"), v => Assert.True(float.IsFinite(v)));
    }
}
