namespace RawDistill.Diagnostics;

using System.Runtime.InteropServices;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Tensors;

/// <summary>A backend primitive's output differs from the CPU backend's (or from a host reference) beyond the tolerance.</summary>
public sealed class ParityMismatchException(string message) : Exception(message);

/// <summary>
/// Backend parity checks of the primitives (<see cref="IBackend"/> calls, below the ops that
/// <see cref="ParitySuite"/> checks): each runs one primitive on the CPU backend (the
/// reference) and on the backend under test with the same inputs and compares, element by
/// element; a mismatch throws a <see cref="ParityMismatchException"/> naming the case and the
/// element. This is the one parity path: the `[CudaFact]` device tests call these methods,
/// `rawdistill selftest --thorough` runs <see cref="Checks"/> (also at every block size of the
/// block-size sweep), and the tests run them CPU-vs-CPU so the harness itself is exercised on
/// machines without a GPU.
/// </summary>
public static class PrimitiveParity
{
    /// <summary>One named check; <see cref="Thorough"/> ones run only under --thorough (larger sizes).</summary>
    public sealed record Check(string Name, Action<IBackend> Run, bool Thorough = false)
    {
        /// <inheritdoc/>
        public override string ToString() => Name;
    }

    /// <summary>
    /// Every check in a stable order. <paramref name="smallConvWorkspace"/>, when given, returns a
    /// scope in which the backend splits a convolution into one-item chunks (the CUDA backend's
    /// column-buffer limit), so the chunked path is compared too.
    /// </summary>
    public static IReadOnlyList<Check> Checks(bool thorough, Func<IDisposable>? smallConvWorkspace = null)
    {
        var list = new List<Check>
        {
            new("gemm (every transpose pair, strided batches)", Gemm),
            new("philox (bit-identical uniforms, normals)", Philox),
            new("cholesky + triangular solves (64-wide blocks, pivots)", Cholesky),
            new("conv2d forward/backward", Conv),
            new("elementwise (unary, binary broadcast, select)", Elementwise),
            new("reductions (incl. split rows) + softmax", Reductions),
            new("pooling", Pooling),
            new("indexing (gather/scatter)", Indexing),
            new("layout (permute incl. rank 6, copy, fill, cast)", Layout),
            new("casts of NaN, ±inf and out-of-range values", CastsSaturate),
            new("optimizer steps", Optimizers),
        };
        if (smallConvWorkspace is not null)
            list.Add(new("conv2d in one-item chunks", dev => { using (smallConvWorkspace()) Conv(dev); }));
        if (thorough) list.Add(new("cholesky blocked n = 256, 300, 513 (f64 reference)", CholeskyLarge, Thorough: true));
        return list;
    }

