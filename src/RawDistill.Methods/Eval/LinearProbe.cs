namespace RawDistill.Methods.Eval;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>Settings of <see cref="LinearProbe"/>.</summary>
/// <param name="L2">λ of the penalty (λ/2)‖W‖² (the bias is not penalized).</param>
/// <param name="MaxIterations">L-BFGS iteration limit.</param>
/// <param name="GradientTolerance">Stop when ‖∇f‖∞ falls below this.</param>
/// <param name="History">L-BFGS memory (pairs of s, y).</param>
public sealed record LinearProbeOptions(double L2 = 1e-3, int MaxIterations = 500, double GradientTolerance = 1e-6, int History = 10)
{
    /// <summary>Standardize features with the training rows' mean and std (ours); false = raw features (MKDT's probe).</summary>
    public bool Standardize { get; init; } = true;

    /// <summary>Backtracking (Armijo) line search (ours); false = every L-BFGS step taken at length 1 (MKDT's probe, torch.optim.LBFGS without line_search_fn).</summary>
    public bool LineSearch { get; init; } = true;

    /// <summary>
    /// MKDT's reference probe: raw features, L-BFGS 20 iterations with history 100 and no line
    /// search, penalty 1e-3‖W‖² (λ/2 with λ = 2e-3).
    /// </summary>
    public static LinearProbeOptions Mkdt() => new(L2: 2e-3, MaxIterations: 20, GradientTolerance: 0, History: 100) { Standardize = false, LineSearch = false };
}

/// <summary>A fitted probe: standardization, weights, and how the fit ended.</summary>
/// <param name="Mean">Per-feature mean of the training features.</param>
/// <param name="Std">Per-feature standard deviation (1 where a feature is constant).</param>
/// <param name="Weights">W, row-major d × K.</param>
/// <param name="Bias">b, K.</param>
/// <param name="Classes">K.</param>
/// <param name="Iterations">L-BFGS iterations taken.</param>
/// <param name="Loss">Final objective.</param>
/// <param name="GradientNorm">Final ‖∇f‖∞.</param>
public sealed record LinearProbeModel(double[] Mean, double[] Std, double[] Weights, double[] Bias, int Classes, int Iterations, double Loss, double GradientNorm)
{
    /// <summary>Feature dimension d.</summary>
    public int Dim => Mean.Length;

    /// <summary>argmax of the logits for each row of <paramref name="features"/> (N × d, raw, standardized here).</summary>
    public unsafe int[] Predict(ReadOnlySpan<float> features)
    {
        int d = Dim, k = Classes, n = features.Length / d;
        var pred = new int[n];
        var w = Weights;
        var b = Bias;
        var mean = Mean;
        var std = Std;
        // Rows are standardized one at a time into a per-thread buffer: the whole test split
        // standardized in f64 (10 000 × 2048 × 8 bytes) was the evaluation's largest allocation.
        fixed (float* features0 = features)
        {
            nint x = (nint)features0; // a fixed local cannot be captured by the lambda
            Parallel.For(0, n, () => new double[d], (i, _, row) =>
            {
                var raw = new ReadOnlySpan<float>((float*)x + (long)i * d, d);
                for (int j = 0; j < d; j++) row[j] = (raw[j] - mean[j]) / std[j];
                int best = 0;
                double bestV = double.NegativeInfinity;
                for (int c = 0; c < k; c++)
                {
                    double v = b[c];
                    for (int j = 0; j < d; j++) v += row[j] * w[j * k + c];
                    if (v > bestV) { bestV = v; best = c; }
                }
                pred[i] = best;
                return row;
            }, _ => { });
        }
        return pred;
    }

    /// <summary>Fraction of rows whose prediction equals the label.</summary>
    public double Accuracy(ReadOnlySpan<float> features, ReadOnlySpan<int> labels)
    {
        var p = Predict(features);
        if (p.Length != labels.Length) throw new ArgumentException($"{p.Length} feature rows for {labels.Length} labels");
        int ok = 0;
        for (int i = 0; i < p.Length; i++) if (p[i] == labels[i]) ok++;
        return p.Length == 0 ? 0 : (double)ok / p.Length;
    }
}

