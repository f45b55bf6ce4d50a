namespace RawDistill.Tests.Methods;

using RawDistill.Methods.Common;

/// <summary>The one progress display of every long phase (issue 14 item 9) and the plan before the work (item 8).</summary>
public sealed class ProgressDisplayTests
{
    sealed class FakeClock
    {
        public TimeSpan Now;
        public TimeSpan Read() => Now;
    }

    [Fact]
    public void TheEtaLeavesOutTheWarmUpStepAndSettlesAtOnce()
    {
        // A teacher whose first step takes 10 s (JIT, buffers) and every later one 1 s: the old
        // estimate (elapsed / done × left) said 388 s after three of 100 steps; 97 s are left.
        var clock = new FakeClock();
        var lines = new List<string>();
        using var d = new ProgressDisplay("step", 100, 0, ProgressMode.Lines, lines.Add, null, clock.Read, tick: false);
        clock.Now = TimeSpan.FromSeconds(10);
        d.Report(1);
        Assert.Null(d.Eta);
        Assert.Contains("ETA …", lines[^1]);
        clock.Now = TimeSpan.FromSeconds(11);
        d.Report(2);
        Assert.Equal(98, d.Eta!.Value.TotalSeconds, 6);
        clock.Now = TimeSpan.FromSeconds(12);
        d.Report(3);
        Assert.Equal(97, d.Eta!.Value.TotalSeconds, 6);
    }

    [Fact]
    public void ALineDisplayPrintsNowAndThenPlusKeptAndLastLines()
    {
        var clock = new FakeClock();
        var lines = new List<string>();
        using (var d = new ProgressDisplay("step", 10, 0, ProgressMode.Lines, lines.Add, null, clock.Read, tick: false))
            for (int k = 1; k <= 10; k++)
            {
                clock.Now = TimeSpan.FromSeconds(3 * k);
                d.Report(k, detail: $"loss {k}{(k == 5 ? " (checkpoint)" : "")}", keep: k == 5);
            }
        // Step 1 (the first), 5 (kept), 5 + 10 s = step 9 would be 27 s: steps 1 at 3 s, 5 at 15 s, 9 at 27 s ≥ 15 + 10, and 10 (the last).
        Assert.Equal(["step 1/10", "step 5/10", "step 9/10", "step 10/10"], lines.Select(l => l.Split(" · ")[0]));
        Assert.Contains("(checkpoint)", lines[1]);
        Assert.EndsWith("elapsed 30.0s · done", lines[^1]);
        Assert.DoesNotContain(lines, l => l.Contains('\r'));
    }

    [Fact]
    public void AnInPlaceDisplayRedrawsOneLineAndKeepsOnlyWhatItIsToldTo()
    {
        var clock = new FakeClock();
        var terminal = new StringWriter();
        using (var d = new ProgressDisplay("evaluation cell", 4, 0, ProgressMode.InPlace, _ => throw new InvalidOperationException("no whole lines in place"), terminal, clock.Read, tick: false))
        {
            for (int k = 1; k <= 3; k++)
            {
                clock.Now = TimeSpan.FromSeconds(20 * k);
                d.Report(k, detail: $"cell {k}");
            }
            d.Line("k-means: 100 centroids");
            clock.Now = TimeSpan.FromSeconds(80);
            d.Report(4, detail: "cell 4", keep: true);
        }
        string text = terminal.ToString();
        // Three frames on one line (carriage returns, no newline between them), each erasing the rest of the line.
        string[] rows = text.Split('\n');
        Assert.Equal(2, rows.Length - 1);   // the note and the kept last cell end lines; Dispose adds no blank line after a kept one
        Assert.Equal(3, rows[0].Split('\r').Count(f => f.StartsWith("evaluation cell ", StringComparison.Ordinal)));
        Assert.Contains("\u001b[K", rows[0]);
        Assert.EndsWith("k-means: 100 centroids", rows[0]);
        Assert.Contains("evaluation cell 3/4 · cell 3 · elapsed 1m00s · ETA 20.0s", rows[0]);
        Assert.Equal("evaluation cell 4/4 · cell 4 · elapsed 1m20s · done", rows[1]);
    }

    [Fact]
    public void QuietShowsOnlyKeptAndLastLinesAndNoSinkIsSilent()
    {
        var lines = new List<string>();
        using (var d = new ProgressDisplay("iteration", 3, 0, ProgressMode.Quiet, lines.Add, null, tick: false))
        {
            d.Report(1);
            d.Line("a note");
            d.Report(2, keep: true);
            d.Report(3);
        }
        Assert.Equal(["iteration 2/3", "iteration 3/3"], lines.Select(l => l.Split(" · ")[0]));
        using var silent = ProgressDisplay.Start("step", 5);
        silent.Report(5, keep: true);   // no console set up and no log: nothing to write to, nothing thrown
    }

    [Fact]
    public void TheCommandsConsoleSettingReachesDisplaysStartedDeepInsideAMethod()
    {
        var err = new StringWriter();
        using (ProgressDisplay.UseConsole(err, quiet: false, terminal: false))
        using (var d = ProgressDisplay.Start("expert epoch", 2, 1, log: _ => throw new InvalidOperationException("the console wins over the method's log")))
            d.Report(2, detail: "expert 0 epoch 2/2 loss 0.5");
        Assert.StartsWith("expert epoch 2/2 · expert 0 epoch 2/2 loss 0.5 · elapsed", err.ToString());
    }

    [Fact]
    public void ThePlanNamesEveryPhaseWithAnEstimateAndSaysWhereTheFiguresComeFrom()
    {
        // Issue 14 item 8: `distill --data idx:DIR` on 8 000 28×28 images trained a 100-epoch teacher for 36 of 40 minutes unannounced.
        double teacher = CostModel.TeacherSeconds(8000, 100, 28, 28);
        Assert.InRange(teacher / 60, 30, 55);   // 36 min measured; the model's 3.3 ms per image-epoch sits inside the 2.7–3.9 ms measured
        double krr = CostModel.KrrStSeconds(200, 100, 256, 4, 40, 28, 28);
        Assert.InRange(krr, 40, 120);           // 200 steps at 0.26 s/step plus the pool's start
        double eval = CostModel.EvaluationSeconds(3, 2, 2, 100, 100, false, 0, 10000, 2000, [0.01, 0.1], 28, 28);
        Assert.InRange(eval / 60, 1.5, 4);      // ≈ 2.5 min measured for the main job's evaluation
        string text = new WorkPlan().Add("train the teacher 100 epochs on 8 000 28×28 images", teacher).Add("distill 200 KRR-ST steps", krr).ToText();
        Assert.StartsWith("plan: train the teacher 100 epochs on 8 000 28×28 images (~", text);
        Assert.Contains(" min), then distill 200 KRR-ST steps (~", text);
        Assert.Contains("in all", text);
        Assert.Contains("benchmarks/results", text);
        Assert.Equal("8 000", WorkPlan.Count(8000));
        Assert.Equal("45 min", WorkPlan.Duration(44 * 60 + 40));
        Assert.Equal("1.5 min", WorkPlan.Duration(88));
    }
}
