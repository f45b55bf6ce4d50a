namespace RawDistill.Data;

using RawDistill.Random;

/// <summary>
/// Seeded index subsets of a dataset: class-agnostic ones (label fractions of the linear
/// probe, random-subset baselines) and class-balanced ones. Indices come back sorted
/// ascending, so the subset keeps the dataset's order and reads memory forwards. The same
/// (seed, arguments) always give the same indices, on every machine.
/// </summary>
public static class Subsample
{
    /// <summary>
    /// <paramref name="count"/> distinct indices of [0, n), uniformly at random: the first
    /// <paramref name="count"/> entries of <see cref="Generator.Permutation"/>(n) under
    /// <c>new Generator(seed)</c>, sorted.
    /// </summary>
    public static int[] Random(int n, int count, ulong seed)
    {
        if (count < 0 || count > n) throw new ArgumentOutOfRangeException(nameof(count), $"cannot pick {count} of {n} items");
        var idx = new Generator(seed).Permutation(n)[..count];
        Array.Sort(idx);
        return idx;
    }

    /// <summary>A class-agnostic random fraction of [0, n): round(fraction · n) indices, at least 1.</summary>
    public static int[] Fraction(int n, double fraction, ulong seed)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"fraction {fraction} is not in (0, 1]");
        return Random(n, Math.Clamp((int)Math.Round(fraction * n), 1, n), seed);
    }

    /// <summary>
    /// <paramref name="count"/> indices spread as evenly as possible over the classes:
    /// ⌊count / K⌋ per class, and one more for <c>count mod K</c> classes chosen at random.
    /// Class k's images are shuffled by the generator <c>new Generator(seed).Fork(k)</c>, so
    /// a class's picks do not depend on how many images the other classes have; the classes
    /// that get the extra image come from <c>Fork(K)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Unlabeled dataset, or a class has too few images.</exception>
    public static int[] ClassBalanced(ReadOnlySpan<int> labels, int classCount, int count, ulong seed)
    {
        if (classCount <= 0) throw new ArgumentException("class-balanced sampling needs labels and a positive class count");
        if (count < 0 || count > labels.Length) throw new ArgumentOutOfRangeException(nameof(count), $"cannot pick {count} of {labels.Length} images");
        var members = new List<int>[classCount];
        for (int k = 0; k < classCount; k++) members[k] = [];
        for (int i = 0; i < labels.Length; i++) members[labels[i]].Add(i);

        var root = new Generator(seed);
        var quota = new int[classCount];
        Array.Fill(quota, count / classCount);
        foreach (int k in root.Fork((ulong)classCount).Permutation(classCount)[..(count % classCount)]) quota[k]++;

        var picked = new List<int>(count);
        for (int k = 0; k < classCount; k++)
        {
            if (members[k].Count < quota[k])
                throw new ArgumentException($"class {k} has {members[k].Count} images, fewer than the {quota[k]} a balanced subset of {count} needs");
            var perm = root.Fork((ulong)k).Permutation(members[k].Count);
            for (int j = 0; j < quota[k]; j++) picked.Add(members[k][perm[j]]);
        }
        var r = picked.ToArray();
        Array.Sort(r);
        return r;
    }

    /// <summary><paramref name="perClass"/> images of every class (<see cref="ClassBalanced"/> with count = perClass · K).</summary>
    public static int[] PerClass(ImageDataset dataset, int perClass, ulong seed) =>
        ClassBalanced(dataset.Labels, dataset.ClassCount, checked(perClass * dataset.ClassCount), seed);
}
