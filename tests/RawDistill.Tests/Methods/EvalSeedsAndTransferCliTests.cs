namespace RawDistill.Tests.Methods;

using System.Text.Json;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Eval;
using RawDistill.Methods.KrrSt;
using RawDistill.Random;

/// <summary>
/// `distill --distill-seeds`, `eval --distilled a,b` and transfer (`--source` apart from
/// `--data`), end to end in-process on the tiny toy dataset and teacher.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class EvalSeedsAndTransferCliTests
{
    /// <summary>A labelled RGB dataset of another size and class count than the toy source (3×6×6, 3 classes).</summary>
    static string RgbDownstream(string dir)
    {
        var rng = new Generator(9);
        string Split(string name, int n)
        {
            var px = new float[n * 3 * 36];
            rng.FillUniform(px);
            string path = Path.Combine(dir, "rgb-" + name + ".safetensors");
            Safetensors.Write(path, [SafetensorsEntry.Create("images", [n, 3, 6, 6], px.Select(v => (byte)(v * 255)).ToArray()),
                SafetensorsEntry.Create("labels", [n], Enumerable.Range(0, n).Select(i => i % 3).ToArray())], new Dictionary<string, string> { ["classes"] = "3" });
            return path;
        }
        return $"safetensors:{Split("train", 30)},{Split("test", 12)}";
    }

    [Fact]
    public void TwoDistillationSeedsThenTheirSetsOnAnotherDataset()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rawdistill-seeds-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var (data, teacher) = ToyDistillation.Create(dir);
            string run = Path.Combine(dir, "run");
            Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3",
                "--widths", "4,8", "--steps", "2", "--quiet", "--distill-seeds", "2", "--eval-seeds", "2", "--eval-epochs", "1", "--fractions", "0.5",
                "--baselines", "random-kd,init,none", "--out", run]));
            string set0 = Path.Combine(run, "seed-0", KrrStRun.DistilledFile), set1 = Path.Combine(run, "seed-1", KrrStRun.DistilledFile);
            Assert.True(File.Exists(set0) && File.Exists(set1));
            // Different distillation seeds, different sets.
            Assert.NotEqual(Safetensors.Read(set0).GetF32("x_syn"), Safetensors.Read(set1).GetF32("x_syn"));
            // One joint report: 2 sets × 2 evaluation seeds = 4 paired observations, the candidate's seeds 0–1 from set 1, 2–3 from set 2.
            var report = File.ReadAllText(Path.Combine(run, "report.md"));
            Assert.Contains("n = 2 distillation seeds × 2 evaluation seeds = 4", report);
            Assert.Contains("per seed (distilled set 1 / set 2 / …)", report);
            Assert.Contains("2 KRR-ST runs with distillation seeds 0 … 1", report);
            var csv = File.ReadAllLines(Path.Combine(run, "results.csv"));
            Assert.Equal(4, csv.Count(l => l.StartsWith("KRR-ST distilled,Candidate,", StringComparison.Ordinal) && l.Contains(",linear probe,", StringComparison.Ordinal)));
            Assert.Equal(4, csv.Count(l => l.StartsWith("\"random-kd (random subset, teacher targets)\",Reference,", StringComparison.Ordinal) && l.Contains(",linear probe,", StringComparison.Ordinal)));
            using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "results.json"))))
            {
                var sampling = json.RootElement.GetProperty("sampling");
                Assert.Equal(2, sampling.GetProperty("distillation_seeds").GetInt32());
                Assert.Equal(4, sampling.GetProperty("n").GetInt32());
            }

            // The list form of eval, with transfer: baselines from the toy source (run.json's data
            // by default), probe and fine-tuning on an RGB 6×6 three-class dataset, converted to the sets' 1×8×8.
            string rgb = RgbDownstream(dir);
            string evalOut = Path.Combine(dir, "eval-transfer");
            Assert.Equal(0, Cli.CliApp.Run(["eval", "--distilled", $"{set0},{set1}", "--teacher", teacher, "--data", rgb,
                "--seeds", "2", "--epochs", "1", "--fractions", "1", "--baselines", "random-kd,random-ce,none", "--finetune-steps", "2", "--finetune-fractions", "1",
                "--out", evalOut]));
            var transfer = File.ReadAllText(Path.Combine(evalOut, "report.md"));
            Assert.Contains($"Source (baselines drawn from) `{DataSpec.Parse(data)}` (40 training images", transfer);
            Assert.Contains($"downstream (probe, fine-tuning, test) `{rgb}` (30 training images, 12 test images, 3 classes, converted 6×6×3 → 8×8×1 (3 channels to luma, bilinear resize)", transfer);
            Assert.Contains("the distillation's data", transfer);
            Assert.Contains("n = 2 distillation seeds × 2 evaluation seeds = 4", transfer);
            Assert.Contains("fine-tune short (2 steps; reference 10000), 100% labels", transfer);
            var tcsv = File.ReadAllLines(Path.Combine(evalOut, "results.csv"));
            // random-ce pre-trains on the source's 2 classes; every row is scored on the 12 downstream test images.
            Assert.Equal(4, tcsv.Count(l => l.StartsWith("\"random-ce (random subset, class labels)\",", StringComparison.Ordinal) && l.Contains(",linear probe,", StringComparison.Ordinal)));
            Assert.All(tcsv.Skip(1).Where(l => l.Contains(",linear probe,", StringComparison.Ordinal)),
                l => Assert.Equal(0, Math.Round(double.Parse(l[(l.LastIndexOf(',') + 1)..], System.Globalization.CultureInfo.InvariantCulture) * 12, 9) % 1));

            // Sets of different shapes are not one method's seeds.
            string other = Path.Combine(dir, "other");
            Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "-m", "4", "--real-batch", "10", "--pool-size", "2", "--t-max", "3",
                "--widths", "4,8", "--steps", "1", "--quiet", "--eval-seeds", "0", "--out", other]));
            string bad = ToyDistillation.FailingRun(["eval", "--distilled", $"{set0},{Path.Combine(other, KrrStRun.DistilledFile)}", "--teacher", teacher,
                "--seeds", "2", "--epochs", "1", "--fractions", "1", "--baselines", "none", "--out", Path.Combine(dir, "eval-bad")]);
            Assert.Contains("distilled set 2", bad);
            Assert.Contains("--finetune-epochs and --finetune-steps", ToyDistillation.FailingRun(["eval", "--distilled", set0, "--teacher", teacher,
                "--finetune-epochs", "1", "--finetune-steps", "1", "--out", Path.Combine(dir, "eval-bad2")]));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void DownstreamImagesAreConvertedToTheSetsShape()
    {
        var gray = new ImageDataset("g", Enumerable.Range(0, 2 * 4 * 4).Select(i => (byte)(i * 7)).ToArray(), 2, 1, 4, 4, [0, 1], 2);
        var rgb = EvalDatasets.Fit(gray, 3, 8);
        Assert.Equal((3, 8, 8), (rgb.Channels, rgb.Height, rgb.Width));
        // Gray → RGB repeats the plane: the three channels of an image are equal.
        Assert.Equal(rgb.Image(1)[..64].ToArray(), rgb.Image(1)[64..128].ToArray());
        Assert.Equal(rgb.Image(1)[..64].ToArray(), rgb.Image(1)[128..].ToArray());
        Assert.Equal(gray.Resize(8, 8).Image(1).ToArray(), rgb.Image(1)[..64].ToArray());
        Assert.Equal("4×4×1 → 8×8×3 (gray repeated to 3 channels, bilinear resize)", EvalDatasets.Conversion(gray, 3, 8));
        Assert.Equal("", EvalDatasets.Conversion(gray, 1, 4));
        Assert.Same(gray, EvalDatasets.Fit(gray, 1, 4));
        var splits = new DataSplits(gray, gray);
        Assert.False(EvalDatasets.Same(splits, "x").IsTransfer);
        Assert.Contains("Data `x` (2 training images, 2 test images): source of the baselines and downstream task", EvalDatasets.Same(splits, "x").Describe(1, 4));
    }
}
