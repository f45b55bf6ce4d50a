namespace RawDistill.Methods.Eval;

using System.Globalization;
using System.Text;

/// <summary>One candidate set against one baseline, at one (architecture, protocol, label fraction).</summary>
/// <param name="Candidate">The distilled set's row name.</param>
/// <param name="Baseline">The baseline's row name.</param>
/// <param name="BaselineRole">What the baseline is for (the reference bar, another baseline, the floor).</param>
/// <param name="Arch">Architecture.</param>
/// <param name="Protocol">Downstream protocol (an accuracy protocol).</param>
/// <param name="Fraction">Label fraction.</param>
/// <param name="Interval">Candidate − baseline, paired by seed (accuracy in [0, 1]).</param>
/// <param name="Seeds">The evaluation seed of each difference of <paramref name="Interval"/>.</param>
public sealed record SetComparison(string Candidate, string Baseline, EvalRole BaselineRole, string Arch, string Protocol, double Fraction, PairedInterval Interval,
    IReadOnlyList<ulong>? Seeds = null);

/// <summary>
/// The parts of the evaluation report that judge (design page evaluation.md, "Room and
/// noise"): the paired differences of every candidate (a distilled set) against every
/// baseline, the headline verdict against the reference bar (random-kd), and the fraction of
/// the room (teacher − no pre-training) each set closes.
/// </summary>
public static class EvalReport
{
    /// <summary>
    /// Every candidate against every other non-ceiling row of its architecture, per accuracy
    /// protocol and fraction and on the teacher fit (R²), paired by seed: only seeds both rows
    /// have count.
    /// </summary>
    public static List<SetComparison> Comparisons(IReadOnlyList<EvalResult> results)
    {
        var accuracy = results.Where(r => r.IsAccuracy || r.Protocol == PretrainEvaluation.FitR2Protocol).ToList();
        var list = new List<SetComparison>();
        foreach (var cand in accuracy.Where(r => r.Role == EvalRole.Candidate).Select(r => (r.Set, r.Arch)).Distinct())
        {
            var baselines = accuracy.Where(r => r.Arch == cand.Arch && r.Role is EvalRole.Reference or EvalRole.Baseline or EvalRole.Floor)
                .Select(r => (r.Set, r.Role)).Distinct()
                .OrderBy(b => b.Role == EvalRole.Reference ? 0 : b.Role == EvalRole.Baseline ? 1 : 2).ToList();
            var columns = accuracy.Where(r => r.Arch == cand.Arch && r.Set == cand.Set).Select(r => (r.Protocol, r.Fraction)).Distinct()
                .OrderBy(c => c.Protocol == PretrainEvaluation.LinearProbeProtocol ? 0 : c.Protocol == PretrainEvaluation.FitR2Protocol ? 2 : 1).ThenBy(c => c.Protocol).ThenBy(c => c.Fraction).ToList();
            foreach (var b in baselines)
                foreach (var (protocol, fraction) in columns)
                {
                    Dictionary<ulong, double> Cells(string set) => accuracy
                        .Where(r => r.Arch == cand.Arch && r.Set == set && r.Protocol == protocol && r.Fraction == fraction)
                        .GroupBy(r => r.Seed).ToDictionary(g => g.Key, g => g.First().Accuracy);
                    var a = Cells(cand.Set);
                    var o = Cells(b.Set);
                    var seeds = a.Keys.Intersect(o.Keys).Order().ToList();
                    if (seeds.Count == 0) continue;
                    var interval = PairedInterval.Of(seeds.Select(s => a[s]).ToList(), seeds.Select(s => o[s]).ToList());
                    list.Add(new SetComparison(cand.Set, b.Set, b.Role, cand.Arch, protocol, fraction, interval, seeds));
                }
        }
        return list;
    }

    /// <summary>
    /// One line per (candidate, architecture, protocol) against the reference bar (or, without
    /// one, against each baseline): "beats / ties / loses to" per label fraction, by the 95%
    /// paired interval. Empty when there is no candidate. With <paramref name="blocks"/> (several
    /// distilled sets), the closing sentence gives n as distillation seeds × evaluation seeds.
    /// </summary>
    public static string Headline(IReadOnlyList<EvalResult> results, SeedBlocks? blocks = null)
    {
        var comparisons = Comparisons(results);
        if (comparisons.Count == 0) return "";
        bool hasReference = comparisons.Any(c => c.BaselineRole == EvalRole.Reference);
        var sb = new StringBuilder();
        int seeds = comparisons.Max(c => c.Interval.Differences.Count);
        foreach (var g in comparisons.Where(c => !hasReference || c.BaselineRole == EvalRole.Reference)
                     .GroupBy(c => (c.Candidate, c.Baseline, c.Arch, c.Protocol)))
        {
            if (g.Key.Protocol == PretrainEvaluation.FitR2Protocol)
            {
                var c = g.First();
                sb.Append(CultureInfo.InvariantCulture,
                    $"**Verdict** — {c.Candidate} against {c.Baseline}, teacher fit R² on the test split ({c.Arch}): {c.Interval.VerdictWord} it ({Format(c)}).\n");
                continue;
            }
            var parts = g.GroupBy(c => c.Interval.VerdictWord).Select(v =>
                $"{v.Key} it at {string.Join(", ", v.Select(c => $"{PretrainEvaluation.Pct(c.Fraction)} ({Format(c)})"))}");
            sb.Append(CultureInfo.InvariantCulture, $"**Verdict** — {g.Key.Candidate} against {g.Key.Baseline}, {g.Key.Protocol} ({g.Key.Arch}): {string.Join("; ", parts)} labels.\n");
        }
        string over = blocks is { Sets: > 1 } && blocks.Count == seeds ? blocks.Describe() : $"{seeds} seeds that share the label subset and the encoder initialization";
        sb.Append(seeds < 2
            ? "\nOne seed only: no interval can be formed, so nothing is called a win; run at least 3 evaluation seeds.\n"
            : $"\nDifferences are in accuracy points (in R² for the teacher fit), mean [95% paired t-interval] over {over}; \"beats\" needs the whole interval above 0.\n");
        return sb.ToString();
    }

