namespace RawDistill.Tests.Autodiff;

using System.Globalization;
using System.Text;
using RawDistill.Autodiff;
using RawDistill.Tensors;
using Xunit.Sdk;

/// <summary>
/// The one gradient-check helper every op goes through (in the manner of
/// <c>torch.autograd.gradcheck</c> / <c>gradgradcheck</c>).
/// <para>
/// <see cref="Check"/>: for f64 inputs x₀…xₖ and a fixed random upstream gradient v of
/// the output's shape, compares the analytic vector-Jacobian product
/// ∂⟨v, f(x)⟩/∂xᵢ[j] (one <see cref="Autograd.Grad"/> call) with the central difference
/// (⟨v, f(x + ε·eᵢⱼ)⟩ − ⟨v, f(x − ε·eᵢⱼ)⟩) / 2ε for EVERY element j of every input i.
/// Pass criterion per element: |analytic − numeric| ≤ atol + rtol·|numeric|.
/// </para>
/// <para>
/// <see cref="GradGradCheck"/>: second order. With a second random vector u (one per
/// input), F(x) = Σᵢ ⟨uᵢ, ∂⟨v, f(x)⟩/∂xᵢ⟩ is computed with <c>createGraph: true</c>;
/// its analytic gradient (the Hessian-vector product H·u, cross terms between inputs
/// included) is compared by <see cref="Check"/> with central differences of F, i.e. of
/// the first gradient itself.
/// </para>
/// <para>
/// Guards against passing vacuously: the upstream vectors are dense and random (never
/// all-ones), every input element is perturbed, the check fails when the numeric
/// gradient is identically zero (pass <c>allowZero</c> where that is the right answer),
/// and an output that recorded no graph gets analytic zeros (so a missing rule fails
/// against a non-zero numeric gradient). <c>GradCheckSelfTests</c> shows deliberately
/// wrong rules are caught.
/// </para>
/// Error budget (why these defaults): with ε = 1e-6 the truncation error of a central
/// difference is ~ε²·|f'''| ≈ 1e-12 and the rounding error ~2⁻⁵³·|⟨v,f⟩|/ε ≈ 1e-10·|⟨v,f⟩|,
/// so for the O(1)–O(100) sums used here atol 1e-6 / rtol 1e-5 leave a wide margin
/// while a wrong rule (errors of order the gradient itself) still fails.
/// </summary>
public static class GradCheck
{
    public const double DefaultEps = 1e-6;
    public const double DefaultAtol = 1e-6;
    public const double DefaultRtol = 1e-5;

    /// <summary>
    /// First-order check of f at the given f64 inputs. <paramref name="wrt"/> selects the
    /// inputs to differentiate (default all); the others are passed as constants.
    /// Throws <see cref="XunitException"/> naming op, input, element, analytic and numeric values.
    /// </summary>
    public static void Check(string op, Func<Tensor[], Tensor> f, Tensor[] inputs, bool[]? wrt = null,
        double eps = DefaultEps, double atol = DefaultAtol, double rtol = DefaultRtol, bool allowZero = false, int seed = 12345)
    {
        var host = ToHost(op, inputs);
        CheckCore(op, f, host, inputs.Select(t => (int[])t.Shape.Clone()).ToArray(), wrt ?? Enumerable.Repeat(true, inputs.Length).ToArray(),
            leavesRequireGradInEval: false, eps, atol, rtol, allowZero, seed);
    }

