namespace RawDistill.Cli.Bench;

using System.Diagnostics;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Diagnostics;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>The shapes of an MKDT step benchmark: the student, its feature dimension, the synthetic set and the minibatch.</summary>
public sealed record MkdtStepShapes(string Name, int Channels, int Size, int Width, int Depth, int FeatureDim, int Images, int Batch)
{
    /// <summary>reference (MKDT's CIFAR student: ConvNet-128 ×3, instance norm, 32×32×3, Linear 2048→512, batch 256, m = 1000) | tiny (tests).</summary>
    public static MkdtStepShapes Get(string name) => name.ToLowerInvariant() switch
    {
        "reference" or "cifar10" or "cifar100" => new("reference", 3, 32, 128, 3, 512, 1000, 256),
        "tiny" => new("tiny", 1, 8, 4, 2, 3, 12, 4),
        _ => throw new CliException($"--config: mkdt-step expects reference (cifar10/cifar100) or tiny, got '{name}'"),
    };

    /// <summary>The student network (instance norm, avg-pool, conv bias, linear head to the feature dimension).</summary>
    public ConvNetConfig Student => new(new ImageShape(Channels, Size), Enumerable.Repeat(Width, Depth).ToArray(), ConvNorm.Instance, ConvPool.Avg, true, null, FeatureDim);
}

/// <summary>One measured piece of the MKDT step: wall time and the memory meter's figures (bytes above the start).</summary>
public sealed record MkdtStepRow(string Phase, double Ms, long PeakBytes, long HeldBytes, long PeakRssBytes, string Notes);

/// <summary>
/// MKDT's inner step at a given shape, measured for time and memory (<see cref="MemoryMeter"/>:
/// bytes of live tensor storages, peak since a reset). Three pieces:
/// <list type="number">
/// <item>one recorded inner step: the forward and the createGraph parameter gradient, θ' = θ − η·∇_θ L;
/// "held" is what its graph keeps alive afterwards (the memory one step of a full-tape unroll costs);</item>
/// <item>the vector-Jacobian product of that step to θ, X, Y and η (the reverse sweep's work per step);</item>
/// <item>a whole outer iteration: N rematerialized steps from θ, the matching loss and its gradient to X, Y, η.</item>
/// </list>
/// benchmarks/pytorch/mkdt_step.py does the same in PyTorch.
/// </summary>
public static class MkdtStepBench
{
    public static List<MkdtStepRow> Run(IBackend backend, MkdtStepShapes shapes, int reps, int unroll, TextWriter log)
    {
        var rng = new Generator(11);
        using var scope = TensorScope.Begin();
        using var net = new ConvNet(shapes.Student, rng);
        if (backend != Tensor.DefaultBackend) net.To(backend);
        var x = Tensor.Uniform([shapes.Images, shapes.Channels, shapes.Size, shapes.Size], -1, 1, rng, DType.F32, backend);
        var y = Tensor.Normal([shapes.Images, shapes.FeatureDim], 0, 1, rng, DType.F32, backend);
        var eta = Tensor.Scalar(0.1, DType.F32, backend);
        foreach (var t in new[] { x, y, eta }) t.RequiresGrad = true;
        var theta0 = net.FlattenParameters();
        var thetaT = Ops.Add(theta0, Tensor.Normal(theta0.Shape, 0, 1e-3, rng, DType.F32, backend));
        var meter = backend.Memory;
        var batches = Batches(shapes, Math.Max(1, unroll), new Generator(12), backend);

        Tensor StepLoss(Tensor th, Tensor[] d, int k) =>
            Ops.Mse(net.Forward(Ops.IndexSelect(d[0], batches[k]), net.UnflattenParameters(th)), Ops.IndexSelect(d[1], batches[k]));

        var rows = new List<MkdtStepRow>();
        // 1. One recorded step, graph kept (what a full-tape unroll pays per step).
        var recorded = Measure(backend, meter, reps, () =>
        {
            var th = Ops.Detach(theta0);
            th.RequiresGrad = true;
            var g = Autograd.Grad([StepLoss(th, [x, y], 0)], [th], createGraph: true)[0];
            return Ops.Sub(th, Ops.Mul(g, eta));
        }, out long held);
        rows.Add(new MkdtStepRow("recorded inner step (forward + createGraph ∇θ)", recorded.Ms, recorded.Peak, held, recorded.Rss, "held = bytes its graph keeps alive"));
        log.WriteLine($"  recorded inner step: {recorded.Ms:F0} ms, peak {MemoryMeter.Format(recorded.Peak)}, held {MemoryMeter.Format(held)}");

        // 2. The step and its vector-Jacobian product (the reverse sweep's work per step), graph freed after.
        var v = Tensor.Normal(theta0.Shape, 0, 1, rng, DType.F32, backend);
        var vjp = Measure(backend, meter, reps, () =>
        {
            var th = Ops.Detach(theta0);
            th.RequiresGrad = true;
            var g = Autograd.Grad([StepLoss(th, [x, y], 0)], [th], createGraph: true)[0];
            var next = Ops.Sub(th, Ops.Mul(g, eta));
            Autograd.Grad([next], [th, x, y, eta], [v]);
            return null;
        }, out _);
        rows.Add(new MkdtStepRow("recorded step + its VJP to θ, X, Y, η", vjp.Ms, vjp.Peak, 0, vjp.Rss, ""));
        log.WriteLine($"  step + VJP: {vjp.Ms:F0} ms, peak {MemoryMeter.Format(vjp.Peak)}");

        // 3. A whole outer iteration, rematerialized.
        if (unroll > 0)
        {
            var outer = Measure(backend, meter, 1, () =>
            {
                var thetaN = UnrolledSgd.Run(theta0, eta, unroll, StepLoss, [x, y]);
                var loss = Ops.Div(Ops.Sum(Ops.Square(Ops.Sub(thetaN, thetaT))), Ops.Sum(Ops.Square(Ops.Sub(theta0, thetaT))));
                Autograd.Grad([loss], [x, y, eta]);
                return null;
            }, out _);
            rows.Add(new MkdtStepRow($"outer iteration, N = {unroll}, rematerialized", outer.Ms, outer.Peak, 0, outer.Rss,
                $"θ snapshots: {unroll + 1} × {MemoryMeter.Format(theta0.Storage.Bytes)}"));
            log.WriteLine($"  outer iteration N = {unroll}: {outer.Ms / 1000:F1} s, peak {MemoryMeter.Format(outer.Peak)}");
        }
        return rows;
    }

