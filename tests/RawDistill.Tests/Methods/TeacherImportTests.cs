namespace RawDistill.Tests.Methods;

using System.Text.Json;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Ssl;
using RawDistill.Nn.Models;
using Xunit.Abstractions;

/// <summary>
/// <see cref="TeacherImport"/> against checkpoints written by torchvision and converted with
/// tools/torch_to_safetensors.py (tests/pytorch/make_import_fixtures.py): the imported teacher's
/// features equal PyTorch's; full-size torchvision layouts map key for key; bad checkpoints are
/// refused with PyTorch's missing/unexpected/size-mismatch report.
/// </summary>
[Trait("Category", "PyTorchParity")]
public sealed class TeacherImportTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "import", name);

    static TeacherImportOptions Cifar100(string arch = "resnet18") => new() { Arch = arch, Normalization = TeacherNormalization.Parse("cifar100"), Dataset = "cifar100" };

    [Theory]
    [InlineData("krrst_resnet18")]
    [InlineData("torchvision_resnet50")]
    public void ImportedTeacherGivesPyTorchsFeatures(string name)
    {
        var expected = Safetensors.Read(Fixture($"{name}.expected.safetensors"));
        using var meta = JsonDocument.Parse(expected.Metadata["case"]);
        var c = meta.RootElement;
        string dir = Path.Combine(Path.GetTempPath(), "rawdistill-import-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string teacherPath = Path.Combine(dir, "teacher.safetensors");
            // Only what a user names: the architecture and the normalization preset; prefix,
            // stem, width and channels come from the keys; padding and size from the defaults.
            var result = TeacherImport.Import(Fixture($"{name}.weights.safetensors"), teacherPath, new TeacherImportOptions
            {
                Arch = c.GetProperty("arch").GetString()!,
                Normalization = TeacherNormalization.Parse(c.GetProperty("normalization").GetString()!),
                NormalizationSource = c.GetProperty("normalization").GetString()!,
                Size = c.GetProperty("size").GetInt32(),
            });
            Assert.Equal(c.GetProperty("prefix").GetString(), result.Plan.Prefix);
            Assert.Equal(c.GetProperty("stem_padding").GetInt32(), result.Plan.Encoder.StemPadding);
            Assert.Equal(c.GetProperty("width").GetInt32(), result.Plan.Encoder.Width);
            Assert.Equal(c.GetProperty("feature_dim").GetInt32(), result.FeatureDim);
            Assert.Empty(result.MissingCounters);

            using var teacher = Teacher.Load(teacherPath);
            Assert.Equal("imported", teacher.Metadata["method"]);
            Assert.Equal(c.GetProperty("stem_padding").GetInt32().ToString(), teacher.Metadata["stem_padding"]);
            Assert.Equal(c.GetProperty("size").GetInt32().ToString(), teacher.Metadata["input_size"]);
            Assert.Equal(c.GetProperty("stem").GetString() == "imagenet" ? "imagenet" : null, teacher.Config.Stem);
            var mean = c.GetProperty("mean").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(mean, teacher.Normalization.Mean);

            var images = expected["images"];
            var data = new ImageDataset(name, expected.GetU8("images"), images.Shape[0], images.Shape[1], images.Shape[2], images.Shape[3]);
            var features = teacher.Embed(data).Select(v => (double)v).ToArray();
            var want = expected.GetF32("features").Select(v => (double)v).ToArray();
            Assert.Equal(expected["features"].Shape[1], teacher.FeatureDim);
            double err = Nn.NnTestUtil.RelErr(features, want);
            output.WriteLine($"{name}: {data.Count} images × {teacher.FeatureDim} features, max relative error {err:E2} vs PyTorch");
            Assert.True(err <= Tolerance, $"{name}: relative error {err:E2}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    static List<(string Name, int[] Shape)> Layout(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture("torchvision_layouts.json")));
        return doc.RootElement.GetProperty(name).EnumerateObject()
            .Select(p => (p.Name, p.Value.EnumerateArray().Select(v => v.GetInt32()).ToArray())).ToList();
    }

    static IReadOnlyList<string> PlanAndCheck(List<(string Name, int[] Shape)> keys, TeacherImportOptions options, out TeacherImportPlan plan)
    {
        plan = TeacherImport.Plan(keys, options, "test.safetensors");
        using var encoder = plan.Encoder.Build();
        return TeacherImport.Check(plan, encoder, keys.ToDictionary(k => k.Name, k => k.Shape), "test.safetensors");
    }

    [Fact]
    public void FullSizeTorchvisionLayoutsMapKeyForKey()
    {
        // KRR-ST's teacher as their train.py saves it: torchvision resnet18, 3×3 stem, fc = Identity (no fc keys), no prefix.
        var r18 = Layout("krrst_resnet18");
        Assert.Empty(PlanAndCheck(r18, Cifar100(), out var p18));
        Assert.Equal(r18.Count, p18.Mapping.Count);
        Assert.Equal(("", 64, 3, 2, (string?)null), (p18.Prefix, p18.Encoder.Width, p18.Encoder.Channels, p18.Encoder.StemPadding, p18.Encoder.Stem));
        using (var e = p18.Encoder.Build()) Assert.Equal(512, e.FeatureDim);

        // torchvision resnet50 with its ImageNet stem and fc head.
        var r50 = Layout("torchvision_resnet50");
        Assert.Empty(PlanAndCheck(r50, Cifar100("resnet50") with { Normalization = TeacherNormalization.Parse("imagenet") }, out var p50));
        Assert.Equal(["fc.weight", "fc.bias"], p50.Dropped);
        Assert.Equal(r50.Count - 2, p50.Mapping.Count);
        Assert.Equal(("imagenet", 3, 224), (p50.Encoder.Stem, p50.Encoder.StemPadding, p50.Encoder.Size));
        using (var e = p50.Encoder.Build()) Assert.Equal(2048, e.FeatureDim);
        Assert.Equal("resnet50", TeacherImport.GuessArchitecture(p50.Mapping.Keys));
        Assert.Equal("resnet18", TeacherImport.GuessArchitecture(p18.Mapping.Keys));
    }

    static List<(string Name, int[] Shape)> SoloLearnKeys() =>
        Safetensors.Read(Fixture("krrst_resnet18.weights.safetensors")).Entries.Select(e => (e.Name, e.Shape)).ToList();

    [Fact]
    public void PrefixesHeadsAndRenamingsAreMappedAndReported()
    {
        // solo-learn: the encoder under backbone., the projector and online classifier ignored.
        var keys = SoloLearnKeys();
        PlanAndCheck(keys, Cifar100(), out var plan);
        Assert.Equal("backbone.", plan.Prefix);
        Assert.Equal(18, plan.Ignored.Count);
        Assert.All(plan.Ignored, k => Assert.True(k.StartsWith("projector.", StringComparison.Ordinal) || k.StartsWith("classifier.", StringComparison.Ordinal), k));

        // BYOL-style: an EMA copy under momentum_backbone. is another encoder, not imported; backbone. is chosen.
        var byol = keys.Concat(keys.Where(k => k.Name.StartsWith("backbone.", StringComparison.Ordinal)).Select(k => ("momentum_" + k.Name, k.Shape))).ToList();
        PlanAndCheck(byol, Cifar100(), out var byolPlan);
        Assert.Equal("backbone.", byolPlan.Prefix);
        Assert.Equal(["momentum_backbone."], byolPlan.OtherEncoders);
        Assert.Equal(18 + 120, byolPlan.Ignored.Count);
        PlanAndCheck(byol, Cifar100() with { Prefix = "momentum_backbone." }, out var momentum);
        Assert.Equal(120, momentum.Mapping.Count);

        // kuangliu/pytorch-cifar: module. prefix (DataParallel), "shortcut" for the projection, "linear" head.
        var kuangliu = keys.Where(k => k.Name.StartsWith("backbone.", StringComparison.Ordinal))
            .Select(k => ("module." + k.Name["backbone.".Length..].Replace(".downsample.", ".shortcut.", StringComparison.Ordinal), k.Shape))
            .Append(("module.linear.weight", [10, 32])).Append(("module.linear.bias", [10])).ToList();
        PlanAndCheck(kuangliu, Cifar100(), out var kl);
        Assert.Equal("module.", kl.Prefix);
        Assert.Equal(["module.linear.weight", "module.linear.bias"], kl.Dropped);
        Assert.Equal(18, kl.Renamed.Count);
        var both = kuangliu.Append(("module.layer2.0.downsample.0.weight", [8, 4, 1, 1])).ToList();
        Assert.Contains("both 'module.layer2.0.shortcut.0.weight' and 'module.layer2.0.downsample.0.weight' map to the encoder key 'layer2.0.downsample.0.weight'",
            Assert.Throws<InvalidDataException>(() => TeacherImport.Plan(both, Cifar100(), "x.safetensors")).Message); // layer2-4 .0.shortcut.{0.weight, 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked}
    }

    [Fact]
    public void CheckpointsThatDoNotFitAreRefusedWithPyTorchsReport()
    {
        var keys = SoloLearnKeys();

        var wrongArch = Assert.Throws<InvalidDataException>(() => PlanAndCheck(keys, Cifar100("resnet10"), out _)).Message;
        Assert.Contains("does not fit resnet10 (CIFAR stem, width 4, 3 input channels) after removing the prefix 'backbone.'; the keys look like resnet18", wrongArch);
        Assert.Contains("Unexpected key(s) in state_dict: \"layer1.1.bn1.bias\"", wrongArch);

        var missing = Assert.Throws<InvalidDataException>(() => PlanAndCheck(keys.Where(k => k.Name != "backbone.layer4.1.bn2.weight").ToList(), Cifar100(), out _)).Message;
        Assert.Contains("Missing key(s) in state_dict: \"layer4.1.bn2.weight\".", missing);
        Assert.DoesNotContain("Unexpected", missing);

        var resized = keys.Select(k => k.Name == "backbone.layer3.0.conv2.weight" ? (k.Name, new[] { 16, 16, 5, 5 }) : k).ToList();
        var mismatch = Assert.Throws<InvalidDataException>(() => PlanAndCheck(resized, Cifar100(), out _)).Message;
        Assert.Contains("size mismatch for layer3.0.conv2.weight: copying a param with shape [16, 16, 5, 5] from checkpoint, the shape in current model is [16, 16, 3, 3].", mismatch);

        // Missing BatchNorm counters load (PyTorch lists them; nothing reads them in eval mode) and are reported.
        var noCounters = keys.Where(k => !k.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        Assert.Equal(20, PlanAndCheck(noCounters, Cifar100(), out _).Count);

        Assert.Contains("no ResNet state dict in it (no key ends with 'layer1.0.conv1.weight')",
            Assert.Throws<InvalidDataException>(() => TeacherImport.Plan([("features.0.weight", [8, 3, 3, 3])], Cifar100(), "x.safetensors")).Message);
        Assert.Contains("the ImageNet stem takes a 7×7 conv1, but 'backbone.conv1.weight' is [4, 3, 3, 3]",
            Assert.Throws<InvalidDataException>(() => TeacherImport.Plan(keys, Cifar100() with { Stem = ResNetStem.ImageNet }, "x.safetensors")).Message);
        Assert.Contains("unknown architecture 'convnet'",
            Assert.Throws<ArgumentException>(() => TeacherImport.Plan(keys, Cifar100("convnet"), "x.safetensors")).Message);
        var encoderKeys = keys.Where(k => k.Name.StartsWith("backbone.", StringComparison.Ordinal)).ToList();
        var twoUnknown = encoderKeys.Select(k => (k.Name.Replace("backbone.", "student.", StringComparison.Ordinal), k.Shape))
            .Concat(encoderKeys.Select(k => (k.Name.Replace("backbone.", "teacher.", StringComparison.Ordinal), k.Shape))).ToList();
        Assert.Contains("ResNets under several prefixes (\"student.\", \"teacher.\"); choose one",
            Assert.Throws<InvalidDataException>(() => TeacherImport.Plan(twoUnknown, Cifar100(), "x.safetensors")).Message);
    }

    [Fact]
    public void NormalizationPresetsAndExplicitStatisticsParse()
    {
        Assert.Equal([0.5071, 0.4866, 0.4409], TeacherNormalization.Parse("CIFAR100").Mean);
        Assert.Equal([0.229, 0.224, 0.225], TeacherNormalization.Parse("imagenet").Std);
        var explicitStats = TeacherNormalization.Parse("0.5,0.4,0.3/0.25,0.2,0.1");
        Assert.Equal([0.5, 0.4, 0.3], explicitStats.Mean);
        Assert.Equal([0.25, 0.2, 0.1], explicitStats.Std);
        Assert.Equal(1, TeacherNormalization.Parse("0.2860/0.3530").Channels);
        foreach (var bad in new[] { "cifar1000", "0.5,0.5/0.2", "0.5/0", "0.5/-1", "a/b", "" })
            Assert.Contains("expected a preset", Assert.Throws<ArgumentException>(() => TeacherNormalization.Parse(bad)).Message);
    }
}