    /// <summary>Runs one check; a mismatch or an exception becomes a failed result carrying its message.</summary>
    public static ParityResult Run(Check check, IBackend dev)
    {
        t_worst = 0;
        t_worstWhat = "-";
        t_owned = [];
        ParityResult result;
        try
        {
            check.Run(dev);
            result = new ParityResult(check.Name, t_worstWhat, double.NaN, t_worst, true);
        }
        catch (ParityMismatchException e)
        {
            result = new ParityResult(check.Name, "values", double.NaN, double.NaN, false, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = new ParityResult(check.Name, "-", double.NaN, double.NaN, false, $"{e.GetType().Name}: {e.Message}");
        }
        // Releasing can fail too (a device fault is reported by every later call): that never
        // replaces the check's own error, which names the kernel, but it does fail a passed check.
        string? releaseError = null;
        foreach (var s in t_owned)
        {
            try { if (!s.IsReleased) s.Release(); }
            catch (Exception e) when (e is not OutOfMemoryException) { releaseError ??= $"releasing its storages: {e.GetType().Name}: {e.Message}"; }
        }
        t_owned = null;
        return result.Passed && releaseError != null ? result with { Passed = false, Error = releaseError } : result;
    }

    /// <summary>Storages the running check allocated (released when <see cref="Run"/> ends; null outside it).</summary>
    [ThreadStatic] static List<Storage>? t_owned;

    static Storage Alloc(IBackend b, DType t, long count)
    {
        var s = b.Allocate(t, count);
        t_owned?.Add(s);
        return s;
    }

    [ThreadStatic] static double t_worst;
    [ThreadStatic] static string? t_worstWhat;

    static void Require(bool condition, string message)
    {
        if (!condition) throw new ParityMismatchException(message);
    }

    static void RequireFactorized(int info, string what) =>
        Require(info == -1, $"{what}: the factorization stopped at pivot {info} of a positive definite matrix");

    public static T[] Read<T>(IBackend b, Storage s) where T : unmanaged
    {
        var r = new T[s.Count];
        b.Download(s, MemoryMarshal.AsBytes(r.AsSpan()));
        return r;
    }

    public static Storage Put(IBackend b, DType t, double[] v)
    {
        var s = Alloc(b, t, v.Length);
        byte[] bytes = t switch
        {
            DType.F32 => MemoryMarshal.AsBytes(v.Select(x => (float)x).ToArray().AsSpan()).ToArray(),
            DType.F64 => MemoryMarshal.AsBytes(v.AsSpan()).ToArray(),
            DType.I32 => MemoryMarshal.AsBytes(v.Select(x => (int)x).ToArray().AsSpan()).ToArray(),
            DType.U8 => v.Select(x => (byte)x).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };
        b.Upload(s, bytes);
        return s;
    }

    public static double[] ReadD(IBackend b, Storage s) => s.DType switch
    {
        DType.F32 => Read<float>(b, s).Select(x => (double)x).ToArray(),
        DType.F64 => Read<double>(b, s),
        DType.I32 => Read<int>(b, s).Select(x => (double)x).ToArray(),
        DType.U8 => Read<byte>(b, s).Select(x => (double)x).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static double[] Rand(int n, int seed, double lo = -1, double hi = 1)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();
    }

    /// <summary>Runs <paramref name="run"/> on the CPU and on <paramref name="dev"/> and compares element-wise.</summary>
    public static void Same(IBackend dev, string what, Func<IBackend, double[]> run, double tol)
    {
        var expected = run(CpuBackend.Instance);
        var actual = run(dev);
        Close(expected, actual, tol, what);
    }

    /// <summary>Element-wise comparison: |e − a| / max(1, |e|) ≤ tol (NaN matches NaN); throws naming the first bad element.</summary>
    public static void Close(double[] expected, double[] actual, double tol, string what)
    {
        Require(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (e == a) continue;
            double err = Math.Abs(e - a) / Math.Max(1, Math.Abs(e));
            if (err > t_worst) (t_worst, t_worstWhat) = (err, what);
            Require(err <= tol, $"{what}: element {i} is {a}, expected {e} (error {err:g3} > {tol:g3})");
        }
    }

    static double Tol(DType t) => t == DType.F32 ? 2e-5 : 1e-12;

    static readonly DType[] Floats = [DType.F32, DType.F64];

    // ---- the checks -------------------------------------------------------------------

    public static void Gemm(IBackend dev)
    {
        foreach (var t in Floats)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    const int M = 37, N = 45, K = 29, batch = 3;
                    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                    long sa = (long)(ta ? K : M) * lda + 5, sb = (long)(tb ? N : K) * ldb, sc = (long)M * ldc + 7;
                    var a = Rand((int)(sa * batch + 11), 1);
                    var b = Rand((int)(sb * batch + 13), 2);
                    var c0 = Rand((int)(sc * batch + 17), 3);
                    var args = new GemmArgs(ta, tb, M, N, K, 0.7, 11, lda, 13, ldb, 0.3, 17, ldc, batch, sa, sb, sc);
                    // naive reference in double
                    var expected = (double[])c0.Clone();
                    for (int z = 0; z < batch; z++)
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < N; j++)
                            {
                                double acc = 0;
                                for (int k = 0; k < K; k++)
                                {
                                    double av = a[11 + z * sa + (ta ? (long)k * lda + i : (long)i * lda + k)];
                                    double bv = b[13 + z * sb + (tb ? (long)j * ldb + k : (long)k * ldb + j)];
                                    acc += av * bv;
                                }
                                long ci = 17 + z * sc + (long)i * ldc + j;
                                expected[ci] = 0.7 * acc + 0.3 * c0[ci];
                            }
                    var A = Put(dev, t, a);
                    var B = Put(dev, t, b);
                    var C = Put(dev, t, c0);
                    dev.Gemm(args, A, B, C);
                    Close(t == DType.F32 ? expected.Select(x => (double)(float)x).ToArray() : expected, ReadD(dev, C), t == DType.F32 ? 1e-4 : 1e-12,
                        $"gemm {t} transA={ta} transB={tb}");
                    // batch 1 goes through plain gemm
                    var one = args with { Batch = 1 };
                    var C1 = Put(dev, t, c0);
                    dev.Gemm(one, A, B, C1);
                    var got = ReadD(dev, C1);
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++)
                        {
                            long ci = 17 + (long)i * ldc + j;
                            Require(Math.Abs(got[ci] - expected[ci]) <= (t == DType.F32 ? 1e-4 : 1e-12) * Math.Max(1, Math.Abs(expected[ci])), $"gemm batch 1 {t} {ta} {tb}");
                        }
                    double last = c0[sc * batch + 16];
                    Require(got[^1] == (t == DType.F32 ? (float)last : last), $"gemm {t} {ta} {tb}: the element after C's span changed"); // outside C's span: untouched
                }
    }

    public static void Philox(IBackend dev)
    {
        const long n = 1001; // not a multiple of four
        ulong seed = 0xDEADBEEF12345678ul, counter = (1ul << 32) - 7;
        var uniform = PhiloxSpec.Uniform(n, seed, counter);
        var normal = PhiloxSpec.Normal(n, seed, counter);
        foreach (var t in Floats)
        {
            var y = Alloc(dev, t, n);
            dev.Random(RandomDistribution.Uniform, y, n, seed, counter);
            var u = ReadD(dev, y);
            for (int i = 0; i < n; i++) Require(uniform[i] == u[i], $"uniform {t} element {i}: {u[i]} != {uniform[i]} (must be bit-identical)");
            dev.Random(RandomDistribution.Normal, y, n, seed, counter);
            Close(t == DType.F32 ? normal.Select(x => (double)(float)x).ToArray() : normal, ReadD(dev, y), t == DType.F32 ? 1e-6 : 1e-13, $"normal {t}");
        }
    }

    /// <summary>A well-conditioned symmetric positive definite n × n matrix: BBᵀ/n + I, B uniform from <paramref name="seed"/>.</summary>
    public static double[] Spd(int n, int seed)
    {
        var b = Rand(n * n, seed);
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
                a[i * n + j] = s / n + (i == j ? 1 : 0);
            }
        return a;
    }

    public static void Cholesky(IBackend dev)
    {
        const int n = 150; // three diagonal blocks of the blocked CUDA factorization: 64, 64, 22
        var a = Spd(n, 5);
        var A = Put(dev, DType.F64, a);
        var L = Alloc(dev, DType.F64, n * n);
        RequireFactorized(dev.Cholesky(A, n, L), "cholesky n=150");
        var l = ReadD(dev, L);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) Require(l[i * n + j] == 0, $"cholesky: L[{i},{j}] above the diagonal is {l[i * n + j]}");
        // L·Lᵀ = A
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int k = 0; k <= j; k++) s += l[i * n + k] * l[j * n + k];
                Require(Math.Abs(s - a[i * n + j]) < 1e-12, $"(L·Lᵀ)[{i},{j}] = {s}, A = {a[i * n + j]}");
            }
        // A·x = b through L·y = b, Lᵀ·x = y, with 3 right-hand sides
        const int cols = 3;
        var rhs = Rand(n * cols, 6);
        var Bm = Put(dev, DType.F64, rhs);
        var Y = Alloc(dev, DType.F64, n * cols);
        var X = Alloc(dev, DType.F64, n * cols);
        dev.TriangularSolve(L, n, Bm, cols, Y, transpose: false);
        dev.TriangularSolve(L, n, Y, cols, X, transpose: true);
        var x = ReadD(dev, X);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < cols; c++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += a[i * n + k] * x[k * cols + c];
                Require(Math.Abs(s - rhs[i * cols + c]) < 1e-10, $"residual at [{i},{c}]: {s - rhs[i * cols + c]}");
            }
        // the first non-positive pivot is reported, in every block
        foreach (int bad in new[] { 0, 63, 64, 100, 149 })
        {
            var broken = (double[])a.Clone();
            broken[bad * n + bad] = -5;
            Same(dev, $"cholesky pivot {bad}", b =>
            {
                var Lb = Alloc(b, DType.F64, n * n);
                return [b.Cholesky(Put(b, DType.F64, broken), n, Lb)];
            }, 0);
        }
        // sizes at and around the 64-wide diagonal blocks
        foreach (int m in new[] { 1, 63, 64, 65, 128 })
        {
            var am = Spd(m, 100 + m);
            Same(dev, $"cholesky n={m}", b =>
            {
                var Lm = Alloc(b, DType.F64, (long)m * m);
                RequireFactorized(b.Cholesky(Put(b, DType.F64, am), m, Lm), $"cholesky n={m}");
                return ReadD(b, Lm);
            }, 1e-10);
        }
        // f32 goes through a widened copy on the GPU
        Same(dev, "cholesky f32", b =>
        {
            var Lf = Alloc(b, DType.F32, n * n);
            RequireFactorized(b.Cholesky(Put(b, DType.F32, a), n, Lf), "cholesky f32");
            return ReadD(b, Lf);
        }, 1e-4);
        Same(dev, "triangular solve f32", b =>
        {
            var Lf = Put(b, DType.F32, l);
            var Xf = Alloc(b, DType.F32, n * cols);
            b.TriangularSolve(Lf, n, Put(b, DType.F32, rhs), cols, Xf, transpose: true);
            return ReadD(b, Xf);
        }, 1e-3);
    }

    /// <summary>
    /// The blocked factorization at n ≥ 256 (the CUDA path's several 64-wide diagonal blocks with
    /// Dtrsm/Dsyrk updates between them; the CPU path's parallel loop): L checked against the
    /// matrix itself (L·Lᵀ = A in f64 on the host, zeros above the diagonal), then against the
    /// CPU backend, then a solve with several right-hand sides by its residual; f32 too.
    /// </summary>
    public static void CholeskyLarge(IBackend dev)
    {
        foreach (int n in new[] { 256, 300, 513 })
        {
            var a = Spd(n, 200 + n);
            var L = Alloc(dev, DType.F64, (long)n * n);
            RequireFactorized(dev.Cholesky(Put(dev, DType.F64, a), n, L), $"cholesky n={n}");
            var l = ReadD(dev, L);
            double worst = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = i + 1; j < n; j++) Require(l[i * n + j] == 0, $"cholesky n={n}: L[{i},{j}] above the diagonal is {l[i * n + j]}");
                for (int j = 0; j <= i; j++)
                {
                    double s = 0;
                    for (int k = 0; k <= j; k++) s += l[i * n + k] * l[j * n + k];
                    worst = Math.Max(worst, Math.Abs(s - a[i * n + j]));
                }
            }
            Require(worst < 1e-12 * n, $"cholesky n={n}: max |L·Lᵀ − A| = {worst:G3} (A's entries are O(1))");
            Same(dev, $"cholesky n={n} against the cpu", b =>
            {
                var Lb = Alloc(b, DType.F64, (long)n * n);
                RequireFactorized(b.Cholesky(Put(b, DType.F64, a), n, Lb), $"cholesky n={n}");
                return ReadD(b, Lb);
            }, 1e-10);
            const int cols = 5;
            var rhs = Rand(n * cols, 300 + n);
            var Y = Alloc(dev, DType.F64, (long)n * cols);
            var X = Alloc(dev, DType.F64, (long)n * cols);
            dev.TriangularSolve(L, n, Put(dev, DType.F64, rhs), cols, Y, transpose: false);
            dev.TriangularSolve(L, n, Y, cols, X, transpose: true);
            var x = ReadD(dev, X);
            for (int i = 0; i < n; i++)
                for (int c = 0; c < cols; c++)
                {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += a[i * n + k] * x[k * cols + c];
                    Require(Math.Abs(s - rhs[i * cols + c]) < 1e-9, $"cholesky solve n={n}: residual at [{i},{c}] is {s - rhs[i * cols + c]:G3}");
                }
        }
        var a300 = Spd(300, 500);
        Same(dev, "cholesky f32 n=300", b =>
        {
            var Lf = Alloc(b, DType.F32, 300 * 300);
            RequireFactorized(b.Cholesky(Put(b, DType.F32, a300), 300, Lf), "cholesky f32 n=300");
            return ReadD(b, Lf);
        }, 1e-4);
    }

    public static void Conv(IBackend dev)
    {
        Conv2dGeometry[] geometries =
        [
            new(3, 4, 9, 7, 6, 3, 3, 2, 1, 1, 1, 2),   // groups, stride, padding
            new(2, 8, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1),   // pointwise: no im2col
            new(4, 3, 8, 8, 5, 5, 3, 1, 2, 2, 0, 1),   // rectangular kernel
            new(2, 6, 7, 7, 6, 3, 3, 2, 2, 1, 1, 6),   // depthwise (MobileNetV2)
            new(2, 4, 6, 6, 8, 1, 1, 2, 2, 0, 0, 2),   // strided 1×1 (ResNet shortcut), grouped
        ];
        foreach (var t in Floats)
            foreach (var g in geometries)
            {
                var x = Rand((int)Shape.Numel(g.InputShape), 7);
                var w = Rand((int)Shape.Numel(g.WeightShape), 8);
                var bias = Rand(g.K, 9);
                var dy = Rand((int)Shape.Numel(g.OutputShape), 10);
                double tol = t == DType.F32 ? 1e-4 : 1e-11;
                Same(dev, $"conv2d forward {t} {g}", b =>
                {
                    var y = Alloc(b, t, Shape.Numel(g.OutputShape));
                    b.Conv2dForward(g, Put(b, t, x), Put(b, t, w), Put(b, t, bias), y);
                    return ReadD(b, y);
                }, tol);
                Same(dev, $"conv2d backward-input {t} {g}", b =>
                {
                    var dx = Put(b, t, Rand(x.Length, 11)); // overwritten
                    b.Conv2dBackwardInput(g, Put(b, t, dy), Put(b, t, w), dx);
                    return ReadD(b, dx);
                }, tol);
                Same(dev, $"conv2d backward-weight {t} {g}", b =>
                {
                    var dw = Put(b, t, Rand(w.Length, 12)); // overwritten
                    b.Conv2dBackwardWeight(g, Put(b, t, x), Put(b, t, dy), dw);
                    return ReadD(b, dw);
                }, tol);
            }
    }

    public static void Elementwise(IBackend dev)
    {
        foreach (var t in Floats)
        {
            var x = Rand(1000, 20, -3, 3);
            var pos = Rand(1000, 21, 0.1, 4);
            foreach (var op in Enum.GetValues<UnaryOp>())
            {
                var input = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Pow ? pos : x;
                Same(dev, $"unary {op} {t}", b =>
                {
                    var y = Alloc(b, t, input.Length);
                    b.Unary(op, Put(b, t, input), y, input.Length, 0.5, 1.5);
                    return ReadD(b, y);
                }, t == DType.F32 ? 1e-5 : 1e-13);
            }
            // y may alias x
            Same(dev, $"unary in place {t}", b =>
            {
                var y = Put(b, t, x);
                b.Unary(UnaryOp.Tanh, y, y, x.Length);
                return ReadD(b, y);
            }, t == DType.F32 ? 1e-5 : 1e-13);
            // select: mask values 1, 0, −0 (false), NaN (true), 0.5 (true); the unselected side holds ±inf and NaN.
            double[] special = [double.PositiveInfinity, double.NegativeInfinity, double.NaN];
            var mask = Enumerable.Range(0, 1000).Select(i => (i % 7) switch { 0 => 0.0, 1 => -0.0, 2 => double.NaN, 3 => 0.5, 4 => 0.0, _ => 1.0 }).ToArray();
            var sa = x.Select((v, i) => i % 5 == 0 ? special[i % 3] : v).ToArray();
            var sb = pos.Select((v, i) => i % 3 == 0 ? special[(i + 1) % 3] : v).ToArray();
            Same(dev, $"select {t}", b =>
            {
                var y = Alloc(b, t, mask.Length);
                b.Select(Put(b, t, mask), Put(b, t, sa), Put(b, t, sb), y, mask.Length);
                return ReadD(b, y);
            }, 0);
            // y may alias an input
            Same(dev, $"select in place {t}", b =>
            {
                var y = Put(b, t, sb);
                b.Select(Put(b, t, mask), Put(b, t, sa), y, y, mask.Length);
                return ReadD(b, y);
            }, 0);
            int[] shape = [4, 3, 5, 6];
            var a = Rand(4 * 3 * 5 * 6, 22, -2, 2);
            var bc = Rand(3 * 6, 23, -2, 2); // [1, 3, 1, 6]
            long[] aStrides = Shape.Strides(shape), bStrides = Shape.BroadcastStrides([1, 3, 1, 6], shape);
            foreach (var op in Enum.GetValues<BinaryOp>())
                Same(dev, $"binary {op} {t}", b =>
                {
                    var y = Alloc(b, t, a.Length);
                    b.Binary(op, Put(b, t, a), aStrides, Put(b, t, bc), bStrides, y, shape);
                    return ReadD(b, y);
                }, Tol(t));
            // y may alias the non-broadcast input
            Same(dev, $"binary in place {t}", b =>
            {
                var y = Put(b, t, a);
                b.Binary(BinaryOp.Mul, y, aStrides, Put(b, t, bc), bStrides, y, shape);
                return ReadD(b, y);
            }, Tol(t));
        }
    }

    public static void Reductions(IBackend dev)
    {
        foreach (var t in Floats)
        {
            foreach (var (outer, reduce, inner) in new[] { (7, 300, 1), (5, 33, 9), (1, 5000, 1), (3, 1, 4), (2, 70001, 1), (1, 40000, 1) })
            {
                var x = Rand(outer * reduce * inner, 30 + reduce);
                foreach (var op in Enum.GetValues<ReduceOp>())
                    Same(dev, $"reduce {op} {t} [{outer},{reduce},{inner}]", b =>
                    {
                        var y = Alloc(b, t, outer * inner);
                        b.Reduce(op, Put(b, t, x), outer, reduce, inner, y);
                        return ReadD(b, y);
                    }, t == DType.F32 ? 1e-5 : 1e-12);
                Same(dev, $"argmax {t} [{outer},{reduce},{inner}]", b =>
                {
                    var idx = Alloc(b, DType.I32, outer * inner);
                    b.ArgMax(Put(b, t, x), outer, reduce, inner, idx);
                    return ReadD(b, idx);
                }, 0);
            }
            var s = Rand(13 * 700, 40, -10, 10);
            foreach (bool log in new[] { false, true })
                Same(dev, $"softmax log={log} {t}", b =>
                {
                    var y = Alloc(b, t, s.Length);
                    b.Softmax(Put(b, t, s), 13, 700, y, log);
                    return ReadD(b, y);
                }, t == DType.F32 ? 1e-5 : 1e-12);
        }
    }

    public static void Pooling(IBackend dev)
    {
        Pool2dGeometry[] geometries = [new(2, 3, 9, 8, 3, 3, 2, 2, 1, 1), new(2, 2, 8, 8, 2, 2, 2, 2, 0, 0), new(1, 2, 7, 5, 3, 2, 1, 1, 1, 0)];
        foreach (var t in Floats)
            foreach (var g in geometries)
            {
                var x = Rand((int)Shape.Numel(g.InputShape), 50);
                var dy = Rand((int)Shape.Numel(g.OutputShape), 51);
                Same(dev, $"avgpool forward {t} {g}", b =>
                {
                    var y = Alloc(b, t, dy.Length);
                    b.AvgPool2dForward(g, Put(b, t, x), y);
                    return ReadD(b, y);
                }, Tol(t));
                Same(dev, $"avgpool backward {t} {g}", b =>
                {
                    var dx = Put(b, t, Rand(x.Length, 52));
                    b.AvgPool2dBackward(g, Put(b, t, dy), dx);
                    return ReadD(b, dx);
                }, Tol(t));
                Same(dev, $"maxpool forward {t} {g}", b =>
                {
                    var y = Alloc(b, t, dy.Length);
                    var idx = Alloc(b, DType.I32, dy.Length);
                    b.MaxPool2dForward(g, Put(b, t, x), y, idx);
                    return [.. ReadD(b, y), .. ReadD(b, idx)];
                }, 0);
            }
    }

    public static void Indexing(IBackend dev)
    {
        foreach (var t in Floats)
        {
            var x = Rand(300, 60);
            var idx = Enumerable.Range(0, 500).Select(i => (double)((i * 37) % 300)).ToArray(); // repeats
            Same(dev, $"gather flat {t}", b =>
            {
                var y = Alloc(b, t, 500);
                b.GatherFlat(Put(b, t, x), Put(b, DType.I32, idx), 500, y);
                return ReadD(b, y);
            }, 0);
            var src = Rand(500, 61);
            Same(dev, $"scatter-add flat {t}", b =>
            {
                var y = Put(b, t, x);
                b.ScatterAddFlat(Put(b, t, src), Put(b, DType.I32, idx), 500, y);
                return ReadD(b, y);
            }, t == DType.F32 ? 1e-5 : 1e-13);
            var rowsIdx = new double[] { 3, 0, 3, 7, 1 };
            var table = Rand(8 * 6, 62);
            Same(dev, $"gather rows {t}", b =>
            {
                var y = Alloc(b, t, 5 * 6);
                b.GatherRows(Put(b, t, table), 6, Put(b, DType.I32, rowsIdx), 5, y);
                return ReadD(b, y);
            }, 0);
            var rowsSrc = Rand(5 * 6, 63);
            Same(dev, $"scatter-add rows {t}", b =>
            {
                var y = Put(b, t, table);
                b.ScatterAddRows(Put(b, t, rowsSrc), 6, Put(b, DType.I32, rowsIdx), 5, y);
                return ReadD(b, y);
            }, t == DType.F32 ? 1e-5 : 1e-13);
        }
        var bytes = Enumerable.Range(0, 8 * 6).Select(i => (double)(i * 5 % 256)).ToArray();
        Same(dev, "gather rows u8", b =>
        {
            var y = Alloc(b, DType.U8, 5 * 6);
            b.GatherRows(Put(b, DType.U8, bytes), 6, Put(b, DType.I32, [3, 0, 3, 7, 1]), 5, y);
            return ReadD(b, y);
        }, 0);
    }

    public static void Layout(IBackend dev)
    {
        foreach (var t in new[] { DType.F32, DType.F64, DType.I32, DType.U8 })
        {
            var x = Enumerable.Range(0, 2 * 3 * 4 * 5).Select(i => (double)(i % 200)).ToArray();
            foreach (var perm in new[] { new[] { 0, 2, 1, 3 }, [3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 3, 2] })
                Same(dev, $"permute {t} {string.Join(",", perm)}", b =>
                {
                    var y = Alloc(b, t, x.Length);
                    b.Permute(Put(b, t, x), [2, 3, 4, 5], perm, y);
                    return ReadD(b, y);
                }, 0);
            var x6 = Enumerable.Range(0, 2 * 3 * 2 * 2 * 3 * 2).Select(i => (double)(i % 100)).ToArray();
            Same(dev, $"permute rank 6 {t}", b =>
            {
                var y = Alloc(b, t, x6.Length);
                b.Permute(Put(b, t, x6), [2, 3, 2, 2, 3, 2], [5, 1, 3, 0, 4, 2], y);
                return ReadD(b, y);
            }, 0);
            Same(dev, $"transpose 2-D {t}", b =>
            {
                var y = Alloc(b, t, x.Length);
                b.Permute(Put(b, t, x), [12, 10], [1, 0], y);
                return ReadD(b, y);
            }, 0);
            Same(dev, $"copy blocks {t}", b =>
            {
                var y = Put(b, t, new double[100]);
                b.CopyBlocks(Put(b, t, x), 3, 10, y, 1, 12, 7, 6);
                return ReadD(b, y);
            }, 0);
            Same(dev, $"fill {t}", b =>
            {
                var y = Put(b, t, new double[50]);
                b.Fill(y, 5, 40, 7);
                return ReadD(b, y);
            }, 0);
            foreach (var to in new[] { DType.F32, DType.F64, DType.I32, DType.U8 })
            {
                var v = t.IsFloat() && to == DType.U8 ? x.Select(q => q + 0.75).ToArray() : x.Select(q => t.IsFloat() ? q - 60.25 : q).ToArray();
                if (to == DType.U8 || t == DType.U8) v = v.Select(q => Math.Abs(q) % 250).ToArray();
                Same(dev, $"cast {t}→{to}", b =>
                {
                    var y = Alloc(b, to, v.Length);
                    b.Cast(Put(b, t, v), y, v.Length);
                    return ReadD(b, y);
                }, 0);
            }
        }
    }

    /// <summary>Values every cast must map like the CPU backend: NaN, ±∞, beyond every integer range, fractions of both signs.</summary>
    public static readonly double[] CastEdgeValues =
    [
        double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e10, -1e10, 3e38, -3e38, 2147483647.0, 2147483648.0,
        -2147483648.0, -2147483649.0, 255, 255.5, 256, 300, -0.7, -1, -300, 0.7, 1.5, 254.99, -0.0,
    ];

    /// <summary>Casts of <see cref="CastEdgeValues"/> from f32 and f64 to every dtype, and of out-of-range ints to u8.</summary>
    public static void CastsSaturate(IBackend dev)
    {
        foreach (var from in Floats)
            foreach (var to in new[] { DType.F32, DType.F64, DType.I32, DType.U8 })
                Same(dev, $"cast {from}→{to} (edge values)", b =>
                {
                    var y = Alloc(b, to, CastEdgeValues.Length);
                    b.Cast(Put(b, from, CastEdgeValues), y, CastEdgeValues.Length);
                    return ReadD(b, y);
                }, 0);
        double[] ints = [int.MinValue, -300, -1, 0, 1, 254, 255, 256, 300, int.MaxValue];
        Same(dev, "cast i32→u8 (out of range)", b =>
        {
            var y = Alloc(b, DType.U8, ints.Length);
            b.Cast(Put(b, DType.I32, ints), y, ints.Length);
            return ReadD(b, y);
        }, 0);
    }

    public static void Optimizers(IBackend dev)
    {
        foreach (var t in Floats)
        {
            var p = Rand(777, 70);
            var g = Rand(777, 71);
            var m = Rand(777, 72);
            var v = Rand(777, 73, 0, 1);
            foreach (var args in new[]
            {
                new SgdStepArgs(0.1, 0.9, 0.1, 1e-4, true, false),
                new SgdStepArgs(0.1, 0.9, 0, 0, false, true),
                new SgdStepArgs(0.05, 0, 0, 1e-3, false, false),
            })
                Same(dev, $"sgd {t} {args}", b =>
                {
                    var P = Put(b, t, p);
                    var M = args.Momentum != 0 ? Put(b, t, m) : null;
                    b.SgdStep(P, Put(b, t, g), M, p.Length, args);
                    return M is null ? ReadD(b, P) : [.. ReadD(b, P), .. ReadD(b, M)];
                }, Tol(t));
            var adam = new AdamWStepArgs(1e-3, 0.9, 0.999, 1e-8, 0.01, 7);
            Same(dev, $"adamw {t}", b =>
            {
                var P = Put(b, t, p);
                var M = Put(b, t, m);
                var V = Put(b, t, v);
                b.AdamWStep(P, Put(b, t, g), M, V, p.Length, adam);
                return [.. ReadD(b, P), .. ReadD(b, M), .. ReadD(b, V)];
            }, Tol(t));
        }
    }
}
