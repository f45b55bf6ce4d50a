namespace RawDistill.Cli.Bench;

using RawDistill.Backends;
using RawDistill.Diagnostics.Profiling;
using RawDistill.Tensors;

/// <summary>One timed kernel at one block size.</summary>
/// <param name="Kernel">What ran.</param>
/// <param name="Shape">Its sizes.</param>
/// <param name="Block">Threads per block of the launchers' own kernels (null: the default, or not applicable).</param>
/// <param name="MedianMs">Median over the repetitions (each after an L2 flush on a GPU); null when the row failed before it was timed.</param>
/// <param name="GBs">Achieved GB/s (10⁹ B/s) of the minimum traffic, for memory-bound kernels (null when the time read 0).</param>
/// <param name="Tflops">Achieved TFLOP/s, for compute-bound kernels (null when the time read 0).</param>
/// <param name="PercentOfPeak">Of the device's peak bandwidth or FP32/FP64 rate; null = peak unknown.</param>
/// <param name="Validation">"ok, max |diff| …" against the CPU backend, why it was skipped, or "VALIDATION FAILED: …" / "FAILED: …".</param>
/// <param name="Failed">The output disagreed with the CPU backend or the kernel threw: the row is not timed.</param>
public sealed record KernelRow(string Kernel, string Shape, int? Block, double? MedianMs, double? GBs, double? Tflops, double? PercentOfPeak, string Validation,
    bool Failed = false);

/// <summary>The kernel's output differs from the CPU backend's beyond the tolerance.</summary>
public sealed class KernelValidationException(string message) : Exception(message);

/// <summary>
/// llm.c's dev/cuda habit for our backends: for each representative kernel, run it on the CPU
/// backend (the reference), then on the device at every block size the launcher accepts,
/// comparing outputs each time, then time it with the device timer (CUDA events) after
/// flushing L2, and report GB/s or TFLOP/s against the device's peak. A mismatch (or a
/// kernel that throws) marks that row failed, untimed, and the run goes on: one scarce GPU
/// session still measures everything else.
/// The CPU backend runs the same cases without validation (it is the reference), block sweep
/// or L2 flush.
/// </summary>
public static class KernelBench
{
    /// <summary>One benchmark case: sizes, work, tolerance, and how to set it up on a backend.</summary>
    /// <param name="Kernel">Name printed.</param>
    /// <param name="Shape">Sizes printed.</param>
    /// <param name="Bytes">Minimum DRAM traffic of one run (memory-bound cases), else 0.</param>
    /// <param name="Flops">Floating-point operations of one run (compute-bound cases), else 0.</param>
    /// <param name="Fp64">Compare against the FP64 peak rather than FP32.</param>
    /// <param name="Sweep">Whether the launchers' block size affects it (own kernels rather than cuBLAS alone).</param>
    /// <param name="Atol">Absolute tolerance.</param>
    /// <param name="Rtol">Relative tolerance (|got − want| ≤ atol + rtol·|want|).</param>
    /// <param name="Setup">Uploads the inputs to a backend; returns the work and a read-back of its output.</param>
    public sealed record Case(string Kernel, string Shape, double Bytes, double Flops, bool Fp64, bool Sweep, double Atol, double Rtol,
        Func<IBackend, (Action Run, Func<double[]> Output)> Setup);

