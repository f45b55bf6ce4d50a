namespace RawDistill.Tests.Methods;

using RawDistill.Methods.Eval;
using RawDistill.Random;

/// <summary>The k-means baseline's subset selection.</summary>
public sealed class KMeansSubsetTests
{
    /// <summary>k blobs of <paramref name="per"/> points in d dimensions, centres 100 apart, spread ±1; blob of row i is i / per.</summary>
    static float[] Blobs(int k, int per, int d, ulong seed)
    {
        var noise = new float[k * per * d];
        new Generator(seed).FillUniform(noise);
        var x = new float[noise.Length];
        for (int i = 0; i < k * per; i++)
            for (int t = 0; t < d; t++)
                x[i * d + t] = (t == (i / per) % d ? 100f * (1 + i / per / d) : 0f) + 2 * noise[i * d + t] - 1;
        return x;
    }

    [Fact]
    public void PicksOneImageFromEveryWellSeparatedCluster()
    {
        const int k = 6, per = 15, d = 8;
        var x = Blobs(k, per, d, 1);
        foreach (ulong seed in new ulong[] { 0, 1, 2 })
        {
            var idx = KMeansSubset.Select(x, k * per, d, k, seed);
            Assert.Equal(k, idx.Length);
            Assert.Equal(Enumerable.Range(0, k), idx.Select(i => i / per).Order());
        }
    }

    [Fact]
    public void PicksTheMemberNearestToTheCentroid()
    {
        // One cluster: the chosen row is the one nearest the mean of all rows.
        const int n = 30, d = 5;
        var x = Blobs(1, n, d, 7);
        var mean = new double[d];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < d; t++) mean[t] += x[i * d + t] / (double)n;
        int expected = Enumerable.Range(0, n).MinBy(i => Enumerable.Range(0, d).Sum(t => Math.Pow(x[i * d + t] - mean[t], 2)));
        Assert.Equal([expected], KMeansSubset.Select(x, n, d, 1, seed: 3));
    }

    [Fact]
    public void IsDeterministicAndDistinctWhenKIsLarge()
    {
        const int n = 40, d = 3;
        var x = new float[n * d];
        new Generator(5).FillNormal(x);
        var a = KMeansSubset.Select(x, n, d, 25, seed: 9);
        Assert.Equal(a, KMeansSubset.Select(x, n, d, 25, seed: 9));
        Assert.Equal(25, a.Distinct().Count());
        // k = n keeps every row exactly once, even with duplicate rows present.
        var dup = x.Concat(x.AsSpan(0, 2 * d).ToArray()).ToArray();
        Assert.Equal(Enumerable.Range(0, n + 2), KMeansSubset.Select(dup, n + 2, d, n + 2, seed: 1).Order());
    }

    [Fact]
    public void RejectsBadArguments()
    {
        var x = new float[12];
        Assert.Throws<ArgumentException>(() => KMeansSubset.Select(x, 5, 3, 2, 0));
        Assert.Throws<ArgumentException>(() => KMeansSubset.Select(x, 4, 3, 5, 0));
        Assert.Throws<ArgumentException>(() => KMeansSubset.Select(x, 4, 3, 0, 0));
    }
}
