namespace RawDistill.Diagnostics;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// Parity checks of backend primitives that are not differentiable ops: Philox streams
/// (must match bit for bit for uniforms), the fused optimizer steps and the augmentation
/// kernels (<see cref="AugmentChecks"/>).
/// </summary>
public static class BackendChecks
{
    public static IEnumerable<ParityResult> Run(IBackend reference, IBackend target, DType dtype, ulong seed)
    {
        yield return Guard("philox uniform", () => Philox(reference, target, dtype, RandomDistribution.Uniform, seed, exact: true));
        yield return Guard("philox normal", () => Philox(reference, target, dtype, RandomDistribution.Normal, seed, exact: false));
        yield return Guard("sgd step (momentum, nesterov, wd)", () => Sgd(reference, target, dtype, seed));
        yield return Guard("adamw step", () => AdamW(reference, target, dtype, seed));
        // Augmentation kernels are f32 only: the same checks whatever dtype the suite runs in.
        foreach (var r in AugmentChecks.Run(reference, target, seed)) yield return r;
    }

    static ParityResult Guard(string name, Func<(double abs, double rel, double tol)> check)
    {
        try
        {
            var (abs, rel, tol) = check();
            return new ParityResult(name, "values", abs, rel, rel <= tol);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new ParityResult(name, "-", double.NaN, double.NaN, false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    static double[] Draw(IBackend backend, DType dtype, RandomDistribution d, long n, ulong seed, ulong counter)
    {
        using var t = Tensor.Empty([(int)n], dtype, backend);
        backend.Random(d, t.Storage, n, seed, counter);
        return t.ToDoubles();
    }

    static (double, double, double) Philox(IBackend reference, IBackend target, DType dtype, RandomDistribution d, ulong seed, bool exact)
    {
        // An odd length and a counter offset exercise the partial last block and the 64-bit counter carry.
        const long n = 100_003;
        ulong counter = 0xFFFF_FFFFUL - 7;
        var a = Draw(reference, dtype, d, n, seed + 17, counter);
        var b = Draw(target, dtype, d, n, seed + 17, counter);
        var (abs, rel) = ParitySuite.Compare(a, b);
        return (abs, rel, exact ? 0 : ParitySuite.Tolerance(dtype) * 1e-2);
    }

    static Tensor Host(double[] v, IBackend backend, DType dtype) => Ops.Cast(Tensor.From<double>(v, [v.Length], backend), dtype);

    static double[] Normal(int n, ulong seed)
    {
        var v = new double[n];
        Random.Philox.FillNormal(v, seed, 0);
        return v;
    }

    static (double, double, double) Sgd(IBackend reference, IBackend target, DType dtype, ulong seed) =>
        OptimizerSteps(reference, target, dtype, seed + 1, (b, p, grad, state, n, step) =>
            b.SgdStep(p.Storage, grad.Storage, state[0].Storage, n, new SgdStepArgs(0.1, 0.9, 0, 1e-3, true, step == 1)));

    static (double, double, double) AdamW(IBackend reference, IBackend target, DType dtype, ulong seed) =>
        OptimizerSteps(reference, target, dtype, seed + 3, (b, p, grad, state, n, step) =>
            b.AdamWStep(p.Storage, grad.Storage, state[0].Storage, state[1].Storage, n, new AdamWStepArgs(1e-2, 0.9, 0.999, 1e-8, 1e-2, step)));

    /// <summary>One fused optimizer step applied three times (steps 1..3) to the same parameters and gradient on both backends.</summary>
    static (double, double, double) OptimizerSteps(IBackend reference, IBackend target, DType dtype, ulong seed,
        Action<IBackend, Tensor, Tensor, Tensor[], int, int> step)
    {
        const int n = 1000;
        var p0 = Normal(n, seed);
        var g = Normal(n, seed + 1);
        double[] Run(IBackend b, DType t)
        {
            using var scope = TensorScope.Begin();
            var p = Host(p0, b, t);
            var grad = Host(g, b, t);
            Tensor[] state = [Tensor.Zeros([n], t, b), Tensor.Zeros([n], t, b)];
            for (int k = 1; k <= 3; k++) step(b, p, grad, state, n, k);
            return p.ToDoubles();
        }
        var (abs, rel) = ParitySuite.Compare(Run(reference, DType.F64), Run(target, dtype));
        return (abs, rel, ParitySuite.Tolerance(dtype));
    }
}