    /// <summary>The interval in accuracy points, or in R² for the teacher fit.</summary>
    static string Format(SetComparison c) => c.Protocol == PretrainEvaluation.FitR2Protocol ? c.Interval.Format(1, "F3") : c.Interval.Format(100);

    /// <summary>
    /// Every comparison with its per-seed differences, in points (R² for the teacher fit); with
    /// several distilled sets (<paramref name="blocks"/>), the differences of each set's block of
    /// seeds are grouped and separated by " / ", so a set that differs from the others shows.
    /// </summary>
    public static string PairedTable(IReadOnlyList<EvalResult> results, SeedBlocks? blocks = null)
    {
        var comparisons = Comparisons(results);
        if (comparisons.Count == 0) return "";
        bool grouped = blocks is { Sets: > 1 };
        var sb = new StringBuilder($"| candidate | against | arch | protocol | labels | difference [95% interval] | per seed{(grouped ? " (distilled set 1 / set 2 / …)" : "")} | verdict |\n|---|---|---|---|---:|---:|---|---|\n");
        foreach (var c in comparisons)
        {
            bool fit = c.Protocol == PretrainEvaluation.FitR2Protocol;
            string One(double d) => (d >= 0 ? "+" : "−") +
                (fit ? Math.Abs(d).ToString("F3", CultureInfo.InvariantCulture) : Math.Abs(d * 100).ToString("F2", CultureInfo.InvariantCulture));
            var diffs = c.Interval.Differences;
            string perSeed = grouped && c.Seeds is { } seeds && seeds.Count == diffs.Count
                ? string.Join(" / ", Enumerable.Range(0, diffs.Count).GroupBy(i => blocks!.SetOf(seeds[i])).Select(g => string.Join(", ", g.Select(i => One(diffs[i])))))
                : string.Join(", ", diffs.Select(One));
            sb.Append(CultureInfo.InvariantCulture,
                $"| {c.Candidate} | {c.Baseline} | {c.Arch} | {c.Protocol} | {(fit ? "test split" : PretrainEvaluation.Pct(c.Fraction))} | {Format(c)} | {perSeed} | {c.Interval.VerdictWord} |\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// The fraction of the room each row closes per probe fraction:
    /// (set − no pre-training) / (teacher − no pre-training), on the means over seeds, with the
    /// room itself in points. Empty without both a floor and a ceiling row.
    /// </summary>
    public static string RoomTable(IReadOnlyList<EvalResult> results)
    {
        var probe = results.Where(r => r.Protocol == PretrainEvaluation.LinearProbeProtocol).ToList();
        var ceiling = probe.Where(r => r.Role == EvalRole.Ceiling).ToList();
        if (ceiling.Count == 0 || !probe.Any(r => r.Role == EvalRole.Floor)) return "";
        var fractions = probe.Select(r => r.Fraction).Distinct().Order().ToList();
        double Mean(IEnumerable<EvalResult> rs, double f) => rs.Where(r => r.Fraction == f).Select(r => r.Accuracy).DefaultIfEmpty(double.NaN).Average();
        var sb = new StringBuilder("| architecture | pre-training set | ").AppendJoin(" | ", fractions.Select(f => PretrainEvaluation.Pct(f) + " labels")).Append(" |\n|---|---|")
            .AppendJoin("", fractions.Select(_ => "---:|")).Append('\n');
        foreach (var arch in probe.Where(r => r.Role == EvalRole.Floor).Select(r => r.Arch).Distinct())
        {
            var floor = probe.Where(r => r.Arch == arch && r.Role == EvalRole.Floor).ToList();
            sb.Append("| ").Append(arch).Append(" | room: teacher − no pre-training (points) | ").AppendJoin(" | ", fractions.Select(f =>
                ((Mean(ceiling, f) - Mean(floor, f)) * 100).ToString("F2", CultureInfo.InvariantCulture))).Append(" |\n");
            foreach (var set in probe.Where(r => r.Arch == arch && r.Role is not (EvalRole.Floor or EvalRole.Ceiling)).Select(r => r.Set).Distinct())
            {
                var rows = probe.Where(r => r.Arch == arch && r.Set == set).ToList();
                sb.Append("| ").Append(arch).Append(" | ").Append(set).Append(" | ").AppendJoin(" | ", fractions.Select(f =>
                {
                    double room = Mean(ceiling, f) - Mean(floor, f), gain = Mean(rows, f) - Mean(floor, f);
                    return double.IsFinite(gain) && Math.Abs(room) > 1e-12 ? (gain / room * 100).ToString("F0", CultureInfo.InvariantCulture) + "%" : "–";
                })).Append(" |\n");
            }
        }
        sb.Append("\nShare of the room (teacher's probe − the randomly initialized encoder's) a set closes, on the means over seeds; a room of a point or two cannot separate sets.\n");
        return sb.ToString();
    }
}
