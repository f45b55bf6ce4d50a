namespace RawDistill.Data;

/// <summary>The dataset formats a <see cref="DataSpec"/> can name.</summary>
public enum DataFormat
{
    /// <summary>The embedded Fashion-MNIST subset (no files needed).</summary>
    FashionMnistMini,
    /// <summary>The full Fashion-MNIST: Debian's package folder or a given folder of IDX files.</summary>
    FashionMnist,
    /// <summary>A folder of MNIST-family IDX files, gzipped or not.</summary>
    Idx,
    /// <summary>The binary CIFAR-10 distribution (cifar-10-batches-bin/).</summary>
    Cifar10,
    /// <summary>The binary CIFAR-100 distribution (cifar-100-binary/), fine labels.</summary>
    Cifar100,
    /// <summary>A safetensors file with <c>images</c> (U8 N×C×H×W) and optional <c>labels</c> (I32 [N]); optionally a second file for the test split.</summary>
    Safetensors,
}

/// <summary>
/// What <c>--data</c> names: a format and where its files are. See <see cref="Syntax"/>.
/// Parsing only checks the syntax; <see cref="Load"/> touches the files.
/// </summary>
/// <param name="Format">The dataset format.</param>
/// <param name="Path">The folder or file (null for the embedded subset and Debian's Fashion-MNIST).</param>
/// <param name="TestPath">For safetensors: the test split's file, when given.</param>
public sealed record DataSpec(DataFormat Format, string? Path = null, string? TestPath = null)
{
    /// <summary>The spec used when none is given.</summary>
    public const string Default = "fashion-mnist-mini";

    /// <summary>The accepted forms, for <c>--help</c> and error messages.</summary>
    public const string Syntax =
        "fashion-mnist-mini            embedded 10 000 + 2 000 image Fashion-MNIST subset (default)\n" +
        "fashion-mnist[:DIR]           full Fashion-MNIST; DIR defaults to " + FashionMnist.DebianDirectory + " (Debian package " + FashionMnist.DebianPackage + ")\n" +
        "idx:DIR                       MNIST-family IDX files (*train-images-idx3-ubyte[.gz], *t10k-... or *test-...)\n" +
        "cifar10:DIR                   binary CIFAR-10 (cifar-10-batches-bin/ or its parent)\n" +
        "cifar100:DIR                  binary CIFAR-100, fine labels (cifar-100-binary/ or its parent)\n" +
        "safetensors:TRAIN[,TEST]      'images' U8 N×C×H×W, optional 'labels' I32 [N]; optional test file";

    /// <summary>Parses a spec; whitespace around it is ignored, format names are case-insensitive.</summary>
    /// <exception cref="InvalidDataException">Unknown format, or a missing or superfluous path.</exception>
    public static DataSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        int colon = t.IndexOf(':');
        string head = (colon < 0 ? t : t[..colon]).ToLowerInvariant();
        string? arg = colon < 0 ? null : t[(colon + 1)..].Trim();
        if (arg is "") arg = null;

        DataSpec Need(DataFormat f, string what) => arg != null ? new DataSpec(f, arg)
            : throw DataError.New(text, $"'{head}' needs {what} after the colon, e.g. {head}:/data/{head} (accepted forms:\n{Syntax})");

        switch (head)
        {
            case "fashion-mnist-mini":
                if (colon >= 0) throw DataError.New(text, "'fashion-mnist-mini' is embedded and takes no path; use fashion-mnist:DIR or idx:DIR for files");
                return new DataSpec(DataFormat.FashionMnistMini);
            case "fashion-mnist":
                return new DataSpec(DataFormat.FashionMnist, arg);
            case "idx": return Need(DataFormat.Idx, "a folder");
            case "cifar10": return Need(DataFormat.Cifar10, "a folder");
            case "cifar100": return Need(DataFormat.Cifar100, "a folder");
            case "safetensors":
                {
                    var spec = Need(DataFormat.Safetensors, "a file");
                    // Commas separate the train and test files; paths with commas are not supported.
                    var parts = spec.Path!.Split(',', StringSplitOptions.TrimEntries);
                    if (parts.Length > 2 || parts.Any(p => p.Length == 0))
                        throw DataError.New(text, "expected safetensors:TRAIN_FILE or safetensors:TRAIN_FILE,TEST_FILE");
                    return new DataSpec(DataFormat.Safetensors, parts[0], parts.Length == 2 ? parts[1] : null);
                }
            default:
                throw DataError.New(text, $"unknown data spec '{head}'; expected one of:\n{Syntax}");
        }
    }

    /// <summary>Reads the dataset's splits.</summary>
    /// <exception cref="InvalidDataException">A file is missing or malformed; the message names it, the offset and the expectation.</exception>
    public DataSplits Load() => Format switch
    {
        DataFormat.FashionMnistMini => FashionMnist.LoadMini(),
        DataFormat.FashionMnist => FashionMnist.Load(Path),
        DataFormat.Idx => LoadIdx(System.IO.Path.GetFullPath(Path!)),
        DataFormat.Cifar10 => CifarReader.LoadCifar10(Path!),
        DataFormat.Cifar100 => CifarReader.LoadCifar100(Path!),
        DataFormat.Safetensors => LoadSafetensors(),
        _ => throw new InvalidOperationException($"unhandled format {Format}"),
    };

    static DataSplits LoadIdx(string dir) =>
        FashionMnist.IdxFolder(dir, System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(dir)), null, null);

    DataSplits LoadSafetensors()
    {
        var train = SafetensorsDataset.Load(Path!, System.IO.Path.GetFileNameWithoutExtension(Path!));
        if (TestPath == null) return new DataSplits(train, null);
        var test = SafetensorsDataset.Load(TestPath, System.IO.Path.GetFileNameWithoutExtension(TestPath), train.HasLabels ? train.ClassCount : null);
        if (test.Channels != train.Channels || test.Height != train.Height || test.Width != train.Width)
            throw DataError.New(TestPath, $"test images are {test.Channels}×{test.Height}×{test.Width}, the training images {train.Channels}×{train.Height}×{train.Width}");
        return new DataSplits(train, test);
    }

    /// <summary>The canonical text of this spec (what <see cref="Parse"/> reads back).</summary>
    public override string ToString() => Format switch
    {
        DataFormat.FashionMnistMini => "fashion-mnist-mini",
        DataFormat.FashionMnist => Path == null ? "fashion-mnist" : $"fashion-mnist:{Path}",
        DataFormat.Idx => $"idx:{Path}",
        DataFormat.Cifar10 => $"cifar10:{Path}",
        DataFormat.Cifar100 => $"cifar100:{Path}",
        DataFormat.Safetensors => TestPath == null ? $"safetensors:{Path}" : $"safetensors:{Path},{TestPath}",
        _ => Format.ToString(),
    };
}
