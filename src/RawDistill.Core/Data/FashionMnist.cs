namespace RawDistill.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017; MIT license, © Zalando SE): 28×28 gray
/// images of 10 clothing classes, 60 000 train + 10 000 test. The full set comes from Debian's
/// package <c>dataset-fashion-mnist</c>; a 10 000 + 2 000 image subset is embedded in this
/// assembly (see Data/Embedded/README.md) so the default run needs no download.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the gzipped IDX files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The Debian package that provides the full dataset.</summary>
    public const string DebianPackage = "dataset-fashion-mnist";

    /// <summary>Number of classes.</summary>
    public const int Classes = 10;

    /// <summary>Class names, in label order.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    const string ResourcePrefix = "RawDistill.Data.Embedded.";

    /// <summary>The full dataset from a folder of (gzipped) IDX files, by default Debian's.</summary>
    /// <exception cref="InvalidDataException">The folder is missing (the message names the Debian package) or a file is bad.</exception>
    public static DataSplits Load(string? dir = null) => Load(dir ?? DebianDirectory, isDebianDefault: dir == null);

    // Separate from Load so tests can exercise the "package not installed" message on a
    // machine where the package is installed.
    internal static DataSplits Load(string dir, bool isDebianDefault)
    {
        string d = Path.GetFullPath(dir);
        if (!Directory.Exists(d))
            throw DataError.New(d, isDebianDefault
                ? $"the full Fashion-MNIST is not installed: install the Debian package '{DebianPackage}' (sudo apt-get install {DebianPackage}), or use --data fashion-mnist-mini (embedded subset) or --data idx:DIR"
                : "folder not found");
        return IdxFolder(d, "fashion-mnist", Classes, ClassNames);
    }

    /// <summary>The embedded subset (10 000 train + 2 000 test, 1000/200 per class); reads no files.</summary>
    public static DataSplits LoadMini()
    {
        ImageDataset Split(string split, string name) => IdxReader.Load(name,
            $"embedded:{split}-images-idx3-ubyte.gz", Resource($"{split}-images-idx3-ubyte.gz"),
            $"embedded:{split}-labels-idx1-ubyte.gz", Resource($"{split}-labels-idx1-ubyte.gz"),
            Classes, "embedded:fashion-mnist-mini", ClassNames);
        return new DataSplits(Split("train", "fashion-mnist-mini/train"), Split("t10k", "fashion-mnist-mini/test"));
    }

    /// <summary>Train and test splits from an IDX folder (see <see cref="IdxReader.Find"/> for the file names).</summary>
    internal static DataSplits IdxFolder(string dir, string name, int? classes, IReadOnlyList<string>? classNames)
    {
        string trainImages = IdxReader.Find(dir, train: true, images: true), trainLabels = IdxReader.Find(dir, train: true, images: false);
        var train = IdxReader.Load($"{name}/train", trainImages, IdxReader.ReadAllBytes(trainImages), trainLabels, IdxReader.ReadAllBytes(trainLabels), classes, dir, classNames);
        ImageDataset? test = null;
        // A folder with only training files is a valid (test-less) dataset.
        if (IdxReader.TryFind(dir, train: false, images: true) is { } testImages)
        {
            string testLabels = IdxReader.Find(dir, train: false, images: false);
            // The test labels must fall in the training classes: a label the model never saw is an error.
            test = IdxReader.Load($"{name}/test", testImages, IdxReader.ReadAllBytes(testImages), testLabels, IdxReader.ReadAllBytes(testLabels), train.ClassCount, dir, classNames);
            if (test.Height != train.Height || test.Width != train.Width)
                throw DataError.New(testImages, 8, $"images of {train.Height}×{train.Width} like the training split", $"{test.Height}×{test.Width}");
        }
        return new DataSplits(train, test);
    }

    static byte[] Resource(string file)
    {
        using var s = typeof(FashionMnist).Assembly.GetManifestResourceStream(ResourcePrefix + file)
            ?? throw new InvalidOperationException($"embedded resource {ResourcePrefix}{file} is missing from RawDistill.Core (check the EmbeddedResource item in RawDistill.Core.csproj)");
        return IdxReader.ReadAllBytes(s, "embedded:" + file);
    }
}
