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
}