    /// <summary>The representative set; <paramref name="quick"/> shrinks every size (harness checks, the emulator).</summary>
    public static List<Case> Cases(bool quick)
    {
        int n = quick ? 1 << 12 : 1 << 24;
        int rows = quick ? 64 : 4096, cols = quick ? 64 : 4096;
        int gemm = quick ? 64 : 2048;
        int chol = quick ? 96 : 1024;
        (int batch, int c, int hw, int k) conv = quick ? (2, 8, 8, 16) : (64, 128, 16, 256);
        var rng = new System.Random(12345);
        float[] U(long count, double lo = -1, double hi = 1)
        {
            var a = new float[count];
            for (long i = 0; i < count; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
            return a;
        }
        static double[] D(float[] f) => Array.ConvertAll(f, v => (double)v);

        var list = new List<Case>();
        {
            var a = U(n);
            var b = U(n);
            list.Add(new Case("add (elementwise)", $"n={n}", 12.0 * n, 0, false, true, 0, 0, be =>
            {
                var ta = Tensor.From<float>(a, [n], be);
                var tb = Tensor.From<float>(b, [n], be);
                var ty = Tensor.Empty([n], DType.F32, be);
                return (() => be.Binary(BinaryOp.Add, ta.Storage, [1], tb.Storage, [1], ty.Storage, [n]), () => D(ty.ToArray<float>()));
            }));
            list.Add(new Case("exp (elementwise)", $"n={n}", 8.0 * n, 0, false, true, 1e-6, 1e-6, be =>
            {
                var ta = Tensor.From<float>(a, [n], be);
                var ty = Tensor.Empty([n], DType.F32, be);
                return (() => be.Unary(UnaryOp.Exp, ta.Storage, ty.Storage, n), () => D(ty.ToArray<float>()));
            }));
        }
        {
            var x = U((long)rows * cols);
            list.Add(new Case("row sum (reduction)", $"{rows}x{cols}", 4.0 * rows * cols, 0, false, true, 1e-3, 1e-4, be =>
            {
                var tx = Tensor.From<float>(x, [rows, cols], be);
                var ty = Tensor.Empty([rows], DType.F32, be);
                return (() => be.Reduce(ReduceOp.Sum, tx.Storage, rows, cols, 1, ty.Storage), () => D(ty.ToArray<float>()));
            }));
            list.Add(new Case("softmax (rows)", $"{rows}x{cols}", 8.0 * rows * cols, 0, false, true, 1e-6, 1e-4, be =>
            {
                var tx = Tensor.From<float>(x, [rows, cols], be);
                var ty = Tensor.Empty([rows, cols], DType.F32, be);
                return (() => be.Softmax(tx.Storage, rows, cols, ty.Storage, false), () => D(ty.ToArray<float>()));
            }));
        }
        {
            var g = new Conv2dGeometry(conv.batch, conv.c, conv.hw, conv.hw, conv.k, 3, 3, 1, 1, 1, 1, 1);
            var x = U(Shape.Numel(g.InputShape));
            var w = U(Shape.Numel(g.WeightShape), -0.1, 0.1);
            var bias = U(conv.k, -0.1, 0.1);
            double flops = 2.0 * conv.batch * conv.k * g.P * g.Q * conv.c * 9;
            list.Add(new Case("conv2d forward (im2col + GEMM)", $"{conv.batch}x{conv.c}x{conv.hw}x{conv.hw} -> {conv.k}, 3x3", 0, flops, false, true, 1e-4, 1e-4, be =>
            {
                var tx = Tensor.From<float>(x, g.InputShape, be);
                var tw = Tensor.From<float>(w, g.WeightShape, be);
                var tb = Tensor.From<float>(bias, [conv.k], be);
                var ty = Tensor.Empty(g.OutputShape, DType.F32, be);
                return (() => be.Conv2dForward(g, tx.Storage, tw.Storage, tb.Storage, ty.Storage), () => D(ty.ToArray<float>()));
            }));
        }
        {
            var a = U((long)gemm * gemm);
            var b = U((long)gemm * gemm);
            list.Add(new Case("sgemm (cuBLAS on CUDA)", $"{gemm}x{gemm}x{gemm}", 0, 2.0 * gemm * gemm * gemm, false, false, 1e-3, 1e-4, be =>
            {
                var ta = Tensor.From<float>(a, [gemm, gemm], be);
                var tb = Tensor.From<float>(b, [gemm, gemm], be);
                var tc = Tensor.Empty([gemm, gemm], DType.F32, be);
                var args = new GemmArgs(false, false, gemm, gemm, gemm, 1, 0, gemm, 0, gemm, 0, 0, gemm);
                return (() => be.Gemm(args, ta.Storage, tb.Storage, tc.Storage), () => D(tc.ToArray<float>()));
            }));
        }
        {
            // A = G·Gᵀ/n + I: symmetric positive definite, well conditioned.
            var gm = new double[(long)chol * chol];
            for (long i = 0; i < gm.Length; i++) gm[i] = rng.NextDouble() * 2 - 1;
            var spd = new double[gm.Length];
            System.Threading.Tasks.Parallel.For(0, chol, i =>
            {
                for (int j = 0; j < chol; j++)
                {
                    double s = 0;
                    for (int k = 0; k < chol; k++) s += gm[(long)i * chol + k] * gm[(long)j * chol + k];
                    spd[(long)i * chol + j] = s / chol + (i == j ? 1 : 0);
                }
            });
            list.Add(new Case("cholesky f64 (blocked)", $"n={chol}", 0, (double)chol * chol * chol / 3, true, true, 1e-10, 1e-10, be =>
            {
                var ta = Tensor.From<double>(spd, [chol, chol], be);
                var tl = Tensor.Empty([chol, chol], DType.F64, be);
                return (() =>
                {
                    int info = be.Cholesky(ta.Storage, chol, tl.Storage);
                    if (info >= 0) throw new KernelValidationException($"cholesky: pivot {info} failed on a positive definite matrix");
                }, () => tl.ToArray<double>());
            }));
        }
        list.Add(new Case("philox uniform f32", $"n={n}", 4.0 * n, 0, false, true, 0, 0, be =>
        {
            var ty = Tensor.Empty([n], DType.F32, be);
            return (() => be.Random(RandomDistribution.Uniform, ty.Storage, n, 2024, 0), () => D(ty.ToArray<float>()));
        }));
        return list;
    }

    /// <summary>
    /// Runs every case on <paramref name="backend"/>. With a <paramref name="reference"/> each
    /// output is first compared with the reference's; with an <see cref="IProfilingBackend"/>
    /// every sweepable case runs at each of its block sizes (each validated) and L2 is flushed
    /// before each repetition. A row whose output disagrees (or whose kernel throws) is returned
    /// with <see cref="KernelRow.Failed"/> set and no time, and the next block size or case runs.
    /// </summary>
    public static List<KernelRow> Run(IBackend backend, IBackend? reference, IReadOnlyList<Case> cases, int reps, TextWriter? log = null)
    {
        var prof = backend as IProfilingBackend;
        var peak = prof?.Peak;
        var rows = new List<KernelRow>();
        using var timer = DeviceTiming.CreateTimer(backend);
        foreach (var c in cases)
        {
            using var scope = TensorScope.Begin();
            double[]? want = null;
            if (reference != null)
            {
                using var rs = TensorScope.Begin();
                var (run, output) = c.Setup(reference);
                run();
                want = output();
            }
            (Action Run, Func<double[]> Output) setup;
            try { setup = c.Setup(backend); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                rows.Add(Logged(log, Failure(c, null, e)));
                continue;
            }
            var (work, read) = setup;
            IEnumerable<int?> blocks = prof != null && c.Sweep ? prof.BlockSizes.Select(b => (int?)b) : [null];
            try
            {
                foreach (var block in blocks)
                {
                    KernelRow row;
                    try { row = Measure(c, block, work, read, want, reps, prof, timer, peak); }
                    catch (Exception e) when (e is not OutOfMemoryException) { row = Failure(c, block, e); }
                    rows.Add(Logged(log, row));
                }
            }
            finally
            {
                if (prof != null) prof.BlockSizeOverride = null;
            }
        }
        return rows;
    }

    static KernelRow Measure(Case c, int? block, Action work, Func<double[]> read, double[]? want, int reps,
        IProfilingBackend? prof, IDeviceTimer timer, DevicePeak? peak)
    {
        if (prof != null) prof.BlockSizeOverride = block;
        string validation = "skipped (CPU backend: it is the reference)";
        if (want != null)
        {
            work();
            validation = Validate(c, block, want, read());
        }
        work(); // warm-up (kernel load, pool)
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            prof?.FlushL2();
            timer.Start();
            work();
            times[i] = timer.Stop();
        }
        double ms = StepBench.MedianOf(times);
        // A zero time (below the timer's resolution, or an emulator's events) has no throughput.
        double? gbs = c.Bytes > 0 && ms > 0 ? c.Bytes / (ms * 1e-3) / 1e9 : null;
        double? tflops = c.Flops > 0 && ms > 0 ? c.Flops / (ms * 1e-3) / 1e12 : null;
        double? peakFigure = gbs != null ? peak?.BandwidthGBs : c.Fp64 ? peak?.Fp64Tflops : peak?.Fp32Tflops;
        double? pct = (gbs ?? tflops) is { } achieved && peakFigure is { } p && p > 0 ? 100 * achieved / p : null;
        return new KernelRow(c.Kernel, c.Shape, block, ms, gbs, tflops, pct, validation);
    }