/// <summary>
/// The linear probe of the evaluation protocol (design page evaluation.md): multinomial
/// logistic regression on frozen features, fitted full-batch by L-BFGS. Features are
/// standardized with the training rows' per-feature mean and standard deviation; the
/// objective is
/// <code>f(W, b) = (1/N) Σ_n −log softmax(x̃_n W + b)[y_n] + (λ/2)‖W‖²_F,   λ = 1e-3 by default,</code>
/// with gradient ∇_W = X̃ᵀ(P − Y)/N + λW, ∇_b = 1ᵀ(P − Y)/N (P the softmax, Y one-hot).
/// The matrix products run on the engine in f64. L-BFGS: two-loop recursion with memory
/// <see cref="LinearProbeOptions.History"/>, backtracking (Armijo) line search, pairs with
/// sᵀy ≤ 0 skipped. Every later evaluation (pre-trained encoders at each label fraction) uses
/// this one implementation.
/// </summary>
public static class LinearProbe
{
    /// <summary>Fits the probe on N × d features with labels in [0, classes).</summary>
    public static LinearProbeModel Fit(ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int classes, LinearProbeOptions? options = null, IBackend? backend = null)
    {
        var o = options ?? new LinearProbeOptions();
        int n = labels.Length;
        if (n == 0) throw new ArgumentException("linear probe: no training rows");
        if (features.Length % n != 0) throw new ArgumentException($"linear probe: {features.Length} feature values are not {n} rows");
        if (classes < 2) throw new ArgumentException("linear probe: needs at least 2 classes");
        int d = features.Length / n;
        foreach (int l in labels) if ((uint)l >= (uint)classes) throw new ArgumentException($"linear probe: label {l} outside [0, {classes})");

        var (mean, std) = o.Standardize ? Moments(features, n, d) : (new double[d], Enumerable.Repeat(1.0, d).ToArray());
        var onehot = new double[n * classes];
        for (int i = 0; i < n; i++) onehot[i * classes + labels[i]] = 1;

        using var scope = TensorScope.Begin();
        using var noGrad = GradMode.NoGrad();
        // x̃ = (x − mean)/std in f64, made on the engine in backend memory that the next probe
        // reuses (an N × d managed f64 copy per probe was the largest garbage of an evaluation);
        // the inner scope frees the f32 upload and the intermediates before L-BFGS runs.
        Tensor xs;
        using (TensorScope.Begin())
        {
            var x64 = Ops.Cast(Tensor.From<float>(features, [n, d], backend), DType.F64);
            xs = Ops.Div(Ops.Sub(x64, Tensor.From<double>(mean, [d], backend)), Tensor.From<double>(std, [d], backend)).Keep();
        }
        var objective = new Objective(xs, Tensor.From<double>(onehot, [n, classes], backend), d, classes, o.L2);
        var theta = new double[d * classes + classes];
        var (iterations, loss, gnorm) = Lbfgs(objective.Evaluate, theta, o);
        return new LinearProbeModel(mean, std, theta[..(d * classes)], theta[(d * classes)..], classes, iterations, loss, gnorm);
    }

    /// <summary>Fit on (train features, labels), accuracy on (test features, labels).</summary>
    public static (double Accuracy, LinearProbeModel Model) FitAndScore(ReadOnlySpan<float> trainFeatures, ReadOnlySpan<int> trainLabels,
        ReadOnlySpan<float> testFeatures, ReadOnlySpan<int> testLabels, int classes, LinearProbeOptions? options = null, IBackend? backend = null)
    {
        var model = Fit(trainFeatures, trainLabels, classes, options, backend);
        return (model.Accuracy(testFeatures, testLabels), model);
    }

