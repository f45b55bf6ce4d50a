namespace RawDistill.Tests.OpsForward;

using RawDistill.Tensors;
using RawDistill.Tests.Autodiff;

/// <summary>
/// Forward values of the ops against naive loop implementations written here (the
/// definitions, with no cleverness). Gradient checks only prove that a backward rule is
/// the derivative of whatever the forward computes, so a forward that computes the wrong
/// thing (a flipped kernel, padding counted wrongly) would pass them; these tests pin the
/// forward itself, in f64 (to ~1e-12) and in f32 (the dtype training uses; its kernels
/// are separate code paths).
/// </summary>
[Trait("Category", "Forward")]
public class ForwardReferenceTests
{
    static double[] H(Tensor t) => t.ToDoubles();

    static Tensor In(Tensor f64, DType dtype) => dtype == DType.F64 ? f64 : Ops.Cast(f64, dtype);

    static void Close(double[] expected, Tensor actual, DType dtype, string what)
    {
        var a = H(actual);
        Assert.Equal(expected.Length, a.Length);
        double tol = dtype == DType.F64 ? 1e-11 : 2e-5;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == expected[i]) continue; // exact, infinities included
            double err = Math.Abs(a[i] - expected[i]);
            if (!(err <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what} ({dtype}): element {i} is {a[i]:G10}, expected {expected[i]:G10}");
        }
    }

    public static TheoryData<DType> DTypes => new() { DType.F64, DType.F32 };

    // ---- matmul ------------------------------------------------------------------------------

    public static TheoryData<int, int, int, bool, bool, DType> MatMulShapes()
    {
        var d = new TheoryData<int, int, int, bool, bool, DType>();
        foreach (var dt in new[] { DType.F64, DType.F32 })
            foreach (var (m, k, n) in new[] { (1, 1, 1), (3, 4, 5), (17, 33, 9), (64, 65, 63), (5, 300, 7) })
                foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
                    d.Add(m, k, n, ta, tb, dt);
        return d;
    }

    [Theory]
    [MemberData(nameof(MatMulShapes))]
    public void MatMul(int m, int k, int n, bool ta, bool tb, DType dt)
    {
        using var scope = TensorScope.Begin();
        var a = GradCheck.Randn(1, ta ? [k, m] : [m, k]);
        var b = GradCheck.Randn(2, tb ? [n, k] : [k, n]);
        double[] ha = H(a), hb = H(b), e = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (ta ? ha[p * m + i] : ha[i * k + p]) * (tb ? hb[j * k + p] : hb[p * n + j]);
                e[i * n + j] = s;
            }
        Close(e, Ops.MatMul(In(a, dt), In(b, dt), ta, tb), dt, $"matmul {m}x{k}x{n} {ta} {tb}");
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void BatchedMatMulIsPerBatchAndBroadcastsA2DOperand(DType dt)
    {
        using var scope = TensorScope.Begin();
        var a = GradCheck.Randn(3, [3, 4, 5]);
        var b = GradCheck.Randn(4, [3, 5, 2]);
        var b2 = GradCheck.Randn(5, [5, 2]);
        var y = Ops.MatMul(In(a, dt), In(b, dt));
        var y2 = Ops.MatMul(In(a, dt), In(b2, dt));
        for (int i = 0; i < 3; i++)
        {
            var ai = Ops.Reshape(Ops.Slice(a, 0, i, 1), 4, 5);
            var bi = Ops.Reshape(Ops.Slice(b, 0, i, 1), 5, 2);
            Close(H(Ops.MatMul(ai, bi)), Ops.Slice(y, 0, i, 1), dt, $"bmm batch {i}");
            Close(H(Ops.MatMul(ai, b2)), Ops.Slice(y2, 0, i, 1), dt, $"bmm shared b batch {i}");
        }
    }

    // ---- convolution -------------------------------------------------------------------------

    public static TheoryData<string, DType> ConvCases()
    {
        var d = new TheoryData<string, DType>();
        foreach (var dt in new[] { DType.F64, DType.F32 })
            foreach (var c in new[] { "3x3_p1", "3x3_s2_p1", "5x5_s2", "groups2", "depthwise", "1x1", "rect" })
                d.Add(c, dt);
        return d;
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dIsCrossCorrelation(string name, DType dt)
    {
        var (n, c, h, w, k, r, s, sh, sw, ph, pw, groups) = name switch
        {
            "3x3_p1" => (2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1),
            "3x3_s2_p1" => (2, 3, 7, 6, 4, 3, 3, 2, 2, 1, 1, 1),
            "5x5_s2" => (1, 2, 9, 9, 3, 5, 5, 2, 2, 0, 0, 1),
            "groups2" => (2, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 2),
            "depthwise" => (2, 3, 6, 6, 6, 3, 3, 2, 2, 1, 1, 3),
            "1x1" => (2, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0, 1),
            _ => (1, 2, 6, 5, 3, 3, 2, 2, 1, 1, 0, 1),
        };
        using var scope = TensorScope.Begin();
        var x = GradCheck.Randn(10, [n, c, h, w]);
        var wt = GradCheck.Randn(11, [k, c / groups, r, s]);
        var bias = GradCheck.Randn(12, [k]);
        double[] hx = H(x), hw = H(wt), hb = H(bias);
        int p = (h + 2 * ph - r) / sh + 1, q = (w + 2 * pw - s) / sw + 1, cg = c / groups, kg = k / groups;
        var e = new double[n * k * p * q];
        for (int ni = 0; ni < n; ni++)
            for (int ki = 0; ki < k; ki++)
                for (int pi = 0; pi < p; pi++)
                    for (int qi = 0; qi < q; qi++)
                    {
                        double acc = hb[ki];
                        int g = ki / kg;
                        for (int ci = 0; ci < cg; ci++)
                            for (int ri = 0; ri < r; ri++)
                                for (int si = 0; si < s; si++)
                                {
                                    int ih = pi * sh - ph + ri, iw = qi * sw - pw + si;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                                    acc += hx[((ni * c + g * cg + ci) * h + ih) * w + iw] * hw[((ki * cg + ci) * r + ri) * s + si];
                                }
                        e[((ni * k + ki) * p + pi) * q + qi] = acc;
                    }
        Close(e, Ops.Conv2d(In(x, dt), In(wt, dt), In(bias, dt), (sh, sw), (ph, pw), groups), dt, "conv2d " + name);
    }

    // ---- pooling -----------------------------------------------------------------------------

    [Theory]
    [InlineData(2, 2, 0, DType.F64)]
    [InlineData(3, 2, 1, DType.F64)]
    [InlineData(3, 1, 1, DType.F64)]
    [InlineData(3, 2, 1, DType.F32)]
    public void PoolingMatchesDefinition(int kernel, int stride, int pad, DType dt)
    {
        using var scope = TensorScope.Begin();
        int n = 2, c = 2, h = 5, w = 6;
        var x = GradCheck.Randn(20, [n, c, h, w]);
        var hx = H(x);
        int p = (h + 2 * pad - kernel) / stride + 1, q = (w + 2 * pad - kernel) / stride + 1;
        var avg = new double[n * c * p * q];
        var max = new double[n * c * p * q];
        for (int plane = 0; plane < n * c; plane++)
            for (int pi = 0; pi < p; pi++)
                for (int qi = 0; qi < q; qi++)
                {
                    double sum = 0, best = double.NegativeInfinity;
                    for (int a = 0; a < kernel; a++)
                        for (int b = 0; b < kernel; b++)
                        {
                            int ih = pi * stride - pad + a, iw = qi * stride - pad + b;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue; // padding: 0 for avg, absent for max
                            double v = hx[(plane * h + ih) * w + iw];
                            sum += v;
                            best = Math.Max(best, v);
                        }
                    avg[(plane * p + pi) * q + qi] = sum / (kernel * kernel); // count_include_pad = true
                    max[(plane * p + pi) * q + qi] = best;
                }
        Close(avg, Ops.AvgPool2d(In(x, dt), kernel, stride, pad), dt, "avg_pool2d");
        Close(max, Ops.MaxPool2d(In(x, dt), kernel, stride, pad), dt, "max_pool2d");
    }

    // ---- softmax, losses -----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(DTypes))]
    public void SoftmaxFamilyAndLosses(DType dt)
    {
        using var scope = TensorScope.Begin();
        var hx = H(GradCheck.Randn(30, [3, 4], 3.0));
        hx[0] = 800; // a large logit must not overflow
        var x = Tensor.From(hx, 3, 4);
        var sm = new double[12];
        var lsm = new double[12];
        for (int r = 0; r < 3; r++)
        {
            double mx = hx.Skip(r * 4).Take(4).Max(), z = 0;
            for (int j = 0; j < 4; j++) z += Math.Exp(hx[r * 4 + j] - mx);
            for (int j = 0; j < 4; j++)
            {
                sm[r * 4 + j] = Math.Exp(hx[r * 4 + j] - mx) / z;
                lsm[r * 4 + j] = hx[r * 4 + j] - mx - Math.Log(z);
            }
        }
        Close(sm, Ops.Softmax(In(x, dt)), dt, "softmax");
        Close(lsm, Ops.LogSoftmax(In(x, dt)), dt, "log_softmax");
        int[] labels = [2, 0, 3];
        double ce = -(lsm[0 * 4 + 2] + lsm[1 * 4 + 0] + lsm[2 * 4 + 3]) / 3;
        Close([ce], Ops.CrossEntropy(In(x, dt), Tensor.From(labels, 3)), dt, "cross_entropy");
        var y = GradCheck.Randn(31, [3, 4]);
        var hy = H(y);
        double mse = 0;
        for (int i = 0; i < 12; i++) mse += (hx[i] - hy[i]) * (hx[i] - hy[i]) / 12;
        Close([mse], Ops.Mse(In(x, dt), In(y, dt)), dt, "mse");
    }

    // ---- normalization -----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(DTypes))]
    public void BatchNormTrainEvalAndRunningStatistics(DType dt)
    {
        using var scope = TensorScope.Begin();
        int n = 3, c = 2, hw = 4;
        var x = GradCheck.Randn(40, [n, c, 2, 2], 2.0);
        var gamma = GradCheck.Randn(41, [c]);
        var beta = GradCheck.Randn(42, [c]);
        double[] hx = H(x), hg = H(gamma), hb = H(beta);
        var e = new double[hx.Length];
        var mean = new double[c];
        var varB = new double[c];
        for (int ci = 0; ci < c; ci++)
        {
            var vals = new List<double>();
            for (int ni = 0; ni < n; ni++)
                for (int j = 0; j < hw; j++) vals.Add(hx[(ni * c + ci) * hw + j]);
            mean[ci] = vals.Average();
            varB[ci] = vals.Select(v => (v - mean[ci]) * (v - mean[ci])).Average();
            for (int ni = 0; ni < n; ni++)
                for (int j = 0; j < hw; j++)
                {
                    int i = (ni * c + ci) * hw + j;
                    e[i] = (hx[i] - mean[ci]) / Math.Sqrt(varB[ci] + 1e-5) * hg[ci] + hb[ci];
                }
        }
        var rm = Tensor.From([0.5, -0.5], 2).Cast(dt);
        var rv = Tensor.From([2.0, 0.5], 2).Cast(dt);
        Close(e, Ops.BatchNorm(In(x, dt), In(gamma, dt), In(beta, dt), rm, rv, training: true, momentum: 0.1), dt, "batch_norm train");
        // running ← 0.9·running + 0.1·stat, with the unbiased variance (PyTorch's convention).
        int count = n * hw;
        Close([0.9 * 0.5 + 0.1 * mean[0], 0.9 * -0.5 + 0.1 * mean[1]], rm, dt, "running mean");
        Close([0.9 * 2.0 + 0.1 * varB[0] * count / (count - 1), 0.9 * 0.5 + 0.1 * varB[1] * count / (count - 1)], rv, dt, "running var");
        // Evaluation uses the running statistics.
        var hrm = H(rm);
        var hrv = H(rv);
        for (int i = 0; i < hx.Length; i++)
        {
            int ci = i / hw % c;
            e[i] = (hx[i] - hrm[ci]) / Math.Sqrt(hrv[ci] + 1e-5) * hg[ci] + hb[ci];
        }
        Close(e, Ops.BatchNorm(In(x, dt), In(gamma, dt), In(beta, dt), rm, rv, training: false), dt, "batch_norm eval");
    }

    [Theory]
    [InlineData(1, DType.F64)]
    [InlineData(2, DType.F64)]
    [InlineData(4, DType.F64)]
    [InlineData(2, DType.F32)]
    public void GroupNormMatchesDefinition(int groups, DType dt)
    {
        using var scope = TensorScope.Begin();
        int n = 2, c = 4, hw = 3;
        var x = GradCheck.Randn(50, [n, c, 3, 1], 2.0);
        var gamma = GradCheck.Randn(51, [c]);
        var beta = GradCheck.Randn(52, [c]);
        double[] hx = H(x), hg = H(gamma), hb = H(beta);
        var e = new double[hx.Length];
        int per = c / groups * hw;
        for (int ni = 0; ni < n; ni++)
            for (int g = 0; g < groups; g++)
            {
                int start = (ni * c + g * (c / groups)) * hw;
                var vals = hx.Skip(start).Take(per).ToArray();
                double m = vals.Average(), v = vals.Select(t => (t - m) * (t - m)).Average();
                for (int j = 0; j < per; j++)
                {
                    int ci = (start + j) / hw % c;
                    e[start + j] = (hx[start + j] - m) / Math.Sqrt(v + 1e-5) * hg[ci] + hb[ci];
                }
            }
        Close(e, Ops.GroupNorm(In(x, dt), groups, In(gamma, dt), In(beta, dt)), dt, $"group_norm g{groups}");
    }

    // ---- reductions, indexing ----------------------------------------------------------------

    [Theory]
    [MemberData(nameof(DTypes))]
    public void ReductionsOverSeparatedAxes(DType dt)
    {
        using var scope = TensorScope.Begin();
        var x = GradCheck.Randn(60, [2, 3, 4]);
        var hx = H(x);
        var sum = new double[3];
        var max = Enumerable.Repeat(double.NegativeInfinity, 3).ToArray();
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int cc = 0; cc < 4; cc++)
                {
                    sum[b] += hx[(a * 3 + b) * 4 + cc];
                    max[b] = Math.Max(max[b], hx[(a * 3 + b) * 4 + cc]);
                }
        Close(sum, Ops.Sum(In(x, dt), [0, 2]), dt, "sum over 0,2");
        Close(sum.Select(v => v / 8).ToArray(), Ops.Mean(In(x, dt), [2, 0], keepDim: true), dt, "mean over 0,2");
        Close(max, Ops.Max(In(x, dt), [0, 2]), dt, "max over 0,2");
        Assert.Equal([1, 3, 1], Ops.Sum(In(x, dt), [0, 2], keepDim: true).Shape);
        double mean = hx.Average();
        Close([hx.Select(v => (v - mean) * (v - mean)).Average()], Ops.Var(In(x, dt)), dt, "var");
    }

    [Fact]
    public void IndexingMatchesDefinition()
    {
        using var scope = TensorScope.Begin();
        var x = GradCheck.Randn(70, [4, 3]);
        var hx = H(x);
        int[] idx = [3, 0, 3];
        Close(idx.SelectMany(i => hx.Skip(i * 3).Take(3)).ToArray(), Ops.IndexSelect(x, Tensor.From(idx, 3)), DType.F64, "index_select");
        var added = new double[12];
        var g = GradCheck.Randn(71, [3, 3]);
        var hgv = H(g);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) added[idx[i] * 3 + j] += hgv[i * 3 + j];
        Close(added, Ops.IndexAdd(g, Tensor.From(idx, 3), 4), DType.F64, "index_add");
        int[] flat = [11, 0, 5, 5];
        Close(flat.Select(i => hx[i]).ToArray(), Ops.GatherFlat(x, Tensor.From(flat, 2, 2)), DType.F64, "gather_flat");
        var s = new double[12];
        double[] src = [1, 2, 3, 4];
        for (int i = 0; i < 4; i++) s[flat[i]] += src[i];
        Close(s, Ops.ScatterAddFlat(Tensor.From(src, 2, 2), Tensor.From(flat, 2, 2), [4, 3]), DType.F64, "scatter_add_flat");
        var cat = Ops.Concat([x, Ops.Slice(x, 0, 1, 2)], 0);
        Close([.. hx, .. hx.Skip(3).Take(6)], cat, DType.F64, "concat/slice");
        var t = Ops.Permute(Tensor.From(Enumerable.Range(0, 24).Select(i => (double)i).ToArray(), 2, 3, 4), 2, 0, 1);
        Assert.Equal([4, 2, 3], t.Shape);
        Assert.Equal(1 * 1 + 4 * 0 + 12 * 1, H(t)[1 * 6 + 1 * 3 + 0]); // t[1, 1, 0] = x[1, 0, 1]
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void WhereSelectsAndNeverBlends(DType dt)
    {
        // The unselected side may hold ±inf or NaN (log(0), 0/0, −inf masking); they must
        // not leak into the result (0·inf = NaN would).
        using var scope = TensorScope.Begin();
        var mask = Tensor.From([1.0, 0, 0, 1, 0, 1], 2, 3).Cast(dt);
        var a = Tensor.From([1.0, double.NegativeInfinity, double.NaN, 2, 3, 4], 2, 3).Cast(dt);
        var b = Tensor.From([double.PositiveInfinity, 6, 7], 1, 3).Cast(dt); // broadcast over rows
        Close([1, 6, 7, 2, 6, 4], Ops.Where(mask, a, b), dt, "where");
        var col = Tensor.From([0.0, 1], 2, 1).Cast(dt);                       // broadcast mask
        Close([double.PositiveInfinity, 6, 7, 2, 3, 4], Ops.Where(col, a, b), dt, "where, column mask");
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void SelectTakesANaNMaskAsTrueAndNegativeZeroAsFalse(DType dt)
    {
        // The backend primitive behind Where: mask ≠ 0 picks a, compared as IEEE numbers.
        using var scope = TensorScope.Begin();
        var mask = Tensor.From([double.NaN, -0.0, 0.0, 0.25, 1], 5).Cast(dt);
        var a = Tensor.From([1.0, 2, 3, 4, 5], 5).Cast(dt);
        var b = Tensor.From([-1.0, -2, double.NaN, -4, -5], 5).Cast(dt);
        var y = Tensor.Empty([5], dt);
        y.Backend.Select(mask.Storage, a.Storage, b.Storage, y.Storage, 5);
        Assert.Equal([1.0, -2, double.NaN, 4, 5], H(y));
        // In place over b.
        b.Backend.Select(mask.Storage, a.Storage, b.Storage, b.Storage, 5);
        Assert.Equal([1.0, -2, double.NaN, 4, 5], H(b));
    }

    // ---- linear algebra ----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(DTypes))]
    public void CholeskyAndSolves(DType dt)
    {
        using var scope = TensorScope.Begin();
        int n = 5;
        var m = GradCheck.Randn(80, [n, n]);
        var a64 = Ops.Add(Ops.MatMul(m, m, transB: true), Ops.Eye(n, m)); // SPD
        var a = In(a64, dt);
        var l = Ops.Cholesky(a);
        var hl = H(l);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) Assert.Equal(0.0, hl[i * n + j]);
        Close(H(a64), Ops.MatMul(l, l, transB: true), dt, "L·Lᵀ = A");
        var b = In(GradCheck.Randn(81, [n, 3]), dt);
        Close(H(b), Ops.MatMul(l, Ops.TriangularSolve(l, b)), dt, "L·(L⁻¹B) = B");
        Close(H(b), Ops.MatMul(l, Ops.TriangularSolve(l, b, transpose: true), transA: true), dt, "Lᵀ·(L⁻ᵀB) = B");
        Close(H(b), Ops.MatMul(a, Ops.CholeskySolve(b, l)), dt, "A·(A⁻¹B) = B");
        Close([H(a64).Where((_, i) => i / n == i % n).Sum()], Ops.Trace(a), dt, "trace");
    }

    [Fact]
    public void CholeskyOfAnIndefiniteMatrixNamesThePivot()
    {
        var a = Tensor.From([1.0, 2, 2, 1], 2, 2);
        var e = Assert.Throws<CholeskyException>(() => Ops.Cholesky(a));
        Assert.Equal(1, e.Pivot);
    }
}
