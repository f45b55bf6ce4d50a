namespace RawDistill.Tests.Methods;

using RawDistill.Methods.Eval;

/// <summary>Paired intervals, the report's verdict and the room table, on constructed cells.</summary>
public sealed class EvalReportTests
{
    const string Distilled = "X distilled", Random = "random-kd", None = "no pre-training", TeacherRow = "teacher";

    static List<EvalResult> Cells(double[] candidate, double[] reference, double fraction = 0.1)
    {
        var list = new List<EvalResult>();
        for (int s = 0; s < candidate.Length; s++)
        {
            list.Add(new EvalResult(Distilled, "convnet", fraction, (ulong)s, candidate[s], Role: EvalRole.Candidate));
            list.Add(new EvalResult(Random, "convnet", fraction, (ulong)s, reference[s], Role: EvalRole.Reference));
        }
        return list;
    }

    [Fact]
    public void StudentQuantilesMatchTheTables()
    {
        Assert.Equal(12.706, PairedInterval.StudentT975(1));
        Assert.Equal(4.303, PairedInterval.StudentT975(2));
        Assert.Equal(2.042, PairedInterval.StudentT975(30));
        Assert.Equal(2.021, PairedInterval.StudentT975(40), 3);   // table: 2.021
        Assert.Equal(1.984, PairedInterval.StudentT975(100), 3);  // table: 1.984
    }

    [Fact]
    public void IntervalOfKnownDifferences()
    {
        // Differences 1, 2, 3: mean 2, sd 1, half-width t(2)·1/√3.
        var p = PairedInterval.Of([0.6, 0.7, 0.8], [-0.4, -1.3, -2.2]);
        Assert.Equal([1.0, 2.0, 3.0], p.Differences.Select(d => Math.Round(d, 12)));
        Assert.Equal(2, p.Mean, 12);
        Assert.Equal(2 - 4.303 / Math.Sqrt(3), p.Lower, 12);
        Assert.Equal(2 + 4.303 / Math.Sqrt(3), p.Upper, 12);
        // Three seeds that all favour the candidate, but by 1 to 3: the interval (−0.48, 4.48) holds 0.
        Assert.Equal(Verdict.Ties, p.Verdict);
        Assert.Throws<ArgumentException>(() => PairedInterval.Of([1, 2], [1]));
    }

    [Fact]
    public void IdenticalSetsTie()
    {
        var acc = new[] { 0.712, 0.705, 0.731 };
        var results = Cells(acc, acc);
        var c = Assert.Single(EvalReport.Comparisons(results));
        Assert.Equal(Verdict.Ties, c.Interval.Verdict);
        Assert.Equal(0, c.Interval.Lower);
        Assert.Equal(0, c.Interval.Upper);
        string headline = EvalReport.Headline(results);
        Assert.Contains("X distilled against random-kd", headline);
        Assert.Contains("ties it at 10%", headline);
        Assert.DoesNotContain("beats", headline.Split('\n')[0]);
    }

    [Fact]
    public void AClearWinBeatsAndAClearLossLoses()
    {
        // The candidate is 2 points above on every seed although the seeds spread by 5 points:
        // overlapping means, a clear paired win.
        var reference = new[] { 0.70, 0.75, 0.65 };
        var win = EvalReport.Headline(Cells(reference.Select(a => a + 0.02 + 0.001 * a).ToArray(), reference));
        Assert.Contains("beats it at 10%", win);
        var lose = EvalReport.Headline(Cells(reference.Select(a => a - 0.02).ToArray(), reference));
        Assert.Contains("loses to it at 10%", lose);
    }

    [Fact]
    public void OneSeedIsNeverAWin()
    {
        var results = Cells([0.9], [0.1]);
        Assert.Equal(Verdict.Ties, Assert.Single(EvalReport.Comparisons(results)).Interval.Verdict);
        Assert.Contains("One seed only", EvalReport.Headline(results));
    }

    [Fact]
    public void OnlySeedsBothRowsHaveArePaired()
    {
        var results = Cells([0.8, 0.8, 0.8], [0.7, 0.7, 0.7]);
        results.RemoveAll(r => r.Set == Random && r.Seed == 2);
        var c = Assert.Single(EvalReport.Comparisons(results));
        Assert.Equal(2, c.Interval.Differences.Count);
    }

    [Fact]
    public void RoomTableGivesTheShareOfTheGapClosed()
    {
        var results = new List<EvalResult>();
        for (ulong s = 0; s < 2; s++)
        {
            results.Add(new EvalResult(None, "convnet", 0.1, s, 0.70, Role: EvalRole.Floor));
            results.Add(new EvalResult(TeacherRow, "teacher", 0.1, s, 0.80, Role: EvalRole.Ceiling));
            results.Add(new EvalResult(Distilled, "convnet", 0.1, s, 0.75, Role: EvalRole.Candidate));
            results.Add(new EvalResult(Random, "convnet", 0.1, s, 0.72, Role: EvalRole.Reference));
        }
        string room = EvalReport.RoomTable(results);
        Assert.Contains("| convnet | room: teacher − no pre-training (points) | 10.00 |", room);
        Assert.Contains("| convnet | X distilled | 50% |", room);
        Assert.Contains("| convnet | random-kd | 20% |", room);
        Assert.Equal("", EvalReport.RoomTable(results.Where(r => r.Role != EvalRole.Ceiling).ToList()));
    }