    /// <summary>
    /// Second-order check: the gradient of F(x) = Σᵢ⟨uᵢ, ∂⟨v, f(x)⟩/∂xᵢ⟩ (taken through the
    /// createGraph backward pass) against central differences of F.
    /// </summary>
    public static void GradGradCheck(string op, Func<Tensor[], Tensor> f, Tensor[] inputs, bool[]? wrt = null,
        double eps = DefaultEps, double atol = DefaultAtol, double rtol = DefaultRtol, bool allowZero = false, int seed = 12345)
    {
        var host = ToHost(op, inputs);
        var shapes = inputs.Select(t => (int[])t.Shape.Clone()).ToArray();
        var which = wrt ?? Enumerable.Repeat(true, inputs.Length).ToArray();
        var diffIdx = Enumerable.Range(0, inputs.Length).Where(i => which[i]).ToArray();

        // v: the upstream gradient of f's output (its shape is only known after one call).
        double[] v;
        int[] yShape;
        using (TensorScope.Begin())
        {
            var y = f(host.Select((h, i) => Tensor.From<double>(h, shapes[i])).ToArray());
            yShape = (int[])y.Shape.Clone();
            v = RandomVector(seed + 1, y.Numel);
        }
        var u = diffIdx.Select((i, k) => RandomVector(seed + 2 + k, host[i].Length)).ToArray();

        Tensor FirstGradientDotU(Tensor[] xs)
        {
            var y = f(xs);
            if (!Shape.Equal(y.Shape, yShape)) throw new XunitException($"{op}: output shape changed between calls");
            if (!y.RequiresGrad)
            {
                // No graph at all: the first gradient is zero, hence so is F. Return a
                // constant that still depends on nothing, so the analytic H·u is zero.
                return Tensor.Zeros([], DType.F64);
            }
            var vt = Tensor.From<double>(v, yShape);
            var grads = Autograd.Grad([y], diffIdx.Select(i => xs[i]).ToArray(), [vt], createGraph: true);
            Tensor? total = null;
            for (int k = 0; k < grads.Length; k++)
            {
                var term = Ops.Sum(Ops.Mul(grads[k], Tensor.From<double>(u[k], shapes[diffIdx[k]])));
                total = total == null ? term : Ops.Add(total, term);
            }
            return total!;
        }

        CheckCore(op + " (second order)", FirstGradientDotU, host, shapes, which,
            leavesRequireGradInEval: true, eps, atol, rtol, allowZero, seed + 100);
    }

