namespace RawDistill.Methods.KrrSt;

using System.Globalization;
using System.Text.Json;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Data.Augment;
using RawDistill.Diagnostics.Profiling;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>One line of the distillation log.</summary>
/// <param name="Step">Outer steps done.</param>
/// <param name="Steps">Outer steps of the run.</param>
/// <param name="Loss">L of the last step.</param>
/// <param name="Lr">η of the last step (after the linear decay).</param>
/// <param name="Seconds">Wall seconds of distillation so far (across resumes).</param>
public readonly record struct KrrStProgress(int Step, int Steps, double Loss, double Lr, double Seconds);

/// <summary>A KRR-ST run stopped: NaN loss or a failed factorization. The last good checkpoint is kept.</summary>
public sealed class KrrStDivergedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A pool member: ConvNet feature extractor f with a linear head p → d (the
/// <c>classifier</c>), its own SGD, trained full-batch on MSE(head(f(norm(X_s))), Y_s).
/// </summary>
public sealed class KrrStPoolModel : IDisposable
{
    /// <summary>Builds a freshly initialized member on <paramref name="backend"/> (null = the default backend).</summary>
    public KrrStPoolModel(ConvNetConfig config, KrrStConfig krr, Generator rng, IBackend? backend = null)
    {
        Net = new ConvNet(config, rng);
        if (backend != null && backend != Tensor.DefaultBackend) Net.To(backend);
        Optimizer = new Sgd(Net.Parameters(), krr.PoolLr, momentum: krr.PoolMomentum, weightDecay: krr.PoolWeightDecay);
    }

    /// <summary>The network (embed + head).</summary>
    public ConvNet Net { get; }

    /// <summary>Its SGD.</summary>
    public Sgd Optimizer { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Optimizer.Dispose();
        Net.Dispose();
    }
}

/// <summary>
/// KRR-ST (design page krr-st.md): learns m synthetic images X_s (pixel space) and their
/// target representations Y_s so that kernel ridge regression on the features of a pool
/// model, fitted on (X_s, Y_s), predicts the teacher's representations Y_r of real images.
/// One <see cref="Step"/> is exactly the page's outer step:
/// <code>
/// f ← pool model (eval mode);  X_r ← B real images (crop+flip optional);  Y_r ← g(norm(X_r))
/// L ← KrrOuterLoss(embed_f(norm(X_s)), embed_f(norm(X_r)), Y_s, Y_r)
/// (∂L/∂X_s, ∂L/∂Y_s) → AdamW (wd 0, one η, linear decay to 1e-3·η);  pool update
/// </code>
/// X_s and X_r are normalized by the same statistics (the teacher's) unless
/// <see cref="KrrStConfig.RawSynthetic"/> asks for the reference's raw X_s.
/// State (X_s, Y_s, AdamW, every pool member, counters, RNG) saves to one checkpoint file and
/// resumes bit-exactly.
/// </summary>
public sealed class KrrStDistiller : IDisposable
{
    /// <summary>Value of the <c>format</c> metadata key of checkpoints.</summary>
    public const string CheckpointFormat = "rawdistill-krrst-checkpoint/1";

    /// <summary>Value of the <c>format</c> metadata key of distilled sets.</summary>
    public const string DistilledFormat = DistilledSet.Format;

    readonly ImageDataset _real;
    readonly Func<Tensor, Tensor> _teacher;
    readonly float[]? _cachedTargets;
    readonly Tensor _normScale, _normShift;
    readonly ConvNetConfig _netConfig;
    readonly Generator _initRoot;
    readonly ModelPool<KrrStPoolModel> _pool;
    readonly AdamW _adam;
    readonly AugmentRecipe? _augment;
    Generator _rng;
    Generator _augmentRng;

    /// <summary>
    /// Sets up a run: X_s ← m random real images, Y_s ← g(norm(X_s)), and a freshly
    /// initialized pool (each member trained t_i ~ U{1..T_max−1} steps).
    /// </summary>
    /// <param name="config">Hyperparameters.</param>
    /// <param name="real">The real images (already in the teacher's input geometry).</param>
    /// <param name="normalization">The statistics every network input is normalized with.</param>
    /// <param name="teacher">g: a normalized batch N×C×H×W → N×d representations (no gradient needed).</param>
    /// <param name="teacherDim">d.</param>
    /// <param name="teacherHash">SHA-256 of the teacher file (recorded in outputs).</param>
    /// <param name="backend">Where tensors live.</param>
    /// <param name="progress">Called after each pool member's initial training (member, t_i).</param>
    /// <param name="teacherTargets">g(norm(x)) of every real image, N × d, when the caller has them
    /// (<see cref="Common.TeacherTargets"/>); null = computed here. Unused with augmentation.</param>
    /// <param name="initialPoolSteps">
    /// Train every initial member exactly this many steps instead of t_i ~ U{1..T_max−1}
    /// (benchmarks, where the pool's history does not matter but its cost does); null = the method's draw.
    /// </param>
    public KrrStDistiller(KrrStConfig config, ImageDataset real, NormalizationStats normalization, Func<Tensor, Tensor> teacher, int teacherDim,
        string teacherHash, IBackend? backend = null, Action<int, int>? progress = null, int? initialPoolSteps = null, float[]? teacherTargets = null)
        : this(config, real, normalization, teacher, teacherDim, teacherHash, backend, teacherTargets)
    {
        var idx = _rng.Permutation(real.Count)[..config.SyntheticCount];
        Array.Sort(idx);
        InitialIndices = idx;
        using (var scope = TensorScope.Begin())
        using (GradMode.NoGrad())
        {
            XSyn.CopyFrom(real.Batch(idx, Backend));
            YSyn.CopyFrom(Targets(idx, XSyn));
        }
        _pool.Initialize(_rng, progress, initialPoolSteps);
    }

    KrrStDistiller(KrrStConfig config, ImageDataset real, NormalizationStats normalization, Func<Tensor, Tensor> teacher, int teacherDim,
        string teacherHash, IBackend? backend, float[]? teacherTargets)
    {
        config.Validate();
        if (config.SyntheticCount > real.Count) throw new ArgumentException($"m = {config.SyntheticCount} is more than the {real.Count} real images");
        if (config.RealBatch > real.Count) throw new ArgumentException($"B = {config.RealBatch} is more than the {real.Count} real images");
        if (real.Height != real.Width) throw new ArgumentException($"the real images are {real.Height}×{real.Width}; the ConvNet takes square images");
        if (normalization.Channels != real.Channels) throw new ArgumentException($"normalization has {normalization.Channels} channels, the images {real.Channels}");
        Config = config;
        _real = real;
        _teacher = teacher;
        Normalization = normalization;
        TeacherDim = teacherDim;
        TeacherHash = teacherHash;
        Backend = backend ?? Tensor.DefaultBackend;
        var norm = config.Norm switch { "batch" => ConvNorm.Batch, "instance" => ConvNorm.Instance, _ => ConvNorm.None };
        _netConfig = new ConvNetConfig(new ImageShape(real.Channels, real.Height), config.Widths, norm, ConvPool.Avg, true, null, teacherDim);
        var root = new Generator(config.Seed);
        _initRoot = root.Fork(1);
        _rng = root.Fork(2);
        _augmentRng = root.Fork(3);
        _augment = config.Augment ? AugmentPresets.CropFlip(4) : null;

        int c = real.Channels;
        var scale = new float[c];
        var shift = new float[c];
        for (int i = 0; i < c; i++)
        {
            scale[i] = (float)(1 / normalization.Std[i]);
            shift[i] = (float)(-normalization.Mean[i] / normalization.Std[i]);
        }
        using (var scope = TensorScope.Begin())
        {
            _normScale = Tensor.From<float>(scale, [1, c, 1, 1], Backend).Keep();
            _normShift = Tensor.From<float>(shift, [1, c, 1, 1], Backend).Keep();
            XSyn = Tensor.Zeros([config.SyntheticCount, c, real.Height, real.Width], DType.F32, Backend).Keep();
            YSyn = Tensor.Zeros([config.SyntheticCount, teacherDim], DType.F32, Backend).Keep();
        }
        XSyn.RequiresGrad = true;
        YSyn.RequiresGrad = true;
        _adam = new AdamW([XSyn, YSyn], config.Lr, eps: config.AdamEps, weightDecay: 0)
        {
            Schedule = LrSchedule.Linear(1, config.LrFinalFactor, config.Steps),
        };
        _pool = new ModelPool<KrrStPoolModel>(config.PoolSize, config.MaxSteps, config.PoolReset,
            k => new KrrStPoolModel(_netConfig, config, _initRoot.Fork((ulong)k), Backend), TrainPoolModel);
        if (!config.Augment && teacherTargets != null)
        {
            if (teacherTargets.Length != (long)real.Count * teacherDim)
                throw new ArgumentException($"{teacherTargets.Length} teacher target values for {real.Count} images × {teacherDim}");
            _cachedTargets = teacherTargets;
        }
        else if (!config.Augment)
        {
            // Without augmentation g(norm(X_r)) never changes: compute it once for every real image.
            _cachedTargets = new float[(long)real.Count * teacherDim];
            var all = new int[Math.Min(256, real.Count)];
            for (int start = 0; start < real.Count; start += all.Length)
            {
                int b = Math.Min(all.Length, real.Count - start);
                for (int i = 0; i < b; i++) all[i] = start + i;
                using var scope = TensorScope.Begin();
                using var _ = GradMode.NoGrad();
                var y = Targets(null, real.Batch(all.AsSpan(0, b), Backend));
                y.ToArray<float>().CopyTo(_cachedTargets.AsSpan(start * teacherDim, b * teacherDim));
            }
        }
    }

    /// <summary>The hyperparameters.</summary>
    public KrrStConfig Config { get; }

    /// <summary>Input normalization (shared by X_s, X_r and the teacher).</summary>
    public NormalizationStats Normalization { get; }

    /// <summary>d.</summary>
    public int TeacherDim { get; }

    /// <summary>SHA-256 of the teacher file.</summary>
    public string TeacherHash { get; }

    /// <summary>Backend of every tensor.</summary>
    public IBackend Backend { get; }

    /// <summary>X_s, m×C×H×W in pixel space (a leaf).</summary>
    public Tensor XSyn { get; }

    /// <summary>Y_s, m×d (a leaf).</summary>
    public Tensor YSyn { get; }

    /// <summary>Indices of the real images X_s started from.</summary>
    public int[] InitialIndices { get; private set; } = [];

    /// <summary>Outer steps done.</summary>
    public int StepsDone { get; private set; }

    /// <summary>
    /// Receives the phases of every <see cref="Step"/> (data, teacher forward, feature forward,
    /// gram, solve, backward, optimizer, pool update) when set; null (the default) costs nothing.
    /// </summary>
    public IPhaseTimer? Phases { get; set; }

    /// <summary>The model pool.</summary>
    public ModelPool<KrrStPoolModel> Pool => _pool;

    /// <summary>The ConvNet configuration of pool members (with the d-dim head).</summary>
    public ConvNetConfig NetConfig => _netConfig;

    /// <summary>The current learning rate (of the next step).</summary>
    public double NextLr => Config.Lr * LrSchedule.Linear(1, Config.LrFinalFactor, Config.Steps).Factor(StepsDone);

    /// <summary>(x − mean)/std, differentiable in x.</summary>
    public Tensor Normalize(Tensor x) => Ops.Add(Ops.Mul(x, _normScale), _normShift);

    Tensor SyntheticInput(Tensor xs) => Config.RawSynthetic ? xs : Normalize(xs);

    // g(norm(X)) from cached rows (when given indices and cached) or by running the teacher.
    Tensor Targets(int[]? indices, Tensor xPixels)
    {
        if (indices != null && _cachedTargets != null)
        {
            int d = TeacherDim;
            var rows = new float[indices.Length * d];
            for (int i = 0; i < indices.Length; i++) _cachedTargets.AsSpan(indices[i] * d, d).CopyTo(rows.AsSpan(i * d, d));
            return Tensor.From<float>(rows, [indices.Length, d], Backend);
        }
        using var _ = GradMode.NoGrad();
        var y = _teacher(Normalize(xPixels));
        if (y.Rank != 2 || y.Shape[0] != xPixels.Shape[0] || y.Shape[1] != TeacherDim)
            throw new InvalidOperationException($"teacher returned {y.Describe()}, expected [{xPixels.Shape[0]}, {TeacherDim}]");
        return y;
    }

    void TrainPoolModel(KrrStPoolModel member)
    {
        using var scope = TensorScope.Begin();
        member.Net.Train();
        var x = SyntheticInput(XSyn.Detach());
        var loss = Ops.Mse(member.Net.Forward(x), YSyn.Detach());
        var ps = member.Net.Parameters().ToArray();
        var grads = Autograd.Grad([loss], ps);
        member.Optimizer.Step(grads);
    }

    /// <summary>The outer loss and its gradients for the current state and a given pool member and real batch (no update).</summary>
    public (double Loss, Tensor GradX, Tensor GradY) LossAndGradients(int member, Tensor xReal, Tensor yReal)
    {
        var net = _pool[member].Net;
        net.Eval();
        Tensor fr, fs;
        using (PhaseScope.Begin(Phases, "feature forward"))
        {
            using (GradMode.NoGrad()) fr = net.Embed(Normalize(xReal));
            fs = net.Embed(SyntheticInput(XSyn));
        }
        var loss = KrrOuterLoss.Compute(fs, fr, YSyn, yReal, Config.RidgeScale, Phases);
        double l = loss.Item();
        if (!double.IsFinite(l)) return (l, XSyn, YSyn);
        Tensor[] g;
        using (PhaseScope.Begin(Phases, "backward")) g = Autograd.Grad([loss], [XSyn, YSyn]);
        return (l, g[0], g[1]);
    }

    /// <summary>One outer step (krr-st.md); returns (L, η used).</summary>
    /// <exception cref="KrrStDivergedException">NaN/∞ loss or a failed Cholesky factorization; the state is not updated.</exception>
    public (double Loss, double Lr) Step()
    {
        int step = StepsDone + 1;
        int member = _pool.Pick(_rng);
        var idx = _rng.Permutation(_real.Count)[..Config.RealBatch];
        double loss;
        using (var scope = TensorScope.Begin())
        {
            Tensor xr, yr;
            using (PhaseScope.Begin(Phases, "data"))
            {
                xr = _real.Batch(idx, Backend);
                if (_augment != null) xr = _augment.Apply(xr, _augmentRng);
            }
            using (PhaseScope.Begin(Phases, "teacher forward")) yr = Targets(_augment == null ? idx : null, xr);
            Tensor gx, gy;
            try
            {
                (loss, gx, gy) = LossAndGradients(member, xr, yr);
            }
            catch (CholeskyException e)
            {
                throw new KrrStDivergedException(
                    $"step {step}: the Cholesky factorization of K_ss + λI failed ({e.Message}). The run stops here. " +
                    $"Remedy: a larger ridge (--ridge, now {Config.RidgeScale:G3}·tr(K_ss)) or a smaller learning rate (--lr, now {Config.Lr:G3}); " +
                    "resume from the last checkpoint with --resume.", e);
            }
            if (!double.IsFinite(loss))
                throw new KrrStDivergedException(
                    $"step {step}: the outer loss is {loss.ToString(CultureInfo.InvariantCulture)}. The run stops here. " +
                    $"Remedy: a smaller learning rate (--lr, now {Config.Lr:G3}) or a larger ridge (--ridge, now {Config.RidgeScale:G3}); " +
                    "resume from the last checkpoint with --resume.");
            using (PhaseScope.Begin(Phases, "optimizer")) _adam.Step([gx, gy]);
        }
        using (PhaseScope.Begin(Phases, "pool update")) _pool.Update(member);
        StepsDone = step;
        return (loss, _adam.Lr);
    }

    // ---- outputs and checkpoints ------------------------------------------------------------

    Dictionary<string, string> CommonMetadata() => new()
    {
        ["config"] = Config.ToJson(),
        ["teacher_sha256"] = TeacherHash,
        [NormalizationStats.MetadataKey] = Normalization.ToJson(),
        ["step"] = StepsDone.ToString(CultureInfo.InvariantCulture),
        ["dataset"] = _real.Name,
        ["net"] = JsonSerializer.Serialize(new { widths = _netConfig.Widths, norm = Config.Norm, channels = _real.Channels, size = _real.Height }),
    };

    /// <summary>The distilled set (method-neutral, <see cref="DistilledSet"/>).</summary>
    public DistilledSet ToDistilledSet() => new()
    {
        X = XSyn.ToArray<float>(),
        Y = YSyn.ToArray<float>(),
        Method = DistillMethod.KrrSt,
        ConfigJson = Config.ToJson(),
        TeacherHash = TeacherHash,
        Normalization = Normalization,
        Net = new DistilledNet(_netConfig.Widths, Config.Norm, _real.Channels, _real.Height),
        Step = StepsDone,
        Dataset = _real.Name,
        Init = "random",
        InitialIndices = InitialIndices,
    };

    /// <summary>Writes the distilled set: <c>x_syn</c> (pixel space), <c>y_syn</c>, metadata (method, config, teacher hash, normalization, step).</summary>
    public void SaveDistilled(string path, IReadOnlyDictionary<string, string>? extra = null) => ToDistilledSet().Save(path, extra);

    /// <summary>Writes every piece of state (atomically) so that <see cref="Resume"/> continues bit-exactly.</summary>
    public void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? extra = null)
    {
        var entries = new List<SafetensorsEntry> { XSyn.ToEntry("x_syn"), YSyn.ToEntry("y_syn") };
        foreach (var (k, t) in _adam.StateTensors()) entries.Add(t.ToEntry("adam." + k));
        var meta = CommonMetadata();
        if (extra != null) foreach (var (k, v) in extra) meta[k] = v;
        meta["format"] = CheckpointFormat;
        meta["adam"] = _adam.StateJson();
        for (int i = 0; i < _pool.Size; i++)
        {
            entries.AddRange(StateDictIO.ToEntries(_pool[i].Net, $"pool.{i}.net."));
            foreach (var (k, t) in _pool[i].Optimizer.StateTensors()) entries.Add(t.ToEntry($"pool.{i}.sgd.{k}"));
            meta[$"pool.{i}.sgd"] = _pool[i].Optimizer.StateJson();
        }
        meta["pool_steps"] = JsonSerializer.Serialize(_pool.Steps);
        meta["pool_creations"] = _pool.Creations.ToString(CultureInfo.InvariantCulture);
        meta["rng"] = JsonSerializer.Serialize(new[] { _rng.Seed, _rng.Counter, _augmentRng.Seed, _augmentRng.Counter });
        meta["initial_indices"] = JsonSerializer.Serialize(InitialIndices);
        Safetensors.Write(path, entries, meta);
    }

    /// <summary>The config stored in a checkpoint (to rebuild what the run needs before <see cref="Resume"/>).</summary>
    public static KrrStConfig ReadCheckpointConfig(string path) => KrrStConfig.FromJson(ReadCheckpointMeta(path)["config"]);

    static IReadOnlyDictionary<string, string> ReadCheckpointMeta(string path)
    {
        var f = Safetensors.Read(path);
        if (!f.Metadata.TryGetValue("format", out var fmt) || fmt != CheckpointFormat)
            throw new InvalidDataException($"{path}: not a KRR-ST checkpoint (format metadata should be {CheckpointFormat})");
        return f.Metadata;
    }

    /// <summary>Rebuilds a distiller from a checkpoint written by <see cref="SaveCheckpoint"/>; the real data and teacher must be the run's.</summary>
    public static KrrStDistiller Resume(string path, ImageDataset real, Func<Tensor, Tensor> teacher, int teacherDim, IBackend? backend = null, KrrStConfig? overrideConfig = null,
        float[]? teacherTargets = null)
    {
        var file = Safetensors.Read(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var fmt) || fmt != CheckpointFormat)
            throw new InvalidDataException($"{path}: not a KRR-ST checkpoint (format metadata should be {CheckpointFormat})");
        var config = overrideConfig ?? KrrStConfig.FromJson(meta["config"]);
        var norm = NormalizationStats.FromJson(meta[NormalizationStats.MetadataKey]);
        var d = new KrrStDistiller(config, real, norm, teacher, teacherDim, meta["teacher_sha256"], backend, teacherTargets);
        try
        {
            d.Restore(file);
            return d;
        }
        catch
        {
            d.Dispose();
            throw;
        }
    }

    void Restore(SafetensorsFile file)
    {
        var meta = file.Metadata;
        // Members are built outside the scope (their weights outlive it); values come from the file.
        var members = new List<KrrStPoolModel>();
        for (int i = 0; i < _pool.Size; i++) members.Add(new KrrStPoolModel(_netConfig, Config, _initRoot.Fork(ulong.MaxValue - (ulong)i), Backend));
        using var scope = TensorScope.Begin();
        XSyn.CopyFrom(file.ReadTensor("x_syn", Backend));
        YSyn.CopyFrom(file.ReadTensor("y_syn", Backend));
        var adamState = file.Entries.Where(e => e.Name.StartsWith("adam.", StringComparison.Ordinal))
            .ToDictionary(e => e.Name["adam.".Length..], e => e.ToTensor(Backend));
        _adam.LoadState(adamState, meta["adam"]);
        var steps = JsonSerializer.Deserialize<int[]>(meta["pool_steps"])!;
        for (int i = 0; i < _pool.Size; i++)
        {
            var m = members[i];
            StateDictIO.Load(m.Net, file, strict: true, prefix: $"pool.{i}.net.");
            string p = $"pool.{i}.sgd.";
            var st = file.Entries.Where(e => e.Name.StartsWith(p, StringComparison.Ordinal)).ToDictionary(e => e.Name[p.Length..], e => e.ToTensor(Backend));
            m.Optimizer.LoadState(st, meta[$"pool.{i}.sgd"]);
        }
        _pool.Restore(members, steps, int.Parse(meta["pool_creations"], CultureInfo.InvariantCulture));
        var rng = JsonSerializer.Deserialize<ulong[]>(meta["rng"])!;
        _rng = new Generator(rng[0], rng[1]);
        _augmentRng = new Generator(rng[2], rng[3]);
        InitialIndices = JsonSerializer.Deserialize<int[]>(meta["initial_indices"])!;
        StepsDone = int.Parse(meta["step"], CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _pool.Dispose();
        _adam.Dispose();
        XSyn.Dispose();
        YSyn.Dispose();
        _normScale.Dispose();
        _normShift.Dispose();
    }
}