    [Fact]
    public void TheTeacherFitIsJudgedToo()
    {
        var results = Cells([0.70, 0.72, 0.71], [0.70, 0.72, 0.71]);
        for (ulong s = 0; s < 3; s++)
        {
            results.Add(new EvalResult(Distilled, "convnet", 1, s, 0.741 + 0.005 * s, PretrainEvaluation.FitR2Protocol, EvalRole.Candidate));
            results.Add(new EvalResult(Random, "convnet", 1, s, 0.696 + 0.004 * s, PretrainEvaluation.FitR2Protocol, EvalRole.Reference));
            results.Add(new EvalResult(Distilled, "convnet", 1, s, 0.5, PretrainEvaluation.FitMseProtocol, EvalRole.Candidate));
            results.Add(new EvalResult(Random, "convnet", 1, s, 0.6, PretrainEvaluation.FitMseProtocol, EvalRole.Reference));
        }
        var comparisons = EvalReport.Comparisons(results);
        Assert.Equal(2, comparisons.Count);   // the probe and R², not the MSE
        string headline = EvalReport.Headline(results);
        Assert.Contains("ties it at 10%", headline);
        Assert.Contains("teacher fit R² on the test split (convnet): beats it (+0.046 [", headline);
        Assert.Contains("| test split | +0.046 [", EvalReport.PairedTable(results));
    }

    /// <summary>
    /// K = 2 distilled sets × S = 3 evaluation seeds laid out as <see cref="SeedBlocks"/> does:
    /// the candidate's seeds 0–2 come from set 1, 3–5 from set 2; every baseline cell has its own seed.
    /// </summary>
    static List<EvalResult> TwoSets(double[] set1, double[] set2, double[] reference)
    {
        var blocks = new SeedBlocks(2, 3);
        var list = new List<EvalResult>();
        foreach (var seed in blocks.Seeds)
        {
            var mine = blocks.SetOf(seed) == 0 ? set1 : set2;
            list.Add(new EvalResult(Distilled, "convnet", 0.1, seed, mine[seed % 3], Role: EvalRole.Candidate));
            list.Add(new EvalResult(Random, "convnet", 0.1, seed, reference[seed], Role: EvalRole.Reference));
        }
        return list;
    }

    [Fact]
    public void SeedBlocksGiveEachSetItsOwnSeeds()
    {
        var b = new SeedBlocks(2, 3);
        Assert.Equal([0UL, 1, 2, 3, 4, 5], b.Seeds);
        Assert.Equal([0, 0, 0, 1, 1, 1], b.Seeds.Select(b.SetOf));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.SetOf(6));
        Assert.Equal("n = 2 distillation seeds × 3 evaluation seeds = 6", b.SampleSize);
        Assert.Equal("n = 3 evaluation seeds", new SeedBlocks(1, 3).SampleSize);
    }

    [Fact]
    public void TwoDistillationSeedsPoolAllSixDifferences()
    {
        var reference = new[] { 0.70, 0.75, 0.65, 0.72, 0.68, 0.74 };
        var blocks = new SeedBlocks(2, 3);

        // Two identical sets that score exactly as the baseline of their seed: a tie with n = 6.
        var same = TwoSets(reference[..3], reference[3..], reference);
        var tie = Assert.Single(EvalReport.Comparisons(same));
        Assert.Equal(6, tie.Interval.Differences.Count);
        Assert.Equal(Verdict.Ties, tie.Interval.Verdict);
        string tieHeadline = EvalReport.Headline(same, blocks);
        Assert.Contains("ties it at 10%", tieHeadline);
        Assert.Contains("n = 2 distillation seeds × 3 evaluation seeds = 6", tieHeadline);

        // Both sets 1.5–2.5 points above the baseline of every one of their seeds: a clear win,
        // its interval over 6 differences (t with 5 degrees of freedom).
        var win = TwoSets(reference[..3].Select(a => a + 0.02).ToArray(), reference[3..].Select(a => a + 0.015 + 0.01 * a).ToArray(), reference);
        var c = Assert.Single(EvalReport.Comparisons(win));
        Assert.Equal(6, c.Interval.Differences.Count);
        var diffs = c.Interval.Differences.ToArray();
        double mean = diffs.Average(), sd = Math.Sqrt(diffs.Sum(d => (d - mean) * (d - mean)) / 5);
        Assert.Equal(mean - 2.571 * sd / Math.Sqrt(6), c.Interval.Lower, 12);
        Assert.Equal(Verdict.Beats, c.Interval.Verdict);
        Assert.Contains("beats it at 10%", EvalReport.Headline(win, blocks));

        // The paired table shows each set's block of differences apart.
        string table = EvalReport.PairedTable(win, blocks);
        Assert.Contains("per seed (distilled set 1 / set 2 / …)", table);
        Assert.Contains("+2.00, +2.00, +2.00 / +2.22, +2.18, +2.24", table);
    }
}
