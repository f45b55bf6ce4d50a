namespace RawDistill.Methods.Eval;

using RawDistill.Backends;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// The k-means baseline of evaluation.md: cluster the real images' teacher features into k
/// groups (k-means++ seeding, Lloyd iterations) and keep, for each centroid, the nearest real
/// image not already kept. The squared distances ‖f_i − c_j‖² = ‖f_i‖² − 2 f_i·c_j + ‖c_j‖² are
/// one GEMM per iteration on the backend (n × d times d × k), the rest runs on the host.
/// </summary>
public static class KMeansSubset
{
    /// <summary>
    /// k distinct indices into the n rows of <paramref name="features"/> (row-major n × d):
    /// the nearest row to each of the k centroids after at most <paramref name="iterations"/>
    /// Lloyd iterations (fewer when no assignment changes). Deterministic for a seed.
    /// </summary>
    public static int[] Select(float[] features, int n, int d, int k, ulong seed, int iterations = 50, IBackend? backend = null)
    {
        if (n <= 0 || d <= 0 || (long)n * d != features.Length) throw new ArgumentException($"k-means: {features.Length} values are not {n} rows of {d}");
        if (k < 1 || k > n) throw new ArgumentException($"k-means: k = {k} must lie in 1..{n}");
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        var be = backend ?? Tensor.DefaultBackend;
        var rowNorms = new double[n];
        for (int i = 0; i < n; i++) rowNorms[i] = SquaredNorm(features.AsSpan(i * d, d));

        var centroids = PlusPlusSeeds(features, rowNorms, n, d, k, new Generator(seed));
        var assign = new int[n];
        Array.Fill(assign, -1);
        using var f = Tensor.From<float>(features, [n, d], be);
        for (int it = 0; it < iterations; it++)
        {
            var dist = Distances(f, rowNorms, centroids, n, d, k, be);
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                int best = ArgMin(dist.AsSpan(i * k, k));
                if (best != assign[i]) { assign[i] = best; changed = true; }
            }
            if (!changed) break;
            Recenter(features, assign, dist, n, d, k, centroids);
        }
        return NearestDistinct(Distances(f, rowNorms, centroids, n, d, k, be), n, k);
    }

    /// <summary>k-means++: the first centroid uniformly, each next one with probability ∝ squared distance to the nearest chosen one.</summary>
    static float[] PlusPlusSeeds(float[] x, double[] rowNorms, int n, int d, int k, Generator rng)
    {
        var c = new float[k * d];
        var nearest = new double[n];
        Array.Fill(nearest, double.PositiveInfinity);
        var u = new double[k];
        rng.FillUniform(u);
        int pick = Math.Min(n - 1, (int)(u[0] * n));
        for (int j = 0; j < k; j++)
        {
            x.AsSpan(pick * d, d).CopyTo(c.AsSpan(j * d, d));
            if (j == k - 1) break;
            var cj = c.AsSpan(j * d, d);
            double cn = SquaredNorm(cj), total = 0;
            for (int i = 0; i < n; i++)
            {
                double dd = Math.Max(0, rowNorms[i] - 2 * Dot(x.AsSpan(i * d, d), cj) + cn);
                if (dd < nearest[i]) nearest[i] = dd;
                total += nearest[i];
            }
            // Sample index i with probability nearest[i] / total; all-zero distances (duplicates) fall back to uniform.
            double target = u[j + 1] * total, acc = 0;
            pick = total > 0 ? n - 1 : Math.Min(n - 1, (int)(u[j + 1] * n));
            if (total > 0)
                for (int i = 0; i < n; i++)
                {
                    acc += nearest[i];
                    if (acc > target) { pick = i; break; }
                }
        }
        return c;
    }

    /// <summary>n × k squared distances (host array, row-major).</summary>
    static float[] Distances(Tensor f, double[] rowNorms, float[] centroids, int n, int d, int k, IBackend be)
    {
        float[] dot;
        using (var scope = TensorScope.Begin())
        {
            var c = Tensor.From<float>(centroids, [k, d], be);
            dot = Ops.MatMul(f, c, transB: true).ToArray<float>();
        }
        var cn = new double[k];
        for (int j = 0; j < k; j++) cn[j] = SquaredNorm(centroids.AsSpan(j * d, d));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++)
                dot[i * k + j] = (float)Math.Max(0, rowNorms[i] - 2.0 * dot[i * k + j] + cn[j]);
        return dot;
    }

    /// <summary>Each centroid ← mean of its members; an empty cluster takes the point farthest from its own centroid.</summary>
    static void Recenter(float[] x, int[] assign, float[] dist, int n, int d, int k, float[] centroids)
    {
        var sum = new double[k * d];
        var count = new int[k];
        for (int i = 0; i < n; i++)
        {
            int j = assign[i];
            count[j]++;
            var row = x.AsSpan(i * d, d);
            var s = sum.AsSpan(j * d, d);
            for (int t = 0; t < d; t++) s[t] += row[t];
        }
        for (int j = 0; j < k; j++)
        {
            if (count[j] > 0)
            {
                for (int t = 0; t < d; t++) centroids[j * d + t] = (float)(sum[j * d + t] / count[j]);
                continue;
            }
            int far = 0;
            for (int i = 1; i < n; i++)
                if (dist[i * k + assign[i]] > dist[far * k + assign[far]]) far = i;
            x.AsSpan(far * d, d).CopyTo(centroids.AsSpan(j * d, d));
            dist[far * k + assign[far]] = 0;
        }
    }

    /// <summary>For centroids in order, the nearest row not taken by an earlier centroid.</summary>
    static int[] NearestDistinct(float[] dist, int n, int k)
    {
        var taken = new bool[n];
        var result = new int[k];
        for (int j = 0; j < k; j++)
        {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!taken[i] && (best < 0 || dist[i * k + j] < dist[best * k + j])) best = i;
            taken[best] = true;
            result[j] = best;
        }
        return result;
    }

    static int ArgMin(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int j = 1; j < v.Length; j++)
            if (v[j] < v[best]) best = j;
        return best;
    }

    static double SquaredNorm(ReadOnlySpan<float> v) => Dot(v, v);

    static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int t = 0; t < a.Length; t++) s += (double)a[t] * b[t];
        return s;
    }
}
