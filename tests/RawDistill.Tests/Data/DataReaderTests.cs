namespace RawDistill.Tests.Data;

using RawDistill.Data;
using RawDistill.IO;

/// <summary>Dataset readers and the --data spec, on tiny fixtures the tests write themselves.</summary>
[Trait("Category", "Data")]
public sealed class DataReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rawdistill-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static InvalidDataException AssertDataError(Action load, string file, long offset, string expectedFragment)
    {
        var e = Assert.Throws<InvalidDataException>(load);
        Assert.Contains(Path.GetFileName(file), e.Message);
        Assert.Equal(file, (string)e.Data[DataError.FileKey]!);
        Assert.Equal(offset, (long)e.Data[DataError.OffsetKey]!);
        if (offset >= 0) Assert.Contains($"at byte offset {offset}", e.Message);
        Assert.Contains(expectedFragment, e.Message);
        return e;
    }

    // ---------------------------------------------------------------- IDX

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxFolderLoadsPlainAndGzipped(bool gzip)
    {
        DataFixtures.WriteIdxFolder(_dir, nTrain: 5, nTest: 2, classes: 3, gzip);
        var d = DataSpec.Parse($"idx:{_dir}").Load();
        Assert.Equal((5, 1, 3, 4), (d.Train.Count, d.Train.Channels, d.Train.Height, d.Train.Width));
        Assert.Equal(3, d.Train.ClassCount);
        Assert.Equal([0, 1, 2, 0, 1], d.Train.Labels.ToArray());
        Assert.Equal(DataFixtures.Pixels(5, 12), d.Train.Images.ToArray());
        Assert.NotNull(d.Test);
        Assert.Equal(2, d.Test!.Count);
        Assert.Equal(3, d.Test.ClassCount);
    }

    [Fact]
    public void IdxFolderWithoutTestFilesHasNoTestSplit()
    {
        DataFixtures.WriteIdxFolder(_dir, 4, nTest: -1, classes: 2, gzip: false);
        Assert.Null(DataSpec.Parse($"idx:{_dir}").Load().Test);
    }

    [Fact]
    public void IdxTruncatedImagesNameFileOffsetAndExpectation()
    {
        string f = P("train-images-idx3-ubyte");
        DataFixtures.WriteIdx(f, 0x803, [5, 3, 4], DataFixtures.Pixels(5, 12)[..50]);
        AssertDataError(() => IdxReader.ParseImages(File.ReadAllBytes(f), f), f, 16 + 50, "60 bytes of data from offset 16");
    }

    [Fact]
    public void IdxTruncatedGzippedImagesCountDecompressedOffsets()
    {
        DataFixtures.WriteIdxFolder(_dir, 5, -1, 2, gzip: true);
        string f = P("train-images-idx3-ubyte.gz");
        DataFixtures.WriteIdx(f, 0x803, [5, 3, 4], DataFixtures.Pixels(4, 12), gzip: true);
        AssertDataError(() => DataSpec.Parse($"idx:{_dir}").Load(), f, 16 + 48, "image 4 of 5 is incomplete");
    }

    [Fact]
    public void IdxCorruptGzipStreamIsAnError()
    {
        DataFixtures.WriteIdxFolder(_dir, 5, -1, 2, gzip: true);
        string f = P("train-images-idx3-ubyte.gz");
        // The gzip magic, then an unknown compression method and garbage.
        File.WriteAllBytes(f, [0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8]);
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"idx:{_dir}").Load());
        Assert.Contains(f, e.Message);
        Assert.Contains("gzip", e.Message);
    }

    [Fact]
    public void IdxGzipCutInHalfIsAnError()
    {
        DataFixtures.WriteIdxFolder(_dir, 5, -1, 2, gzip: true);
        string f = P("train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(f);
        File.WriteAllBytes(f, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"idx:{_dir}").Load());
        Assert.Contains(f, e.Message);
    }

    [Fact]
    public void IdxWrongMagicNamesExpectedMagic()
    {
        string f = P("train-images-idx3-ubyte");
        // A labels file where an images file belongs.
        DataFixtures.WriteIdx(f, 0x801, [3], [0, 1, 2]);
        AssertDataError(() => IdxReader.ParseImages(File.ReadAllBytes(f), f), f, 0, "IDX magic number 0x00000803");
    }

    [Fact]
    public void IdxTrailingBytesAreAnError()
    {
        string f = P("labels");
        DataFixtures.WriteIdx(f, 0x801, [3], [0, 1, 2, 7]);
        AssertDataError(() => IdxReader.ParseLabels(File.ReadAllBytes(f), f), f, 11, "end of file after 3 labels");
    }

    [Fact]
    public void IdxMismatchedImageAndLabelCounts()
    {
        DataFixtures.WriteIdxFolder(_dir, 5, -1, 2, gzip: false);
        string labels = P("train-labels-idx1-ubyte");
        DataFixtures.WriteIdx(labels, 0x801, [4], [0, 1, 0, 1]);
        AssertDataError(() => DataSpec.Parse($"idx:{_dir}").Load(), labels, 4, "a label count of 5");
    }

    [Fact]
    public void IdxTestLabelOutsideTrainingClasses()
    {
        DataFixtures.WriteIdxFolder(_dir, 4, 2, classes: 2, gzip: false);
        string labels = P("t10k-labels-idx1-ubyte");
        DataFixtures.WriteIdx(labels, 0x801, [2], [1, 5]);
        AssertDataError(() => DataSpec.Parse($"idx:{_dir}").Load(), labels, 9, "a label in [0, 2)");
    }

    [Fact]
    public void FashionMnistLabelOutOfRangeForTenClasses()
    {
        string images = P("i"), labels = P("l");
        DataFixtures.WriteIdx(images, 0x803, [2, 3, 4], DataFixtures.Pixels(2, 12));
        DataFixtures.WriteIdx(labels, 0x801, [2], [3, 10]);
        AssertDataError(() => IdxReader.Load("t", images, File.ReadAllBytes(images), labels, File.ReadAllBytes(labels), FashionMnist.Classes, null), labels, 9, "[0, 10)");
    }

    [Fact]
    public void IdxMissingFolderAndFiles()
    {
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"idx:{P("nope")}").Load());
        Assert.Contains("nope", e.Message);
        e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"idx:{_dir}").Load());
        Assert.Contains("train-images-idx3-ubyte", e.Message);
    }

    // ---------------------------------------------------------------- CIFAR

    [Fact]
    public void Cifar10LoadsAllBatchesFromTheFolderOrItsParent()
    {
        string dir = DataFixtures.WriteCifar10(_dir);
        foreach (var spec in new[] { $"cifar10:{dir}", $"cifar10:{_dir}" })
        {
            var d = DataSpec.Parse(spec).Load();
            Assert.Equal((5, 3, 32, 32), (d.Train.Count, d.Train.Channels, d.Train.Height, d.Train.Width));
            Assert.Equal([0, 1, 2, 3, 4], d.Train.Labels.ToArray());
            Assert.Equal(10, d.Train.ClassCount);
            Assert.Equal("airplane", d.Train.ClassNames![0]);
            Assert.True(d.Train.Image(2).ToArray().All(b => b == 1));
            Assert.Equal([9, 3], d.Test!.Labels.ToArray());
            Assert.True(d.Test.Image(1).ToArray().All(b => b == 2));
        }
    }

    [Fact]
    public void Cifar10TruncatedRecord()
    {
        string dir = DataFixtures.WriteCifar10(_dir);
        string f = Path.Combine(dir, "data_batch_3.bin");
        File.WriteAllBytes(f, DataFixtures.CifarRecords([1], [2])[..(3073 + 100)]);
        AssertDataError(() => DataSpec.Parse($"cifar10:{dir}").Load(), f, 3073, "a whole 3073-byte record (record 1");
    }

    [Fact]
    public void Cifar10LabelOutOfRange()
    {
        string dir = DataFixtures.WriteCifar10(_dir);
        string f = Path.Combine(dir, "test_batch.bin");
        File.WriteAllBytes(f, DataFixtures.CifarRecords([2], [10]));
        AssertDataError(() => DataSpec.Parse($"cifar10:{dir}").Load(), f, 3073, "a label in [0, 10) (record 1)");
    }

    [Fact]
    public void Cifar10MissingBatchFile()
    {
        string dir = DataFixtures.WriteCifar10(_dir);
        File.Delete(Path.Combine(dir, "data_batch_5.bin"));
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"cifar10:{dir}").Load());
        Assert.Contains("data_batch_5.bin", e.Message);
    }

    [Fact]
    public void Cifar100UsesFineLabels()
    {
        string dir = DataFixtures.WriteCifar100(_dir);
        var d = DataSpec.Parse($"cifar100:{dir}").Load();
        Assert.Equal([42, 99], d.Train.Labels.ToArray());
        Assert.Equal(100, d.Train.ClassCount);
        Assert.Equal([7], d.Test!.Labels.ToArray());
        Assert.True(d.Train.Image(1).ToArray().All(b => b == 2));
    }

    [Fact]
    public void Cifar100TruncatedRecord()
    {
        string dir = DataFixtures.WriteCifar100(_dir);
        string f = Path.Combine(dir, "train.bin");
        File.WriteAllBytes(f, DataFixtures.CifarRecords([1, 2])[..3000]);
        AssertDataError(() => DataSpec.Parse($"cifar100:{dir}").Load(), f, 0, "3074-byte record");
    }

    [Fact]
    public void Cifar100FineLabelOutOfRange()
    {
        string dir = DataFixtures.WriteCifar100(_dir);
        string f = Path.Combine(dir, "test.bin");
        File.WriteAllBytes(f, DataFixtures.CifarRecords([3, 5], [4, 100]));
        AssertDataError(() => DataSpec.Parse($"cifar100:{dir}").Load(), f, 3074 + 1, "a fine label in [0, 100)");
    }

    [Fact]
    public void Cifar100CoarseLabelOutOfRange()
    {
        string dir = DataFixtures.WriteCifar100(_dir);
        string f = Path.Combine(dir, "train.bin");
        File.WriteAllBytes(f, DataFixtures.CifarRecords([20, 5]));
        AssertDataError(() => DataSpec.Parse($"cifar100:{dir}").Load(), f, 0, "a coarse label in [0, 20)");
    }

    // ---------------------------------------------------------------- safetensors

    private string WriteSafetensors(string name, int n, int[]? labels, Dictionary<string, string>? meta = null, int c = 2)
    {
        string f = P(name);
        var entries = new List<SafetensorsEntry> { SafetensorsEntry.Create("images", [n, c, 2, 3], DataFixtures.Pixels(n, c * 6)) };
        if (labels != null) entries.Add(SafetensorsEntry.Create("labels", [labels.Length], labels));
        Safetensors.Write(f, entries, meta);
        return f;
    }

    [Fact]
    public void SafetensorsTrainAndTestFiles()
    {
        string train = WriteSafetensors("train.safetensors", 3, [0, 4, 1]);
        string test = WriteSafetensors("test.safetensors", 2, [4, 0]);
        var d = DataSpec.Parse($"safetensors:{train},{test}").Load();
        Assert.Equal((3, 2, 2, 3), (d.Train.Count, d.Train.Channels, d.Train.Height, d.Train.Width));
        Assert.Equal(5, d.Train.ClassCount);
        Assert.Equal(DataFixtures.Pixels(3, 12), d.Train.Images.ToArray());
        Assert.Equal([4, 0], d.Test!.Labels.ToArray());
        Assert.Equal(5, d.Test.ClassCount);
    }

    [Fact]
    public void SafetensorsRoundTripsThroughSaveWithoutLabels()
    {
        var ds = new ImageDataset("x", DataFixtures.Pixels(2, 12), 2, 3, 2, 2);
        string f = P("u.safetensors");
        SafetensorsDataset.Save(ds, f);
        var d = DataSpec.Parse($"safetensors:{f}").Load();
        Assert.False(d.Train.HasLabels);
        Assert.Null(d.Test);
        Assert.Equal(ds.Images.ToArray(), d.Train.Images.ToArray());
    }

    [Fact]
    public void SafetensorsMismatchedLabelCount()
    {
        string f = WriteSafetensors("m.safetensors", 3, [0, 1]);
        var e = AssertDataError(() => DataSpec.Parse($"safetensors:{f}").Load(), f, (long)new FileInfo(f).Length - 3 * 12 - 8 + 0, "3 labels to match the 3 images");
        Assert.Contains("2 labels", e.Message);
    }

    [Fact]
    public void SafetensorsLabelOutOfRangeOfDeclaredClasses()
    {
        string f = WriteSafetensors("r.safetensors", 3, [0, 1, 7], new() { ["classes"] = "5" });
        // I32 data comes before U8 data in the file; label 2 sits 8 bytes into it.
        long labelsAt = new FileInfo(f).Length - 3 * 12 - 12;
        AssertDataError(() => DataSpec.Parse($"safetensors:{f}").Load(), f, labelsAt + 8, "a label in [0, 5) (label 2 of 3)");
    }

    [Fact]
    public void SafetensorsImagesOfWrongDType()
    {
        string f = P("f.safetensors");
        Safetensors.Write(f, [SafetensorsEntry.Create("images", [1, 1, 2, 2], new float[4])]);
        AssertDataError(() => DataSpec.Parse($"safetensors:{f}").Load(), f, new FileInfo(f).Length - 16, "dtype U8");
    }

    [Fact]
    public void SafetensorsWithoutImages()
    {
        string f = P("n.safetensors");
        Safetensors.Write(f, [SafetensorsEntry.Create("x", [1], new int[1])]);
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"safetensors:{f}").Load());
        Assert.Contains("no tensor 'images'", e.Message);
    }

    [Fact]
    public void SafetensorsTruncatedFileIsRejectedByTheReader()
    {
        string f = WriteSafetensors("t.safetensors", 3, [0, 1, 1]);
        var bytes = File.ReadAllBytes(f);
        File.WriteAllBytes(f, bytes[..^5]);
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse($"safetensors:{f}").Load());
        Assert.Contains(f, e.Message);
    }

    // ---------------------------------------------------------------- spec

    [Theory]
    [InlineData("fashion-mnist-mini", DataFormat.FashionMnistMini, null, null)]
    [InlineData("  Fashion-MNIST ", DataFormat.FashionMnist, null, null)]
    [InlineData("fashion-mnist:/d/f", DataFormat.FashionMnist, "/d/f", null)]
    [InlineData("idx:/data/mnist", DataFormat.Idx, "/data/mnist", null)]
    [InlineData("cifar10:/c", DataFormat.Cifar10, "/c", null)]
    [InlineData("CIFAR100:/c100", DataFormat.Cifar100, "/c100", null)]
    [InlineData("safetensors:a.safetensors", DataFormat.Safetensors, "a.safetensors", null)]
    [InlineData("safetensors:a.st, b.st", DataFormat.Safetensors, "a.st", "b.st")]
    [InlineData("safetensors:C:\\x\\a.st", DataFormat.Safetensors, "C:\\x\\a.st", null)]
    public void SpecParses(string text, DataFormat format, string? path, string? test)
    {
        var s = DataSpec.Parse(text);
        Assert.Equal(new DataSpec(format, path, test), s);
        Assert.Equal(s, DataSpec.Parse(s.ToString()));
    }

    [Theory]
    [InlineData("mnist", "unknown data spec 'mnist'")]
    [InlineData("cifar10", "'cifar10' needs a folder")]
    [InlineData("idx:", "'idx' needs a folder")]
    [InlineData("fashion-mnist-mini:/x", "takes no path")]
    [InlineData("safetensors:a,b,c", "TRAIN_FILE,TEST_FILE")]
    public void BadSpecsNameTheSpecAndTheAcceptedForms(string text, string fragment)
    {
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse(text));
        Assert.Contains(text, e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void UnknownSpecListsEveryForm()
    {
        var e = Assert.Throws<InvalidDataException>(() => DataSpec.Parse("imagenet:/x"));
        foreach (var form in new[] { "fashion-mnist-mini", "fashion-mnist[:DIR]", "idx:DIR", "cifar10:DIR", "cifar100:DIR", "safetensors:TRAIN[,TEST]" })
            Assert.Contains(form, e.Message);
    }

    // ---------------------------------------------------------------- Fashion-MNIST

    [Fact]
    public void EmbeddedFashionMnistMiniIsBalancedAndComplete()
    {
        var d = DataSpec.Parse(DataSpec.Default).Load();
        Assert.Equal((10_000, 1, 28, 28), (d.Train.Count, d.Train.Channels, d.Train.Height, d.Train.Width));
        Assert.All(d.Train.ClassCounts(), c => Assert.Equal(1000, c));
        Assert.Equal(2_000, d.Test!.Count);
        Assert.All(d.Test.ClassCounts(), c => Assert.Equal(200, c));
        Assert.Equal("Ankle boot", d.Train.ClassNames![9]);
        Assert.Equal("embedded:fashion-mnist-mini", d.Train.SourcePath);
        // Fashion-MNIST's well-known statistics (mean 0.2860, std 0.3530 on the full set).
        var stats = d.ComputeNormalization();
        Assert.InRange(stats.Mean[0], 0.27, 0.30);
        Assert.InRange(stats.Std[0], 0.34, 0.37);
    }

    [Fact]
    public void FullFashionMnistMissingNamesPathAndPackage()
    {
        string missing = P("no-such-dir");
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(missing, isDebianDefault: true));
        Assert.Contains(missing, e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void FullFashionMnistFromDebianWhenInstalled()
    {
        // The package is optional on developer machines; where it is installed, it must load.
        if (!Directory.Exists(FashionMnist.DebianDirectory)) return;
        var d = DataSpec.Parse("fashion-mnist").Load();
        Assert.Equal(60_000, d.Train.Count);
        Assert.Equal(10_000, d.Test!.Count);
        Assert.All(d.Train.ClassCounts(), c => Assert.Equal(6000, c));
    }
}