    /// <summary>f and ∇f of the probe objective at θ = [W (d × K, row-major), b (K)], for checks and tests.</summary>
    public static (double Loss, double[] Gradient) EvaluateObjective(ReadOnlySpan<float> standardizedFeatures, ReadOnlySpan<int> labels, int classes, double l2, double[] theta)
    {
        int n = labels.Length, d = standardizedFeatures.Length / n;
        var x = new double[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = standardizedFeatures[i];
        var onehot = new double[n * classes];
        for (int i = 0; i < n; i++) onehot[i * classes + labels[i]] = 1;
        using var scope = TensorScope.Begin();
        using var noGrad = GradMode.NoGrad();
        var obj = new Objective(Tensor.From<double>(x, [n, d]), Tensor.From<double>(onehot, [n, classes]), d, classes, l2);
        var g = new double[theta.Length];
        double f = obj.Evaluate(theta, g);
        return (f, g);
    }

    internal static (double[] Mean, double[] Std) Moments(ReadOnlySpan<float> x, int n, int d)
    {
        var mean = new double[d];
        var m2 = new double[d];
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * d, d);
            for (int j = 0; j < d; j++) mean[j] += row[j];
        }
        for (int j = 0; j < d; j++) mean[j] /= n;
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * d, d);
            for (int j = 0; j < d; j++)
            {
                double c = row[j] - mean[j];
                m2[j] += c * c;
            }
        }
        var std = new double[d];
        for (int j = 0; j < d; j++)
        {
            double s = Math.Sqrt(m2[j] / n);
            std[j] = s > 1e-8 ? s : 1; // a constant feature stays 0 after centering
        }
        return (mean, std);
    }

    sealed class Objective(Tensor x, Tensor y, int d, int k, double l2)
    {
        // f(θ) and ∇f(θ) written into grad.
        public double Evaluate(double[] theta, double[] grad)
        {
            using var scope = TensorScope.Begin();
            var w = Tensor.From<double>(theta.AsSpan(0, d * k), [d, k], x.Backend);
            var b = Tensor.From<double>(theta.AsSpan(d * k, k), [k], x.Backend);
            int n = x.Shape[0];
            var logp = Ops.LogSoftmax(Ops.Add(Ops.MatMul(x, w), b));
            double ce = -Ops.Sum(Ops.Mul(logp, y)).Item() / n;
            var r = Ops.Mul(Ops.Sub(Ops.Exp(logp), y), 1.0 / n);
            var gw = Ops.Add(Ops.MatMul(x, r, transA: true), Ops.Mul(w, l2));
            var gb = Ops.Sum(r, [0]);
            gw.CopyTo(grad.AsSpan(0, d * k));
            gb.CopyTo(grad.AsSpan(d * k, k));
            double wn = 0;
            for (int i = 0; i < d * k; i++) wn += theta[i] * theta[i];
            return ce + 0.5 * l2 * wn;
        }
    }

    /// <summary>Minimizes f in place from θ; returns iterations, final f and ‖∇f‖∞.</summary>
    internal static (int Iterations, double Loss, double GradientNorm) Lbfgs(Func<double[], double[], double> f, double[] theta, LinearProbeOptions o)
    {
        int p = theta.Length, m = Math.Max(1, o.History);
        var g = new double[p];
        double fx = f(theta, g);
        var s = new List<double[]>();
        var yv = new List<double[]>();
        var rho = new List<double>();
        var dir = new double[p];
        var xNew = new double[p];
        var gNew = new double[p];
        var alpha = new double[m];
        double[]? spareS = null, spareY = null;
        int it = 0;
        for (; it < o.MaxIterations; it++)
        {
            if (MaxAbs(g) <= o.GradientTolerance) break;
            // Two-loop recursion: dir = −H·g.
            Array.Copy(g, dir, p);
            for (int i = s.Count - 1; i >= 0; i--)
            {
                alpha[i] = rho[i] * Dot(s[i], dir);
                Axpy(-alpha[i], yv[i], dir);
            }
            double gamma = s.Count > 0 ? Dot(s[^1], yv[^1]) / Dot(yv[^1], yv[^1]) : 1.0 / Math.Max(1.0, Math.Sqrt(Dot(g, g)));
            for (int i = 0; i < p; i++) dir[i] *= gamma;
            for (int i = 0; i < s.Count; i++)
            {
                double beta = rho[i] * Dot(yv[i], dir);
                Axpy(alpha[i] - beta, s[i], dir);
            }
            for (int i = 0; i < p; i++) dir[i] = -dir[i];
            double slope = Dot(g, dir);
            if (slope >= 0)
            {
                // Not a descent direction (should not happen with sᵀy > 0): restart from steepest descent.
                s.Clear(); yv.Clear(); rho.Clear();
                for (int i = 0; i < p; i++) dir[i] = -g[i];
                slope = Dot(g, dir);
            }
            double step = 1, fNew = double.NaN;
            bool accepted = false;
            for (int ls = 0; ls < (o.LineSearch ? 40 : 1); ls++)
            {
                if (!o.LineSearch)
                {
                    for (int i = 0; i < p; i++) xNew[i] = theta[i] + dir[i];
                    fNew = f(xNew, gNew);
                    accepted = double.IsFinite(fNew);
                    break;
                }
                for (int i = 0; i < p; i++) xNew[i] = theta[i] + step * dir[i];
                fNew = f(xNew, gNew);
                if (double.IsFinite(fNew) && fNew <= fx + 1e-4 * step * slope) { accepted = true; break; }
                step *= 0.5;
            }
            if (!accepted) break;
            // The new pair is written into a spare pair of arrays, and the pair a full memory
            // evicts becomes the next spare: a fresh pair per iteration was two large-object-heap
            // arrays (p = d·K + K doubles) left for a full collection to sweep.
            var sk = spareS ??= new double[p];
            var yk = spareY ??= new double[p];
            for (int i = 0; i < p; i++) { sk[i] = xNew[i] - theta[i]; yk[i] = gNew[i] - g[i]; }
            double sy = Dot(sk, yk);
            if (sy > 1e-12 * Math.Sqrt(Dot(sk, sk) * Dot(yk, yk)))
            {
                spareS = spareY = null;
                if (s.Count == m) { spareS = s[0]; spareY = yv[0]; s.RemoveAt(0); yv.RemoveAt(0); rho.RemoveAt(0); }
                s.Add(sk); yv.Add(yk); rho.Add(1 / sy);
            }
            Array.Copy(xNew, theta, p);
            Array.Copy(gNew, g, p);
            double previous = fx;
            fx = fNew;
            if (Math.Abs(previous - fx) <= 1e-15 * Math.Max(1, Math.Abs(fx))) { it++; break; }
        }
        return (it, fx, MaxAbs(g));
    }

    static double Dot(double[] a, double[] b) => System.Numerics.Tensors.TensorPrimitives.Dot<double>(a, b);

    static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < y.Length; i++) y[i] += a * x[i];
    }

    static double MaxAbs(double[] v) => v.Length == 0 ? 0 : System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<double>(v) is var m ? Math.Abs(m) : 0;
}
