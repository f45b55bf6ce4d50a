namespace RawDistill.Tests.Methods;

using System.Globalization;
using RawDistill.IO;
using RawDistill.Methods.Interop;
using RawDistill.Tests.Nn;

/// <summary><see cref="ImageFolderExport"/> and `rawdistill export`: PNG pixels, file order, targets, clipping, refusals.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ImageFolderExportTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("rawdistill-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WriteSet(string name, int n, int c, int h, int w, int d, Func<int, float> pixel)
    {
        string run = Path.Combine(_dir, name);
        Directory.CreateDirectory(run);
        string path = Path.Combine(run, "distilled.safetensors");
        var x = Enumerable.Range(0, n * c * h * w).Select(pixel).ToArray();
        var y = Enumerable.Range(0, n * d).Select(i => i * 0.25f - 1).ToArray();
        Safetensors.Write(path, [SafetensorsEntry.Create("x_syn", [n, c, h, w], x), SafetensorsEntry.Create("y_syn", [n, d], y)],
            new Dictionary<string, string> { ["format"] = "test-set", ["normalization"] = "{\"mean\":[0.5],\"std\":[0.25]}" });
        return path;
    }

    [Fact]
    public void WritesEveryImageInOrderWithItsTargets()
    {
        // 12 RGB 3×5 images: pixel value encodes (image, channel, position); a few fall outside [0, 1].
        const int n = 12, c = 3, h = 3, w = 5, d = 4;
        float Pixel(int i) => i % 97 == 0 ? 1.5f : i % 89 == 0 ? -0.2f : (i % 256) / 255f;
        string set = WriteSet("run-a", n, c, h, w, d, Pixel);
        var r = ImageFolderExport.Export(set, Path.Combine(_dir, "out", ImageFolderExport.DefaultName(set)));
        Assert.Equal((n, c, (h, w), d), (r.Images, r.Channels, r.Size, r.TargetDim));
        Assert.EndsWith(Path.Combine("out", "run-a"), r.Folder);
        int outside = Enumerable.Range(0, n * c * h * w).Count(i => Pixel(i) is < 0 or > 1);
        Assert.Equal((double)outside / (n * c * h * w), r.ClippedFraction, 12);

        var files = Directory.GetFiles(Path.Combine(r.Folder, ImageFolderExport.ClassFolder)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"{i:D6}.png"), files);
        for (int i = 0; i < n; i++)
        {
            var (pw, ph, ct, px) = PngTests.Decode(File.ReadAllBytes(Path.Combine(r.Folder, "images", files[i]!)));
            Assert.Equal((w, h, 2), (pw, ph, ct));
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++)
                    Assert.Equal((byte)Math.Round(Math.Clamp(Pixel(((i * c) + ch) * h * w + p), 0f, 1f) * 255f), px[p * c + ch]);
        }

        var targets = Safetensors.Read(Path.Combine(r.Folder, "targets.safetensors"));
        Assert.Equal([n, d], targets["y_syn"].Shape);
        Assert.Equal(Enumerable.Range(0, n * d).Select(i => i * 0.25f - 1), targets.GetF32("y_syn"));
        Assert.Equal("test-set", targets.Metadata["format"]);
        var csv = File.ReadAllLines(Path.Combine(r.Folder, "targets.csv"));
        Assert.Equal("file,row,y_0,y_1,y_2,y_3", csv[0]);
        Assert.Equal(n + 1, csv.Length);
        Assert.Equal($"images/000005.png,5,{(5 * d * 0.25f - 1).ToString(CultureInfo.InvariantCulture)},", csv[6][..(csv[6].IndexOf(',', 20) + 1)]);
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir, "out"), ".*"));
    }

    [Fact]
    public void CliExportsGraySetsAndRefusesWhatItCannotWrite()
    {
        string a = WriteSet("gray", 3, 1, 4, 4, 2, i => i / 48f);
        string outDir = Path.Combine(_dir, "exported");
        Assert.Equal(0, Cli.CliApp.Run(["export", a, "--out", outDir]));
        var (_, _, ct, px) = PngTests.Decode(File.ReadAllBytes(Path.Combine(outDir, "gray", "images", "000002.png")));
        Assert.Equal(0, ct);
        Assert.Equal((byte)Math.Round(32 / 48f * 255f), px[0]);

        // An existing folder is kept unless --force; --force replaces it.
        Assert.Contains("--force", FailingRun(["export", a, "--out", outDir]));
        Assert.Equal(0, Cli.CliApp.Run(["export", a, "--out", outDir, "--force"]));

        string notASet = Path.Combine(_dir, "features.safetensors");
        Safetensors.Write(notASet, [SafetensorsEntry.Create("features", [2, 3], new float[6])]);
        Assert.Contains("no 'x_syn' tensor", FailingRun(["export", notASet, "--out", outDir]));
        Assert.Contains("no set file at", FailingRun(["export", Path.Combine(_dir, "missing.safetensors")]));
        Assert.Contains("would both be exported", FailingRun(["export", a, a, "--out", outDir]));
    }

    static string FailingRun(string[] args) => ToyDistillation.FailingRun(args);
}
