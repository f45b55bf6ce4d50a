namespace RawDistill.Methods.Eval;

using System.Globalization;

/// <summary>
/// How the evaluation seeds of K distilled sets of one method and config (distillation seeds
/// 0..K−1) are laid out so that the paired intervals stay honest: set i is evaluated on its own
/// block of S evaluation seeds i·S … i·S+S−1, and every baseline runs on all K·S seeds. A cell
/// of set i at seed s pairs with the baselines of the same seed s (same label subset, same
/// encoder initialization, same random draw), so each of the K·S differences is one paired
/// observation with its own baseline draw — no baseline cell is reused against two sets, which
/// would correlate the differences and shrink the interval. The interval is a t-interval over
/// all K·S differences; the spread between distilled sets enters it through those differences.
/// With one set this is the plain S-seed evaluation (seeds 0..S−1).
/// </summary>
/// <param name="Sets">K, the distilled sets (distillation seeds).</param>
/// <param name="PerSet">S, evaluation seeds per set.</param>
public sealed record SeedBlocks(int Sets, int PerSet)
{
    /// <summary>K·S, the paired observations of a comparison.</summary>
    public int Count => Sets * PerSet;

    /// <summary>Every evaluation seed, 0..K·S−1, block by block.</summary>
    public IReadOnlyList<ulong> Seeds => Enumerable.Range(0, Count).Select(s => (ulong)s).ToList();

    /// <summary>The distilled set (0..K−1) evaluated at <paramref name="seed"/>.</summary>
    public int SetOf(ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(PerSet);
        int i = (int)(seed / (ulong)PerSet);
        if (i >= Sets) throw new ArgumentOutOfRangeException(nameof(seed), $"seed {seed} is beyond the {Sets} blocks of {PerSet} evaluation seeds");
        return i;
    }

    /// <summary>"n = 2 distillation seeds × 3 evaluation seeds = 6" (or "n = 3 evaluation seeds" for one set).</summary>
    public string SampleSize => Sets == 1
        ? string.Create(CultureInfo.InvariantCulture, $"n = {PerSet} evaluation seeds")
        : string.Create(CultureInfo.InvariantCulture, $"n = {Sets} distillation seeds × {PerSet} evaluation seeds = {Count}");

    /// <summary>The pairing, in a sentence for the report.</summary>
    public string Describe() => Sets == 1
        ? $"{SampleSize} that share the label subset and the encoder initialization"
        : $"{SampleSize}: distilled set i is evaluated on its own evaluation seeds i·{PerSet} … i·{PerSet}+{PerSet - 1} and each of its cells pairs with the baselines of the same seed (same label subset, encoder initialization and random draw), so no baseline cell is used twice; the interval is a t-interval over all {Count} differences";
}
