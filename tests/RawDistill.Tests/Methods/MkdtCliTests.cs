namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Methods.Eval;
using RawDistill.Methods.Mkdt;
using RawDistill.Methods.Ssl;
using RawDistill.Random;

/// <summary>`rawdistill experts` and `distill --method mkdt` end to end, in-process, then `eval --protocol mkdt`.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class MkdtCliTests
{
    [Fact]
    public void ExpertsThenMkdtDistillThenEvaluate()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rawdistill-mkdt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var (data, teacher) = ToyDistillation.Create(dir);
            string experts = Path.Combine(dir, "experts");
            string[] expertFlags = ["--data", data, "--teacher", teacher, "--out", experts, "--experts", "2", "--epochs", "2", "--widths", "4,4", "--batch", "16", "--quiet"];
            // Two shards into one folder, as two array tasks would.
            Assert.Equal(0, Cli.CliApp.Run(["experts", "train", .. expertFlags, "--shard", "1/2"]));
            Assert.Equal([1], ExpertStore.Open(experts).Finished());
            Assert.Equal(0, Cli.CliApp.Run(["experts", "train", .. expertFlags, "--shard", "0/2"]));
            Assert.Equal([0, 1], ExpertStore.Open(experts).Finished());
            Assert.Equal(0, Cli.CliApp.Run(["experts", "status", "--out", experts]));
            Assert.Equal(1, Cli.CliApp.Run(["experts", "train", .. expertFlags, "--shard", "2/2"]));
            Assert.Equal(1, Cli.CliApp.Run(["experts", "train", .. expertFlags, "--widths", "8,8"])); // another student: refused, not mixed

            string run = Path.Combine(dir, "run");
            var err = new StringWriter();
            var old = Console.Error;
            Console.SetError(err);
            int rc;
            try
            {
                rc = Cli.CliApp.Run(["distill", "--method", "mkdt", "--data", data, "--teacher", teacher, "--experts-dir", experts,
                    "-m", "4", "--steps", "3", "--syn-steps", "2", "--syn-batch", "2", "--max-start", "1", "--expert-epochs", "2", "--lr-img", "10", "--lr-y", "10",
                    "--checkpoint-every", "2", "--eval-seeds", "1", "--fractions", "1", "--probe", "both", "--quiet", "--out", run]);
            }
            finally
            {
                Console.SetError(old);
            }
            Assert.True(rc == 0, err.ToString());
            foreach (var name in new[] { MkdtRun.DistilledFile, MkdtRun.MetricsFile, MkdtRun.GridFile, MkdtRun.InitialGridFile, MkdtRun.LossPlotFile, "config.json", "report.md" })
                Assert.True(File.Exists(Path.Combine(run, name)), name);
            var set = DistilledSet.Load(Path.Combine(run, MkdtRun.DistilledFile));
            Assert.Equal(DistillMethod.Mkdt, set.Method);
            string report = File.ReadAllText(Path.Combine(run, "report.md"));
            Assert.Contains("MKDT distilled (lr η", report);
            Assert.Contains("MKDT distilled (lr 0.1)", report);
            Assert.Contains("high-loss subset", report);
            Assert.Contains(PretrainEvaluation.MkdtProbeProtocol, report);

            // --resume finds the method in the checkpoint (no --method): a finished run rewrites its outputs.
            File.Delete(Path.Combine(run, MkdtRun.DistilledFile));
            Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "--resume", run, "--eval-seeds", "0", "--quiet"]));
            Assert.Equal(set.X, DistilledSet.Load(Path.Combine(run, MkdtRun.DistilledFile)).X);

            // eval reads the MKDT set like any other.
            string evalOut = Path.Combine(dir, "eval");
            Assert.Equal(0, Cli.CliApp.Run(["eval", "--distilled", Path.Combine(run, MkdtRun.DistilledFile), "--teacher", teacher, "--data", data,
                "--seeds", "1", "--protocol", "mkdt", "--fractions", "1", "--baselines", "highloss,random", "--out", evalOut]));
            Assert.Contains("high-loss subset", File.ReadAllText(Path.Combine(evalOut, "report.md")));

            // Bad flags are named.
            Assert.Equal(1, Cli.CliApp.Run(["distill", "--method", "mkdt", "--data", data, "--teacher", teacher, "--experts-dir", experts, "--init", "worst", "--out", run]));
            Assert.Equal(1, Cli.CliApp.Run(["distill", "--method", "dc", "--data", data]));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MkdtProbeTakesUnitStepsOnRawFeatures()
    {
        // Two separable blobs: the reference probe (20 unit L-BFGS steps, raw features) still separates them.
        var rng = new Generator(5);
        int n = 40, d = 3;
        var x = new float[n * d];
        rng.FillNormal(x);
        var y = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        for (int i = 0; i < n; i++) x[i * d] += y[i] == 1 ? 4 : -4;
        var model = LinearProbe.Fit(x, y, 2, LinearProbeOptions.Mkdt());
        Assert.Equal(0.0, model.Mean[0]);
        Assert.Equal(1.0, model.Std[0]);
        Assert.True(model.Iterations <= 20);
        Assert.True(model.Accuracy(x, y) > 0.95);
    }
}
