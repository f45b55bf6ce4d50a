namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Random;

/// <summary>`rawdistill distill` and `rawdistill eval` end to end, in-process, on a tiny dataset and teacher.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class DistillCliTests
{
    [Fact]
    public void TinyDistillWritesEveryOutputThenResumesAndEvaluates()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rawdistill-distill-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var (data, teacher) = ToyDistillation.Create(dir);
            string run = Path.Combine(dir, "run");
            string[] common = ["--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3", "--widths", "4,8",
                "--checkpoint-every", "2", "--quiet"];
            Assert.Equal(0, Cli.CliApp.Run(["distill", .. common, "--steps", "2", "--eval-seeds", "0", "--out", run]));
            Assert.Equal("2", Safetensors.Read(Path.Combine(run, KrrStRun.CheckpointFile)).Metadata["step"]);

            // Resuming a finished run distils nothing more, rewrites the outputs and runs the evaluation.
            Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "--resume", run, "--eval-seeds", "1", "--eval-epochs", "2", "--fractions", "0.5,1", "--quiet"]));
            foreach (var name in new[] { KrrStRun.DistilledFile, KrrStRun.MetricsFile, KrrStRun.GridFile, KrrStRun.RandomGridFile, KrrStRun.LossPlotFile,
                "config.json", "report.md", "results.csv", "results.json" })
                Assert.True(File.Exists(Path.Combine(run, name)), name);
            var set = Safetensors.Read(Path.Combine(run, KrrStRun.DistilledFile));
            Assert.Equal([6, 1, 8, 8], set["x_syn"].Shape);
            Assert.Equal(DistillTestsHelper.Sha256(teacher), set.Metadata["teacher_sha256"]);
            Assert.Contains("KRR-ST distilled", File.ReadAllText(Path.Combine(run, "report.md")));

            string evalOut = Path.Combine(dir, "eval");
            Assert.Equal(0, Cli.CliApp.Run(["eval", "--distilled", Path.Combine(run, KrrStRun.DistilledFile), "--teacher", teacher, "--data", data,
                "--seeds", "1", "--epochs", "1", "--fractions", "1", "--out", evalOut]));
            Assert.True(File.Exists(Path.Combine(evalOut, "report.md")));
            var oneSeed = File.ReadAllText(Path.Combine(evalOut, "report.md"));
            Assert.Contains("(n = 1)", oneSeed);                     // a single seed has no spread to show
            Assert.DoesNotContain("± 0.00", oneSeed);
            Assert.Contains("One seed only", oneSeed);                // and no verdict
            Assert.Contains("- *KRR-ST distilled*: the set under test", oneSeed);
            Assert.Contains("`docs/evaluation.md`", oneSeed);

            // Every baseline and fine-tuning: one report row per set, a fine-tune column, the
            // representation fit of the MSE-pre-trained rows, protocol and role in the CSV, a verdict.
            string allOut = Path.Combine(dir, "eval-all");
            Assert.Equal(0, Cli.CliApp.Run(["eval", "--distilled", Path.Combine(run, KrrStRun.DistilledFile), "--teacher", teacher, "--data", data,
                "--seeds", "2", "--epochs", "1", "--fractions", "0.5", "--baselines", "none,full,kmeans,random,random-ce,teacher", "--full-data-epochs", "1",
                "--finetune-epochs", "1", "--finetune-fractions", "1", "--out", allOut]));
            var report = File.ReadAllText(Path.Combine(allOut, "report.md"));
            foreach (var row in new[] { "| KRR-ST distilled |", "| random-kd (random subset, teacher targets) |", "| random-ce (random subset, class labels) |",
                "| k-means subset (teacher targets) |", "| full data (teacher targets, 1 epochs) |", "| no pre-training |", "| teacher (its own encoder) |" })
                Assert.Contains(row, report);
            // 40 labelled images, 1 epoch of batch 128: one step, far below the reference's 10000, so the column says so.
            Assert.Contains("| pre-training set | linear probe, 50% labels | fine-tune short (1 step; reference 10000), 100% labels | teacher-fit R² (test) | teacher-fit MSE (test) |", report);
            Assert.Contains("**Verdict** — KRR-ST distilled against random-kd (random subset, teacher targets), linear probe", report);
            Assert.Contains("## Room closed", report);
            Assert.Contains("## Paired differences", report);
            var csv = File.ReadAllLines(Path.Combine(allOut, "results.csv"));
            Assert.Equal("set,role,arch,protocol,fraction,seed,value", csv[0]);
            // Per seed: 7 probe cells, 6 fine-tune cells (not the teacher), R² and MSE of the 4 MSE-pre-trained rows.
            Assert.Equal(1 + (7 + 6 + 8) * 2, csv.Length);
            Assert.Equal(6 * 2, csv.Count(l => l.Contains(",fine-tune short (1 step; reference 10000),1,")));
            Assert.Equal(2, csv.Count(l => l.StartsWith("teacher (its own encoder),Ceiling,teacher,linear probe,", StringComparison.Ordinal)));
            // Names holding commas are quoted: every row has the header's seven fields.
            Assert.Equal(2, csv.Count(l => l.StartsWith("\"random-kd (random subset, teacher targets)\",Reference,", StringComparison.Ordinal) && l.Contains(",linear probe,", StringComparison.Ordinal)));

            // Transfer to another architecture: one row per (architecture, set).
            string archOut = Path.Combine(dir, "eval-archs");
            Assert.Equal(0, Cli.CliApp.Run(["eval", "--distilled", Path.Combine(run, KrrStRun.DistilledFile), "--teacher", teacher, "--data", data,
                "--seeds", "1", "--epochs", "1", "--fractions", "1", "--baselines", "none", "--archs", "convnet,resnet10", "--out", archOut]));
            var archReport = File.ReadAllText(Path.Combine(archOut, "report.md"));
            Assert.Contains("| architecture | pre-training set |", archReport);
            Assert.Contains("| resnet10 | KRR-ST distilled |", archReport);
            Assert.Contains("| convnet-4-8 | no pre-training |", archReport);

            // A bad evaluation flag fails before any work, naming the flag.
            string[] evalArgs = ["eval", "--distilled", Path.Combine(run, KrrStRun.DistilledFile), "--teacher", teacher, "--data", data, "--out", allOut];
            var bad = FailingRun([.. evalArgs, "--baselines", "random,best"]);
            Assert.Contains("--baselines", bad);
            Assert.Contains("best", bad);
            Assert.Contains("--archs: unknown architecture 'resnet50'", FailingRun([.. evalArgs, "--archs", "convnet,resnet50"]));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    static string FailingRun(string[] args) => ToyDistillation.FailingRun(args);
}

static class DistillTestsHelper
{
    public static string Sha256(string path) => Cli.DistillCommand.Sha256(path);
}