    /// <summary>A failed, untimed row: the validation message, or the exception that stopped the kernel.</summary>
    static KernelRow Failure(Case c, int? block, Exception e)
    {
        string message = e is KernelValidationException
            ? e.Message
            : $"FAILED: {c.Kernel} [{c.Shape}]{(block is { } b ? $" at block size {b}" : "")}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
        return new KernelRow(c.Kernel, c.Shape, block, null, null, null, null, message, Failed: true);
    }

    static KernelRow Logged(TextWriter? log, KernelRow row)
    {
        log?.WriteLine(Format(row));
        return row;
    }

    /// <summary>"ok, max |diff| …", or throws a <see cref="KernelValidationException"/> naming the kernel, block size and first bad element.</summary>
    public static string Validate(Case c, int? block, double[] want, double[] got)
    {
        string where = $"{c.Kernel} [{c.Shape}]{(block is { } b ? $" at block size {b}" : "")}";
        if (want.Length != got.Length) throw new KernelValidationException($"VALIDATION FAILED: {where}: {got.Length} outputs, the CPU backend gave {want.Length}");
        double maxDiff = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double d = Math.Abs(got[i] - want[i]);
            if (!(d <= c.Atol + c.Rtol * Math.Abs(want[i])))
                throw new KernelValidationException(
                    $"VALIDATION FAILED: {where}: element {i} is {got[i]:R}, the CPU backend gives {want[i]:R} (|diff| {d:G3} > {c.Atol:G3} + {c.Rtol:G3}·|want|)");
            maxDiff = Math.Max(maxDiff, d);
        }
        return $"ok, max |diff| {maxDiff:G3}";
    }

    /// <summary>The table header matching <see cref="Format"/>.</summary>
    public const string Header = "| kernel | shape | block | median ms | GB/s | TFLOP/s | % of peak | validation |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |";

    /// <summary>One Markdown table row.</summary>
    public static string Format(KernelRow r) =>
        $"| {r.Kernel} | {r.Shape} | {(r.Block?.ToString() ?? "default")} | {(r.MedianMs is { } ms ? ms.ToString("F3") : "-")} | {(r.GBs is { } g ? g.ToString("F1") : "-")} | " +
        $"{(r.Tflops is { } t ? t.ToString("F3") : "-")} | {(r.PercentOfPeak is { } p ? p.ToString("F1") + "%" : "peak unknown")} | {r.Validation} |";
}
