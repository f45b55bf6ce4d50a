namespace RawDistill.Diagnostics;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// The backend parity suite behind <c>rawdistill selftest</c> and the xunit backend
/// tests: every op's forward and backward, a ConvNet training step, the Cholesky solve,
/// fused optimizer steps and Philox streams, compared between a reference backend (the
/// CPU in float64) and a target backend in its own dtype. Inputs are drawn once on the
/// host from Philox and copied to both, so any difference comes from the backends.
/// </summary>
public static class ParitySuite
{
    /// <summary>
    /// Largest accepted error relative to the reference tensor's largest magnitude:
    /// f32 results differ from f64 ones by rounding that grows with reduction length.
    /// </summary>
    public static double Tolerance(DType dtype) => dtype == DType.F64 ? 1e-9 : 2e-4;

    /// <summary>Every check, in a stable order.</summary>
    public static IReadOnlyList<ParityCase> Cases { get; } = BuildCases();

    static IReadOnlyList<ParityCase> BuildCases()
    {
        int[] v = [3, 5, 7];
        return
        [
            new("add (broadcast)", [v, [5, 1]], x => Ops.Add(x[0], x[1])),
            new("sub", [v, v], x => Ops.Sub(x[0], x[1])),
            new("mul (broadcast)", [[2, 3, 4, 4], [1, 3, 1, 1]], x => Ops.Mul(x[0], x[1])),
            new("div", [v, v], x => Ops.Div(x[0], x[1]), ParityInputs.Positive),
            new("maximum/minimum", [v, v], x => Ops.Add(Ops.Maximum(x[0], x[1]), Ops.Minimum(x[0], x[1]))),
            new("exp", [v], x => Ops.Exp(x[0])),
            new("log", [v], x => Ops.Log(x[0]), ParityInputs.Positive),
            new("sqrt", [v], x => Ops.Sqrt(x[0]), ParityInputs.Positive),
            new("rsqrt", [v], x => Ops.Rsqrt(x[0]), ParityInputs.Positive),
            new("pow 3", [v], x => Ops.Pow(x[0], 3)),
            new("abs", [v], x => Ops.Abs(x[0])),
            new("relu", [v], x => Ops.Relu(x[0])),
            new("sigmoid", [v], x => Ops.Sigmoid(x[0])),
            new("tanh", [v], x => Ops.Tanh(x[0])),
            new("clamp", [v], x => Ops.Clamp(x[0], -0.5, 0.7)),
            new("where (broadcast)", [v, [5, 1]], x => Ops.Where(Ops.Greater(x[0], x[1]), x[0], x[1])),
            new("reciprocal", [v], x => Ops.Reciprocal(x[0]), ParityInputs.Positive),
            new("sum (axes 0, 2)", [v], x => Ops.Sum(x[0], [0, 2])),
            new("mean (all)", [v], x => Ops.Mean(x[0])),
            new("max (axis 1)", [v], x => Ops.Max(x[0], [1])),
            new("var (axes 0, 2, 3)", [[4, 3, 5, 5]], x => Ops.Var(x[0], [0, 2, 3])),
            new("permute", [[2, 3, 4, 5]], x => Ops.Permute(x[0], 2, 0, 3, 1)),
            new("transpose", [[17, 33]], x => Ops.Transpose(x[0])),
            new("slice + concat", [v, v], x => Ops.Concat([Ops.Slice(x[0], 1, 1, 3), x[1]], 1)),
            new("matmul", [[17, 23], [23, 19]], x => Ops.MatMul(x[0], x[1])),
            new("matmul Aᵀ·Bᵀ", [[23, 17], [19, 23]], x => Ops.MatMul(x[0], x[1], true, true)),
            new("matmul batched", [[3, 9, 11], [3, 11, 5]], x => Ops.MatMul(x[0], x[1])),
            new("linear", [[8, 12], [6, 12], [6]], x => Ops.Linear(x[0], x[1], x[2])),
            new("conv2d 3×3 pad 1 + bias", [[2, 3, 9, 9], [8, 3, 3, 3], [8]], x => Ops.Conv2d(x[0], x[1], x[2], 1, 1)),
            new("conv2d stride 2 groups 2", [[2, 4, 9, 8], [6, 2, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 2, 1, 2)),
            new("conv2d depthwise", [[2, 4, 7, 7], [4, 1, 3, 3]], x => Ops.Conv2d(x[0], x[1], null, 1, 1, 4)),
            new("conv2d 1×1", [[2, 5, 6, 6], [7, 5, 1, 1]], x => Ops.Conv2d(x[0], x[1])),
            new("avg_pool2d 3/2 pad 1", [[2, 3, 9, 8]], x => Ops.AvgPool2d(x[0], 3, 2, 1)),
            new("max_pool2d 2", [[2, 3, 8, 8]], x => Ops.MaxPool2d(x[0], 2)),
            new("global avg pool", [[2, 3, 5, 5]], x => Ops.GlobalAvgPool2d(x[0])),
            new("batch norm 2d (train)", [[4, 3, 5, 5], [3], [3]], x => Ops.BatchNorm(x[0], x[1], x[2], null, null, training: true)),
            new("batch norm 1d (train)", [[8, 5], [5], [5]], x => Ops.BatchNorm(x[0], x[1], x[2], null, null, training: true)),
            new("group norm 2 groups", [[2, 6, 4, 5], [6], [6]], x => Ops.GroupNorm(x[0], 2, x[1], x[2])),
            new("instance norm", [[2, 4, 5, 5], [4], [4]], x => Ops.GroupNorm(x[0], 4, x[1], x[2])),
            new("group norm second order (its ∂/∂x, γ differentiated)", [[2, 6, 3, 4], [6], [6]], x =>
                Autodiff.Autograd.Grad([Ops.Sum(Ops.Square(Ops.GroupNorm(x[0], 3, x[1], x[2])))], [x[0]], createGraph: true)[0]),
            new("softmax", [[6, 10]], x => Ops.Softmax(x[0])),
            new("log_softmax", [[6, 10]], x => Ops.LogSoftmax(x[0])),
            new("cross entropy", [[6, 5]], x => Ops.CrossEntropy(x[0], Tensor.From<int>([0, 4, 2, 1, 3, 2], [6], x[0].Backend))),
            new("mse", [v, v], x => Ops.Mse(x[0], x[1])),
            new("index_select", [[6, 4]], x => Ops.IndexSelect(x[0], Tensor.From<int>([5, 0, 5, 2], [4], x[0].Backend))),
            new("cholesky", [[12, 12]], x => Ops.Cholesky(x[0]), ParityInputs.SpdFirst),
            new("cholesky solve (KRR)", [[12, 12], [12, 4]], x => Ops.CholeskySolve(x[1], Ops.Cholesky(x[0])), ParityInputs.SpdFirst),
            new("convnet training step", [[4, 3, 8, 8], [8, 3, 3, 3], [8], [8], [8], [5, 8 * 4 * 4]], x => ConvNetLoss(x)),
        ];
    }

    /// <summary>conv → batch norm (train) → ReLU → avg-pool → linear → MSE to zero: the shape of every inner step.</summary>
    static Tensor ConvNetLoss(Tensor[] x)
    {
        var h = Ops.Conv2d(x[0], x[1], x[2], 1, 1);
        h = Ops.AvgPool2d(Ops.Relu(Ops.BatchNorm(h, x[3], x[4], null, null, training: true)), 2);
        var y = Ops.Linear(Ops.Flatten(h), x[5]);
        return Ops.Mse(y, Ops.Zeros(y));
    }

    /// <summary>
    /// Runs one case: inputs drawn on the host in f64 from (seed, case), the reference in
    /// f64 on <paramref name="reference"/>, the target in <paramref name="dtype"/> on
    /// <paramref name="target"/>; compares the output and all input gradients.
    /// </summary>
    public static ParityResult Run(ParityCase c, IBackend reference, IBackend target, DType dtype, ulong seed = 0)
    {
        try
        {
            using var scope = TensorScope.Begin();
            var rng = new Random.Generator(seed ^ (ulong)StableHash(c.Name));
            var host = c.InputShapes.Select((s, i) => Draw(s, c.Inputs, i, rng)).ToArray();
            var (refOut, refGrads) = Evaluate(c, host, reference, DType.F64, rng.Seed);
            var (tgtOut, tgtGrads) = Evaluate(c, host, target, dtype, rng.Seed);
            double tol = Tolerance(dtype);
            string worst = "output";
            var (abs, rel) = Compare(refOut, tgtOut);
            for (int i = 0; i < refGrads.Length; i++)
            {
                var (a, r) = Compare(refGrads[i], tgtGrads[i]);
                if (r > rel) (abs, rel, worst) = (a, r, $"grad input {i}");
            }
            return new ParityResult(c.Name, worst, abs, rel, rel <= tol);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new ParityResult(c.Name, "-", double.NaN, double.NaN, false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Runs every case, then the checks that are not single ops (Philox, optimizer steps).</summary>
    public static List<ParityResult> RunAll(IBackend reference, IBackend target, DType dtype, ulong seed = 0)
    {
        var results = Cases.Select(c => Run(c, reference, target, dtype, seed)).ToList();
        results.AddRange(BackendChecks.Run(reference, target, dtype, seed));
        return results;
    }

    static double[] Draw(int[] shape, ParityInputs kind, int index, Random.Generator rng)
    {
        long n = Shape.Numel(shape);
        var values = new double[n];
        if (kind == ParityInputs.Positive)
        {
            Random.Philox.FillUniform(values, rng.Seed, rng.Reserve(n));
            for (int i = 0; i < n; i++) values[i] = 0.5 + 1.5 * values[i];
            return values;
        }
        Random.Philox.FillNormal(values, rng.Seed, rng.Reserve(n));
        if (kind == ParityInputs.SpdFirst && index == 0)
        {
            // A = M·Mᵀ/n + I: well conditioned, so f32 and f64 factorizations agree closely.
            int d = shape[0];
            var a = new double[n];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                {
                    double s = 0;
                    for (int k = 0; k < d; k++) s += values[i * d + k] * values[j * d + k];
                    a[i * d + j] = s / d + (i == j ? 1 : 0);
                }
            return a;
        }
        return values;
    }

    static (double[] output, double[][] grads) Evaluate(ParityCase c, double[][] host, IBackend backend, DType dtype, ulong seed)
    {
        using var scope = TensorScope.Begin();
        var inputs = host.Select((h, i) =>
        {
            var t = Ops.Cast(Tensor.From<double>(h, c.InputShapes[i], backend), dtype);
            if (c.Differentiable) t.RequiresGrad = true;
            return t;
        }).ToArray();
        var y = c.Forward(inputs);
        var output = y.ToDoubles();
        if (!c.Differentiable) return (output, []);
        // The same upstream gradient G on both backends: drawn on the host in f64.
        var g = new double[y.Numel];
        Random.Philox.FillNormal(g, seed + 1, 0);
        var gradOut = Ops.Cast(Tensor.From<double>(g, y.Shape, backend), dtype);
        var grads = Autograd.Grad([y], inputs, [gradOut]);
        return (output, grads.Select(t => t.ToDoubles()).ToArray());
    }

    /// <summary>Max |a − b| and that over max(1, max|a|).</summary>
    public static (double abs, double rel) Compare(double[] reference, double[] actual)
    {
        if (reference.Length != actual.Length) return (double.PositiveInfinity, double.PositiveInfinity);
        double maxAbs = 0, scale = 1;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = Math.Abs(reference[i] - actual[i]);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            maxAbs = Math.Max(maxAbs, d);
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        return (maxAbs, maxAbs / scale);
    }

    /// <summary>A hash of a case name that is the same in every process (string.GetHashCode is randomized).</summary>
    static uint StableHash(string s)
    {
        uint h = 2166136261;
        foreach (char ch in s) h = (h ^ ch) * 16777619;
        return h;
    }
}
