namespace RawDistill.Methods.Mkdt;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Methods.Common;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>How MKDT's X starts.</summary>
public enum MkdtInit
{
    /// <summary>The m real images the epoch-1 experts fit worst (the reference).</summary>
    HighLoss,

    /// <summary>The same ranking taken per class, ⌊m/C⌋ each (the remainder to the worst-fit rest): no class left out.</summary>
    HighLossBalanced,

    /// <summary>m random real images (the ablation).</summary>
    Random,
}

/// <summary>
/// Stage 2 of MKDT (mkdt.md): score every real image by its regression loss under the
/// experts' epoch-1 snapshots, averaged over experts,
/// <code>s_i = (1/K) Σ_k (1/d) ‖f_{θ_{k,1}}(x_i) − y_i‖²</code>
/// and start X from the m highest-scoring images (their teacher targets start Y).
/// </summary>
public static class HighLossInit
{
    /// <summary>Names as flags spell them.</summary>
    public const string Names = "high-loss | high-loss-balanced | random";

    /// <summary>Flag name of a mode.</summary>
    public static string Name(this MkdtInit mode) => mode switch
    {
        MkdtInit.HighLoss => "high-loss",
        MkdtInit.HighLossBalanced => "high-loss-balanced",
        _ => "random",
    };

    /// <summary>Parses a flag value.</summary>
    public static MkdtInit Parse(string name) => name.ToLowerInvariant() switch
    {
        "high-loss" or "highloss" => MkdtInit.HighLoss,
        "high-loss-balanced" or "balanced" => MkdtInit.HighLossBalanced,
        "random" => MkdtInit.Random,
        _ => throw new ArgumentException($"init '{name}': expected {Names}"),
    };

    /// <summary>s_i for every sample of <paramref name="data"/>, from the snapshots after <paramref name="epoch"/> of <paramref name="experts"/>.</summary>
    public static double[] Scores(ExpertStore store, IReadOnlyList<int> experts, RegressionData data, int epoch = 1, IBackend? backend = null, int batch = 256)
    {
        if (experts.Count == 0) throw new ArgumentException("high-loss init: no finished experts");
        var be = backend ?? Tensor.DefaultBackend;
        var scores = new double[data.Count];
        using var net = ExpertTrainer.Student(store.Manifest, 0);
        if (be != Tensor.DefaultBackend) net.To(be);
        net.Eval();
        var idx = new int[Math.Min(batch, data.Count)];
        foreach (var k in experts)
        {
            using (var scope = TensorScope.Begin()) net.LoadFlatParameters(store.SnapshotTensor(k, epoch, be));
            using var _ = GradMode.NoGrad();
            for (int start = 0; start < data.Count; start += idx.Length)
            {
                int b = Math.Min(idx.Length, data.Count - start);
                for (int i = 0; i < b; i++) idx[i] = start + i;
                using var scope = TensorScope.Begin();
                var span = idx.AsSpan(0, b);
                var err = Ops.Mean(Ops.Square(Ops.Sub(net.Forward(data.Inputs(span, be)), data.Targets(span, be))), [1]);
                var e = err.ToArray<float>();
                for (int i = 0; i < b; i++) scores[start + i] += e[i] / experts.Count;
            }
        }
        return scores;
    }

    /// <summary>The m highest scores, highest first (ties: lower index first).</summary>
    public static int[] Top(IReadOnlyList<double> scores, int m)
    {
        if (m < 1 || m > scores.Count) throw new ArgumentException($"high-loss init: m = {m} of {scores.Count} images");
        return Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(m).ToArray();
    }

    /// <summary>
    /// The class-balanced variant: the ⌊m/C⌋ highest scores of each class, then the highest of
    /// the rest until m (a class with too few images gives what it has); ordered by score.
    /// </summary>
    public static int[] TopBalanced(IReadOnlyList<double> scores, ReadOnlySpan<int> labels, int classes, int m)
    {
        if (labels.Length != scores.Count) throw new ArgumentException($"high-loss init: {labels.Length} labels for {scores.Count} scores");
        if (m < 1 || m > scores.Count) throw new ArgumentException($"high-loss init: m = {m} of {scores.Count} images");
        var lab = labels.ToArray();
        var ranked = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
        int per = m / classes;
        var taken = new HashSet<int>();
        var count = new int[classes];
        foreach (var i in ranked)
            if (count[lab[i]] < per) { count[lab[i]]++; taken.Add(i); }
        foreach (var i in ranked)
        {
            if (taken.Count >= m) break;
            taken.Add(i);
        }
        return ranked.Where(taken.Contains).ToArray();
    }

    /// <summary>m distinct random indices of n (seeded), ascending.</summary>
    public static int[] RandomSubset(int n, int m, Generator rng)
    {
        var idx = rng.Permutation(n)[..m];
        Array.Sort(idx);
        return idx;
    }
}
