namespace RawDistill.Tests.Methods;

using RawDistill.Methods.Eval;
using RawDistill.Random;

/// <summary>The L-BFGS logistic-regression probe against an independent, loop-by-loop objective.</summary>
public sealed class LinearProbeTests
{
    /// <summary>k Gaussian blobs in d dimensions, centers at ±spread on axis (c mod d), n per class.</summary>
    static (float[] X, int[] Y) Blobs(int n, int d, int k, double spread, ulong seed)
    {
        var noise = new double[n * k * d];
        new Generator(seed).FillNormal(noise);
        var x = new float[n * k * d];
        var y = new int[n * k];
        for (int i = 0; i < n * k; i++)
        {
            int c = i % k;
            y[i] = c;
            for (int j = 0; j < d; j++) x[i * d + j] = (float)(noise[i * d + j] + (j == c % d ? (c < d ? spread : -spread) : 0) + 3.0 * j);
        }
        return (x, y);
    }

    /// <summary>f = mean CE + (λ/2)‖W‖² and its gradient, by plain loops (independent of the engine).</summary>
    static (double F, double[] G) Reference(double[] xs, int[] y, int d, int k, double l2, double[] theta)
    {
        int n = y.Length;
        var g = new double[theta.Length];
        double f = 0;
        var z = new double[k];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < k; c++)
            {
                z[c] = theta[d * k + c];
                for (int j = 0; j < d; j++) z[c] += xs[i * d + j] * theta[j * k + c];
            }
            double mx = z.Max(), s = z.Sum(v => Math.Exp(v - mx));
            double lse = mx + Math.Log(s);
            f += (lse - z[y[i]]) / n;
            for (int c = 0; c < k; c++)
            {
                double r = (Math.Exp(z[c] - lse) - (c == y[i] ? 1 : 0)) / n;
                g[d * k + c] += r;
                for (int j = 0; j < d; j++) g[j * k + c] += r * xs[i * d + j];
            }
        }
        for (int i = 0; i < d * k; i++)
        {
            f += 0.5 * l2 * theta[i] * theta[i];
            g[i] += l2 * theta[i];
        }
        return (f, g);
    }

    static double[] StandardizeByHand(float[] x, int n, int d)
    {
        var r = new double[n * d];
        for (int j = 0; j < d; j++)
        {
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += x[i * d + j];
            m /= n;
            for (int i = 0; i < n; i++) v += (x[i * d + j] - m) * (x[i * d + j] - m);
            double s = Math.Sqrt(v / n);
            for (int i = 0; i < n; i++) r[i * d + j] = (x[i * d + j] - m) / s;
        }
        return r;
    }

    [Fact]
    public void SeparableBlobsAreFittedPerfectly()
    {
        var (x, y) = Blobs(40, 6, 4, 8.0, 1);
        var model = LinearProbe.Fit(x, y, 4);
        Assert.Equal(1.0, model.Accuracy(x, y));
        var (xt, yt) = Blobs(25, 6, 4, 8.0, 2);
        Assert.True(model.Accuracy(xt, yt) > 0.98, $"held-out accuracy {model.Accuracy(xt, yt)}");
    }

    [Fact]
    public void TheObjectiveAndGradientMatchAPlainLoopComputation()
    {
        var (x, y) = Blobs(15, 5, 3, 1.0, 3);
        int n = y.Length, d = 5, k = 3;
        var xs = StandardizeByHand(x, n, d);
        var theta = new double[d * k + k];
        var u = new double[theta.Length];
        new Generator(4).FillNormal(u);
        for (int i = 0; i < theta.Length; i++) theta[i] = 0.5 * u[i];
        var (f, g) = LinearProbe.EvaluateObjective(xs.Select(v => (float)v).ToArray(), y, k, 1e-2, theta);
        var (fr, gr) = Reference(xs.Select(v => (double)(float)v).ToArray(), y, d, k, 1e-2, theta);
        Assert.Equal(fr, f, 10);
        for (int i = 0; i < g.Length; i++) Assert.Equal(gr[i], g[i], 10);
    }

    [Fact]
    public void AtTheFittedOptimumTheGradientVanishes()
    {
        // Overlapping blobs: a well-defined optimum that is not at infinity even without much L2.
        var (x, y) = Blobs(30, 5, 3, 1.0, 5);
        int n = y.Length, d = 5, k = 3;
        var model = LinearProbe.Fit(x, y, k, new LinearProbeOptions(L2: 1e-3, GradientTolerance: 1e-9, MaxIterations: 2000));
        Assert.True(model.GradientNorm <= 1e-8, $"probe stopped at ‖∇f‖∞ = {model.GradientNorm:E2} after {model.Iterations} iterations");
        // The independent computation agrees that this is a stationary point of the same objective.
        var xs = StandardizeByHand(x, n, d);
        var theta = model.Weights.Concat(model.Bias).ToArray();
        var (f, g) = Reference(xs, y, d, k, 1e-3, theta);
        Assert.True(g.Max(Math.Abs) < 1e-6, $"reference gradient at the optimum {g.Max(Math.Abs):E2}");
        Assert.Equal(f, model.Loss, 6);
        // Not trivially zero: better than chance, worse than perfect on overlapping blobs.
        double acc = model.Accuracy(x, y);
        Assert.InRange(acc, 0.5, 0.999);
    }

    [Fact]
    public void BadInputsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(new float[6], [0, 1, 2], 2));
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(new float[7], [0, 1, 1], 2));
    }
}