    /// <summary>N minibatches of row indices (a fresh permutation of the synthetic set per pass, as MKDT draws them).</summary>
    static Tensor[] Batches(MkdtStepShapes shapes, int n, Generator rng, IBackend backend)
    {
        var result = new Tensor[n];
        var perm = rng.Permutation(shapes.Images);
        int pos = 0;
        for (int k = 0; k < n; k++)
        {
            if (pos + shapes.Batch > shapes.Images)
            {
                perm = rng.Permutation(shapes.Images);
                pos = 0;
            }
            result[k] = Tensor.From<int>(perm.AsSpan(pos, Math.Min(shapes.Batch, shapes.Images)), [Math.Min(shapes.Batch, shapes.Images)], backend);
            pos += shapes.Batch;
        }
        return result;
    }

    /// <summary>
    /// Median wall time of <paramref name="reps"/> runs (after one warm-up), the largest peak above
    /// the starting live bytes, the largest resident-set high-water mark above the resident set at
    /// the start (<see cref="ProcessMemory"/>), and the bytes the last run's result keeps alive.
    /// </summary>
    static (double Ms, long Peak, long Rss) Measure(IBackend backend, MemoryMeter meter, int reps, Func<Tensor?> run, out long held)
    {
        held = 0;
        var times = new double[reps];
        long peak = 0, rss = 0;
        for (int r = -1; r < reps; r++)
        {
            using var s = TensorScope.Begin();
            backend.Synchronize();
            long start = meter.LiveBytes;
            meter.ResetPeak();
            bool rssKnown = ProcessMemory.ResetPeak();
            long rssStart = ProcessMemory.ResidentBytes;
            var sw = Stopwatch.StartNew();
            run();
            backend.Synchronize();
            if (r < 0) continue;
            times[r] = sw.Elapsed.TotalMilliseconds;
            peak = Math.Max(peak, meter.PeakBytes - start);
            rss = rssKnown ? Math.Max(rss, ProcessMemory.PeakResidentBytes - rssStart) : -1;
            held = meter.LiveBytes - start;
        }
        return (StepBench.MedianOf(times), peak, rss);
    }
}
