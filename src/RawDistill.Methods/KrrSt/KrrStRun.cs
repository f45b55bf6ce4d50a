namespace RawDistill.Methods.KrrSt;

using System.Diagnostics;
using System.Globalization;
using System.Text;
using RawDistill.IO;

/// <summary>
/// Drives a <see cref="KrrStDistiller"/> to the end of its run and fills the output folder:
/// <c>distilled.safetensors</c>, <c>grid.png</c> (X_s) next to <c>grid-random.png</c> (the
/// initial real images), <c>metrics.csv</c> (step, loss, lr, seconds), <c>loss.png</c>
/// (log-scale loss curve) and <c>checkpoint.safetensors</c> (every K steps, atomic, and at
/// step 0) that <see cref="KrrStDistiller.Resume"/> continues from.
/// </summary>
public static class KrrStRun
{
    /// <summary>File names inside the output folder.</summary>
    public const string DistilledFile = "distilled.safetensors", CheckpointFile = "checkpoint.safetensors", MetricsFile = "metrics.csv",
        GridFile = "grid.png", RandomGridFile = "grid-random.png", LossPlotFile = "loss.png";

    /// <summary>
    /// Runs the remaining steps. A fresh run (step 0) writes <c>grid-random.png</c> and a step-0
    /// checkpoint first; a resumed one keeps the metrics rows up to its checkpoint's step.
    /// </summary>
    /// <exception cref="KrrStDivergedException">The loss became NaN or the factorization failed;
    /// the last good checkpoint in <paramref name="outDir"/> is left untouched.</exception>
    public static void Run(KrrStDistiller d, string outDir, Action<KrrStProgress>? progress = null)
    {
        Directory.CreateDirectory(outDir);
        string metricsPath = Path.Combine(outDir, MetricsFile), ckpt = Path.Combine(outDir, CheckpointFile);
        var rows = new List<(int Step, double Loss, double Lr, double Seconds)>();
        if (d.StepsDone == 0)
        {
            ImageGrid.Save(Path.Combine(outDir, RandomGridFile), d.XSyn.Detach());
            d.SaveCheckpoint(ckpt);
        }
        else if (File.Exists(metricsPath))
        {
            foreach (var line in File.ReadLines(metricsPath).Skip(1))
            {
                var f = line.Split(',');
                if (f.Length < 4) continue;
                int s = int.Parse(f[0], CultureInfo.InvariantCulture);
                if (s > d.StepsDone) break;
                rows.Add((s, double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture)));
            }
        }
        double offset = rows.Count > 0 ? rows[^1].Seconds : 0;
        var clock = Stopwatch.StartNew();
        while (d.StepsDone < d.Config.Steps)
        {
            var (loss, lr) = d.Step();
            double seconds = offset + clock.Elapsed.TotalSeconds;
            rows.Add((d.StepsDone, loss, lr, seconds));
            if (d.StepsDone % d.Config.CheckpointEvery == 0 || d.StepsDone == d.Config.Steps)
            {
                WriteMetrics(metricsPath, rows);
                d.SaveCheckpoint(ckpt);
            }
            // After the checkpoint's rename: a line that says "(checkpoint)" means it is on disk.
            progress?.Invoke(new KrrStProgress(d.StepsDone, d.Config.Steps, loss, lr, seconds));
        }
        WriteMetrics(metricsPath, rows);
        d.SaveDistilled(Path.Combine(outDir, DistilledFile));
        ImageGrid.Save(Path.Combine(outDir, GridFile), d.XSyn.Detach());
        LinePlot.Save(Path.Combine(outDir, LossPlotFile), rows.Select(r => (double)r.Step).ToList(), rows.Select(r => r.Loss).ToList(), logY: true,
            xLabel: "outer step", yLabel: "loss (log)", title: "KRR-ST outer loss");
    }

    static void WriteMetrics(string path, List<(int Step, double Loss, double Lr, double Seconds)> rows)
    {
        var sb = new StringBuilder("step,loss,lr,seconds\n");
        foreach (var r in rows)
            sb.Append(CultureInfo.InvariantCulture, $"{r.Step},{r.Loss:R},{r.Lr:R},{r.Seconds:F3}\n");
        string tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(tmp, sb.ToString());
        File.Move(tmp, path, overwrite: true);
    }
}
