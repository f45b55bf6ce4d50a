namespace RawDistill.Methods.Mkdt;

using System.Diagnostics;
using System.Globalization;
using System.Text;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>
/// Drives an <see cref="MkdtDistiller"/> to the end of its run and fills the output folder as
/// KRR-ST's run does: <c>distilled.safetensors</c> (<see cref="Common.DistilledSet"/> with the
/// learned η), <c>grid.png</c> next to <c>grid-initial.png</c> (the high-loss start),
/// <c>metrics.csv</c> (iteration, matching loss, η, seconds, expert, start epoch, gradient
/// norms), <c>loss.png</c>, and <c>checkpoint.safetensors</c> (atomic; at iteration 0 and
/// every K iterations) that <see cref="MkdtDistiller.Resume"/> continues from bit-exactly.
/// </summary>
public static class MkdtRun
{
    /// <summary>File names inside the output folder.</summary>
    public const string DistilledFile = "distilled.safetensors", CheckpointFile = "checkpoint.safetensors", MetricsFile = "metrics.csv",
        GridFile = "grid.png", InitialGridFile = "grid-initial.png", LossPlotFile = "loss.png";

    const string Header = "step,loss,eta,seconds,expert,start,grad_x,grad_y,grad_eta";

    /// <summary>Runs the remaining iterations.</summary>
    /// <exception cref="MkdtDivergedException">NaN loss or η ≤ 0; the last checkpoint in <paramref name="outDir"/> is left untouched.</exception>
    public static void Run(MkdtDistiller d, string outDir, Action<MkdtProgress>? progress = null)
    {
        Directory.CreateDirectory(outDir);
        string metricsPath = Path.Combine(outDir, MetricsFile), ckpt = Path.Combine(outDir, CheckpointFile);
        var rows = new List<string>();
        var losses = new List<(double Step, double Loss)>();
        double offset = 0;
        if (d.StepsDone == 0)
        {
            SaveGrid(d, Path.Combine(outDir, InitialGridFile));
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
                rows.Add(line);
                losses.Add((s, double.Parse(f[1], CultureInfo.InvariantCulture)));
                offset = double.Parse(f[3], CultureInfo.InvariantCulture);
            }
        }
        var clock = Stopwatch.StartNew();
        while (d.StepsDone < d.Config.Iterations)
        {
            var p = d.Step() with { Seconds = offset + clock.Elapsed.TotalSeconds };
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"{p.Step},{p.Loss:R},{p.Eta:R},{p.Seconds:F3},{p.Expert},{p.Start},{p.GradXNorm:G6},{p.GradYNorm:G6},{p.GradEta:G6}"));
            losses.Add((p.Step, p.Loss));
            if (d.StepsDone % d.Config.CheckpointEvery == 0 || d.StepsDone == d.Config.Iterations)
            {
                WriteMetrics(metricsPath, rows);
                d.SaveCheckpoint(ckpt);
            }
            // After the checkpoint's rename: a line that says "(checkpoint)" means it is on disk.
            progress?.Invoke(p);
        }
        WriteMetrics(metricsPath, rows);
        d.ToDistilledSet().Save(Path.Combine(outDir, DistilledFile));
        SaveGrid(d, Path.Combine(outDir, GridFile));
        if (losses.Count > 0)
            LinePlot.Save(Path.Combine(outDir, LossPlotFile), losses.Select(r => r.Step).ToList(), losses.Select(r => r.Loss).ToList(), logY: true,
                xLabel: "iteration", yLabel: "matching loss (log)", title: "MKDT trajectory-matching loss");
    }

    static void SaveGrid(MkdtDistiller d, string path)
    {
        using var scope = TensorScope.Begin();
        ImageGrid.Save(path, Tensor.From<float>(d.PixelImages(), d.XSyn.Shape.ToArray()));
    }

    static void WriteMetrics(string path, List<string> rows)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in rows) sb.Append(r).Append('\n');
        Common.AtomicFile.WriteAllText(path, sb.ToString());
    }
}