    static double[][] ToHost(string op, Tensor[] inputs)
    {
        var host = new double[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i].DType != DType.F64)
                throw new ArgumentException($"{op}: gradient checks need f64 inputs, input {i} is {inputs[i].Describe()}");
            host[i] = inputs[i].ToArray<double>();
        }
        return host;
    }

    static void CheckCore(string op, Func<Tensor[], Tensor> f, double[][] host, int[][] shapes, bool[] wrt,
        bool leavesRequireGradInEval, double eps, double atol, double rtol, bool allowZero, int seed)
    {
        if (wrt.Length != host.Length) throw new ArgumentException($"{op}: wrt has {wrt.Length} entries for {host.Length} inputs");
        if (!wrt.Any(w => w)) throw new ArgumentException($"{op}: nothing to differentiate");

        // ---- analytic: one reverse sweep with a random upstream gradient v -------------------
        var analytic = new double[host.Length][];
        double[] v;
        int[] yShape;
        bool recorded;
        using (TensorScope.Begin())
        {
            var xs = MakeInputs(host, shapes, i => wrt[i]);
            var y = f(xs);
            if (y.DType != DType.F64) throw new XunitException($"{op}: output is {y.Describe()}, expected f64");
            yShape = (int[])y.Shape.Clone();
            v = RandomVector(seed, y.Numel);
            recorded = y.RequiresGrad;
            var diff = Enumerable.Range(0, host.Length).Where(i => wrt[i]).ToArray();
            if (recorded)
            {
                var grads = Autograd.Grad([y], diff.Select(i => xs[i]).ToArray(), [Tensor.From<double>(v, yShape)]);
                for (int k = 0; k < diff.Length; k++)
                {
                    if (!Shape.Equal(grads[k].Shape, shapes[diff[k]]))
                        throw new XunitException($"{op}: gradient of input {diff[k]} has shape {Shape.Format(grads[k].Shape)}, input is {Shape.Format(shapes[diff[k]])}");
                    analytic[diff[k]] = grads[k].ToArray<double>();
                }
            }
            else
            {
                foreach (var i in diff) analytic[i] = new double[host[i].Length];
            }
        }

        // ---- numeric: central differences of ⟨v, f(x)⟩ for every element ---------------------
        double Eval()
        {
            using var scope = TensorScope.Begin();
            var xs = MakeInputs(host, shapes, i => leavesRequireGradInEval && wrt[i]);
            var y = f(xs);
            if (!Shape.Equal(y.Shape, yShape)) throw new XunitException($"{op}: output shape changed between calls");
            var yv = y.ToArray<double>();
            double s = 0;
            for (int j = 0; j < yv.Length; j++) s += v[j] * yv[j];
            return s;
        }

        var failures = new StringBuilder();
        int failed = 0, checkedCount = 0;
        double maxNumeric = 0, worst = 0;
        for (int i = 0; i < host.Length; i++)
        {
            if (!wrt[i]) continue;
            var x = host[i];
            for (int j = 0; j < x.Length; j++)
            {
                double orig = x[j];
                x[j] = orig + eps;
                double fp = Eval();
                x[j] = orig - eps;
                double fm = Eval();
                x[j] = orig;
                double numeric = (fp - fm) / (2 * eps);
                double a = analytic[i][j];
                double err = Math.Abs(a - numeric), bound = atol + rtol * Math.Abs(numeric);
                maxNumeric = Math.Max(maxNumeric, Math.Abs(numeric));
                worst = Math.Max(worst, err / bound);
                checkedCount++;
                if (!(err <= bound))
                {
                    if (failed < 8)
                        failures.AppendLine(string.Create(CultureInfo.InvariantCulture,
                            $"  input {i} {Shape.Format(shapes[i])} element {j} {Index(shapes[i], j)}: analytic {a:G10}, numeric {numeric:G10}, |diff| {err:G3} > {bound:G3}"));
                    failed++;
                }
            }
        }
        if (failed > 0)
            throw new XunitException($"gradcheck failed for {op}: {failed} of {checkedCount} elements differ" +
                (recorded ? "" : " (the output recorded no backward graph, so the analytic gradient is zero)") +
                $" (eps {eps}, atol {atol}, rtol {rtol}):\n{failures}");
        if (!allowZero && maxNumeric < 1e-7)
            throw new XunitException($"gradcheck for {op} is vacuous: the numeric gradient is zero for all {checkedCount} elements (pass allowZero if that is intended)");
    }

    static Tensor[] MakeInputs(double[][] host, int[][] shapes, Func<int, bool> requiresGrad)
    {
        var xs = new Tensor[host.Length];
        for (int i = 0; i < host.Length; i++)
        {
            xs[i] = Tensor.From<double>(host[i], shapes[i]);
            if (requiresGrad(i)) xs[i].RequiresGrad = true;
        }
        return xs;
    }

    static string Index(int[] shape, int flat)
    {
        if (shape.Length == 0) return "[]";
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return "[" + string.Join(", ", idx) + "]";
    }

    // ---- inputs ------------------------------------------------------------------------------

    /// <summary>Standard normal values (System.Random, so independent of the engine's RNG).</summary>
    public static double[] RandomVector(int seed, long n)
    {
        var rng = new System.Random(seed);
        var r = new double[n];
        for (long i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            r[i] = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return r;
    }

    /// <summary>f64 tensor of normal values with the given standard deviation.</summary>
    public static Tensor Randn(int seed, int[] shape, double std = 1.0)
    {
        var r = RandomVector(seed, Shape.Numel(shape));
        for (int i = 0; i < r.Length; i++) r[i] *= std;
        return Tensor.From<double>(r, shape);
    }

    /// <summary>f64 tensor uniform on [lo, hi).</summary>
    public static Tensor Uniform(int seed, int[] shape, double lo, double hi)
    {
        var rng = new System.Random(seed);
        var r = new double[Shape.Numel(shape)];
        for (int i = 0; i < r.Length; i++) r[i] = lo + (hi - lo) * rng.NextDouble();
        return Tensor.From<double>(r, shape);
    }

    /// <summary>Random signs times magnitudes in [minAbs, maxAbs): keeps away from kinks at 0.</summary>
    public static Tensor AwayFromZero(int seed, int[] shape, double minAbs = 0.1, double maxAbs = 1.5)
    {
        var rng = new System.Random(seed);
        var r = new double[Shape.Numel(shape)];
        for (int i = 0; i < r.Length; i++) r[i] = (rng.Next(2) == 0 ? -1 : 1) * (minAbs + (maxAbs - minAbs) * rng.NextDouble());
        return Tensor.From<double>(r, shape);
    }

    /// <summary>
    /// Uniform on [−range, range) but at least <paramref name="margin"/> away from each of
    /// <paramref name="kinks"/> (non-differentiable points such as relu/abs at 0 or clamp bounds).
    /// </summary>
    public static Tensor AwayFrom(int seed, int[] shape, double[] kinks, double margin = 0.05, double range = 1.5)
    {
        var rng = new System.Random(seed);
        var r = new double[Shape.Numel(shape)];
        for (int i = 0; i < r.Length; i++)
        {
            double x;
            do x = range * (2 * rng.NextDouble() - 1);
            while (kinks.Any(k => Math.Abs(x - k) < margin));
            r[i] = x;
        }
        return Tensor.From<double>(r, shape);
    }

    /// <summary>
    /// All values distinct and at least <paramref name="gap"/> apart (a shuffled ladder
    /// around 0): no ties for max / max-pool / maximum, even after ±ε perturbations.
    /// </summary>
    public static Tensor Distinct(int seed, int[] shape, double gap = 0.05)
    {
        var rng = new System.Random(seed);
        int n = (int)Shape.Numel(shape);
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = (i - n / 2) * gap + 0.3 * gap * rng.NextDouble();
        rng.Shuffle(r);
        return Tensor.From<double>(r, shape);
    }
}
