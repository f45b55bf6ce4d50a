namespace RawDistill.Methods.Mkdt;

using System.Globalization;
using System.Text.Json;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>One outer iteration's numbers.</summary>
/// <param name="Step">Iterations done.</param>
/// <param name="Steps">Iterations of the run.</param>
/// <param name="Loss">Matching loss L of the iteration.</param>
/// <param name="Eta">η after the update.</param>
/// <param name="Seconds">Wall seconds of matching so far (across resumes).</param>
/// <param name="Expert">The expert matched.</param>
/// <param name="Start">Its start epoch t.</param>
/// <param name="GradXNorm">‖∂L/∂X‖ (X normalized).</param>
/// <param name="GradYNorm">‖∂L/∂Y‖.</param>
/// <param name="GradEta">∂L/∂η.</param>
public readonly record struct MkdtProgress(int Step, int Steps, double Loss, double Eta, double Seconds, int Expert, int Start,
    double GradXNorm, double GradYNorm, double GradEta);

/// <summary>An MKDT run stopped: NaN loss or η ≤ 0. The last checkpoint is kept.</summary>
public sealed class MkdtDivergedException(string message) : Exception(message);

/// <summary>
/// MKDT's stage 3 (mkdt.md): learns X (m images, in normalized space), Y (m × d) and η so
/// that N SGD steps on (X, Y) from an expert's θ_t land near its θ_{t+M}. One
/// <see cref="Step"/> is the page's loop body:
/// <code>
/// k ← a finished expert (uniform; legacy: the first all run);  t ~ U{0..max_start−1}
/// L ← TrajectoryMatcher.Loss(θ_{k,t}, θ_{k,t+M}, X, Y, η, N fresh minibatches)
/// (∂L/∂X, ∂L/∂Y, ∂L/∂η) → three SGDs with momentum 0.5 (lr_img, lr_y, lr_lr)
/// </code>
/// X and Y start at the high-loss images and their teacher targets (or the class-balanced or
/// random variant). The whole state (X, Y, η, the three optimizers, the RNG, the counters)
/// saves to one checkpoint and resumes bit-exactly.
/// </summary>
public sealed class MkdtDistiller : IDisposable
{
    /// <summary>Value of the <c>format</c> metadata key of checkpoints.</summary>
    public const string CheckpointFormat = "rawdistill-mkdt-checkpoint/1";

    readonly ExpertStore _store;
    readonly ImageDataset _real;
    readonly ConvNet _student;
    readonly TrajectoryMatcher _matcher;
    readonly Sgd _optX, _optY, _optEta;
    int[] _experts;
    Generator _rng;

    /// <summary>Sets up a run: checks the experts against the data and teacher, picks the initial images.</summary>
    /// <param name="config">Hyperparameters.</param>
    /// <param name="store">The experts (finished ones are used).</param>
    /// <param name="real">The real training images in the teacher's input geometry (labels used by the balanced init).</param>
    /// <param name="targets">Teacher targets of <paramref name="real"/>, N × d (<see cref="TeacherTargets"/>).</param>
    /// <param name="teacherHash">SHA-256 of the teacher.</param>
    /// <param name="backend">Where tensors live.</param>
    /// <param name="log">Receives a line about the initialization.</param>
    public MkdtDistiller(MkdtConfig config, ExpertStore store, ImageDataset real, float[] targets, string teacherHash, IBackend? backend = null, Action<string>? log = null)
        : this(config, store, real, targets, teacherHash, backend)
    {
        var data = RegressionData.FromDataset(real, targets, Normalization);
        int[] idx;
        switch (config.Init)
        {
            case MkdtInit.Random:
                idx = HighLossInit.RandomSubset(real.Count, config.SyntheticCount, new Generator(config.Seed).Fork(1));
                break;
            default:
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var scores = HighLossInit.Scores(store, _experts, data, 1, Backend);
                idx = config.Init == MkdtInit.HighLossBalanced && real.HasLabels
                    ? HighLossInit.TopBalanced(scores, real.Labels, real.ClassCount, config.SyntheticCount)
                    : HighLossInit.Top(scores, config.SyntheticCount);
                log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"mkdt init: {config.Init.Name()} over {_experts.Length} experts' epoch-1 snapshots ({clock.Elapsed.TotalSeconds:F1} s); mean score of the chosen {idx.Select(i => scores[i]).Average():G4} vs all {scores.Average():G4}"));
                break;
        }
        InitialIndices = idx;
        using var scope = TensorScope.Begin();
        XSyn.CopyFrom(data.Inputs(idx, Backend));
        YSyn.CopyFrom(data.Targets(idx, Backend));
    }

    MkdtDistiller(MkdtConfig config, ExpertStore store, ImageDataset real, float[] targets, string teacherHash, IBackend? backend)
    {
        config.Validate();
        var manifest = store.Manifest;
        Normalization = NormalizationStats.FromJson(manifest.Normalization);
        if (config.SyntheticCount > real.Count) throw new ArgumentException($"m = {config.SyntheticCount} is more than the {real.Count} real images");
        if (manifest.TeacherHash != teacherHash)
            throw new ArgumentException($"the experts in {store.Directory} regress onto teacher sha256 {manifest.TeacherHash[..Math.Min(12, manifest.TeacherHash.Length)]}…, not this teacher ({teacherHash[..Math.Min(12, teacherHash.Length)]}…)");
        if (manifest.Images != real.Count || manifest.DatasetHash != TeacherTargets.DatasetHash(real))
            throw new ArgumentException($"the experts in {store.Directory} were trained on {manifest.Dataset} ({manifest.Images} images), not on these {real.Count} images of {real.Name}");
        if (targets.Length != (long)real.Count * manifest.FeatureDim)
            throw new ArgumentException($"{targets.Length} target values for {real.Count} images × {manifest.FeatureDim}");
        if (manifest.Config.Epochs < config.MaxStart - 1 + config.ExpertEpochs)
            throw new ArgumentException($"the experts have {manifest.Config.Epochs} epochs; max_start {config.MaxStart} and M {config.ExpertEpochs} need {config.MaxStart - 1 + config.ExpertEpochs}");
        _experts = store.Finished();
        if (_experts.Length == 0) throw new ArgumentException($"{store.Directory}: no finished experts (see `rawdistill experts status --out {store.Directory}`)");
        Config = config;
        _store = store;
        _store.CacheSnapshots = true;
        _real = real;
        TeacherHash = teacherHash;
        Backend = backend ?? Tensor.DefaultBackend;
        _rng = new Generator(config.Seed).Fork(2);
        _student = ExpertTrainer.Student(manifest, 0);
        if (Backend != Tensor.DefaultBackend) _student.To(Backend);
        _matcher = new TrajectoryMatcher(_student);
        using (var scope = TensorScope.Begin())
        {
            XSyn = Tensor.Zeros([config.SyntheticCount, real.Channels, real.Height, real.Width], DType.F32, Backend).Keep();
            YSyn = Tensor.Zeros([config.SyntheticCount, manifest.FeatureDim], DType.F32, Backend).Keep();
            Eta = Tensor.Scalar(config.EtaInit, DType.F32, Backend).Keep();
        }
        foreach (var t in new[] { XSyn, YSyn, Eta }) t.RequiresGrad = true;
        _optX = new Sgd([XSyn], config.LrImg, momentum: config.Momentum);
        _optY = new Sgd([YSyn], config.LrY, momentum: config.Momentum);
        _optEta = new Sgd([Eta], config.LrLr, momentum: config.Momentum);
    }

    /// <summary>The hyperparameters.</summary>
    public MkdtConfig Config { get; }

    /// <summary>The statistics X is normalized with (the experts').</summary>
    public NormalizationStats Normalization { get; }

    /// <summary>SHA-256 of the teacher.</summary>
    public string TeacherHash { get; }

    /// <summary>Backend of every tensor.</summary>
    public IBackend Backend { get; }

    /// <summary>X, m×C×H×W in normalized space (a leaf).</summary>
    public Tensor XSyn { get; }

    /// <summary>Y, m×d (a leaf).</summary>
    public Tensor YSyn { get; }

    /// <summary>η, a scalar (a leaf).</summary>
    public Tensor Eta { get; }

    /// <summary>The real images X started from.</summary>
    public int[] InitialIndices { get; private set; } = [];

    /// <summary>Iterations done.</summary>
    public int StepsDone { get; private set; }

    /// <summary>The finished experts the run draws from.</summary>
    public IReadOnlyList<int> Experts => _experts;

    /// <summary>The student architecture.</summary>
    public DistilledNet Net => _store.Manifest.Net;

    /// <summary>X in pixel space (x·std + mean), m×C×H×W on the host.</summary>
    public float[] PixelImages()
    {
        var x = XSyn.ToArray<float>();
        int c = _real.Channels, plane = _real.Height * _real.Width;
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / plane % c;
            x[i] = (float)(x[i] * Normalization.Std[ch] + Normalization.Mean[ch]);
        }
        return x;
    }

    /// <summary>The matching loss and its gradients for expert k from start epoch t with given minibatches (no update).</summary>
    public (double Loss, Tensor GradX, Tensor GradY, Tensor GradEta) LossAndGradients(int expert, int start, IReadOnlyList<Tensor> batches)
    {
        var thetaStart = _store.SnapshotTensor(expert, start, Backend);
        var thetaTarget = _store.SnapshotTensor(expert, start + Config.ExpertEpochs, Backend);
        var loss = _matcher.Loss(thetaStart, thetaTarget, XSyn, YSyn, Eta, batches);
        double l = loss.Item();
        if (!double.IsFinite(l)) return (l, XSyn, YSyn, Eta);
        var g = Autograd.Grad([loss], [XSyn, YSyn, Eta]);
        return (l, g[0], g[1], g[2]);
    }

    /// <summary>One outer iteration.</summary>
    /// <exception cref="MkdtDivergedException">NaN/∞ loss (state not updated) or η ≤ 0 after the update.</exception>
    public MkdtProgress Step()
    {
        int step = StepsDone + 1;
        int expert = Config.ExpertSampling == ExpertSampling.Legacy ? _experts[0] : _experts[_rng.NextInt(_experts.Length)];
        int start = _rng.NextInt(Config.MaxStart);
        using var scope = TensorScope.Begin();
        var batches = TrajectoryMatcher.Batches(Config.SyntheticCount, Config.Batch, Config.SynSteps, _rng, Backend);
        var (loss, gx, gy, geta) = LossAndGradients(expert, start, batches);
        if (!double.IsFinite(loss))
            throw new MkdtDivergedException(
                $"iteration {step}: the matching loss is {loss.ToString(CultureInfo.InvariantCulture)} (η = {Eta.Item():G4}). The run stops here. " +
                $"Remedy: a smaller --lr-img (now {Config.LrImg:G3}), --lr-y (now {Config.LrY:G3}) or --lr-lr (now {Config.LrLr:G3}), or a smaller --eta-init (now {Config.EtaInit:G3}); " +
                "resume from the last checkpoint with --resume.");
        double nx = Math.Sqrt(Ops.Sum(Ops.Square(gx)).Item()), ny = Math.Sqrt(Ops.Sum(Ops.Square(gy)).Item()), ge = geta.Item();
        if (Config.Update == MkdtUpdate.Normalized)
        {
            gx = Normalized(gx, nx);
            gy = Normalized(gy, ny);
            geta = Normalized(geta, Math.Abs(ge));
        }
        _optX.Step([gx]);
        _optY.Step([gy]);
        _optEta.Step([geta]);
        StepsDone = step;
        double eta = Eta.Item();
        if (!(eta > 0))
            throw new MkdtDivergedException(
                $"iteration {step}: the learned step size η is {eta.ToString(CultureInfo.InvariantCulture)} (≤ 0 after the update with ∂L/∂η = {ge:G4}). The run stops here. " +
                $"Remedy: a smaller --lr-lr (now {Config.LrLr:G3}) or a larger --eta-init; resume from the last checkpoint with --resume.");
        return new MkdtProgress(step, Config.Iterations, loss, eta, 0, expert, start, nx, ny, ge);
    }

    /// <summary>g / rms(g), with ‖g‖ given (a zero gradient stays zero).</summary>
    static Tensor Normalized(Tensor g, double norm)
    {
        double rms = norm / Math.Sqrt(g.Numel);
        return rms > 0 ? Ops.Mul(g, 1 / rms) : g;
    }

    // ---- outputs and checkpoints ------------------------------------------------------------

    /// <summary>The distilled set (pixel-space X, Y, learned η).</summary>
    public DistilledSet ToDistilledSet() => new()
    {
        X = PixelImages(),
        Y = YSyn.ToArray<float>(),
        Method = DistillMethod.Mkdt,
        ConfigJson = Config.ToJson(),
        TeacherHash = TeacherHash,
        Normalization = Normalization,
        Net = Net,
        Eta = Eta.Item(),
        Step = StepsDone,
        Dataset = _real.Name,
        Init = Config.Init.Name(),
        InitialIndices = InitialIndices,
    };

    /// <summary>Writes every piece of state (atomically) so that <see cref="Resume"/> continues bit-exactly.</summary>
    public void SaveCheckpoint(string path)
    {
        var entries = new List<SafetensorsEntry> { XSyn.ToEntry("x_syn_normalized"), YSyn.ToEntry("y_syn"), Eta.ToEntry("eta") };
        var meta = new Dictionary<string, string>
        {
            ["format"] = CheckpointFormat,
            ["config"] = Config.ToJson(),
            ["teacher_sha256"] = TeacherHash,
            ["experts_dir"] = Path.GetFullPath(_store.Directory),
            ["experts"] = JsonSerializer.Serialize(_experts),
            ["step"] = StepsDone.ToString(CultureInfo.InvariantCulture),
            ["rng"] = JsonSerializer.Serialize(new[] { _rng.Seed, _rng.Counter }),
            ["initial_indices"] = JsonSerializer.Serialize(InitialIndices),
        };
        foreach (var (name, opt) in new[] { ("x", _optX), ("y", _optY), ("eta", _optEta) })
        {
            foreach (var (k, t) in opt.StateTensors()) entries.Add(t.ToEntry($"opt_{name}.{k}"));
            meta[$"opt_{name}"] = opt.StateJson();
        }
        Safetensors.Write(path, entries, meta);
    }

    /// <summary>The config and expert folder stored in a checkpoint.</summary>
    /// <exception cref="InvalidDataException">Not an MKDT checkpoint.</exception>
    public static (MkdtConfig Config, string ExpertsDir) ReadCheckpointHeader(string path)
    {
        var meta = Safetensors.Read(path).Metadata;
        if (!meta.TryGetValue("format", out var fmt) || fmt != CheckpointFormat)
            throw new InvalidDataException($"{path}: not an MKDT checkpoint (format metadata should be {CheckpointFormat})");
        return (MkdtConfig.FromJson(meta["config"]), meta["experts_dir"]);
    }

    /// <summary>Rebuilds a distiller from a checkpoint; the store, data and targets must be the run's.</summary>
    public static MkdtDistiller Resume(string path, ExpertStore store, ImageDataset real, float[] targets, IBackend? backend = null)
    {
        var file = Safetensors.Read(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var fmt) || fmt != CheckpointFormat)
            throw new InvalidDataException($"{path}: not an MKDT checkpoint (format metadata should be {CheckpointFormat})");
        var d = new MkdtDistiller(MkdtConfig.FromJson(meta["config"]), store, real, targets, meta["teacher_sha256"], backend);
        try
        {
            var experts = JsonSerializer.Deserialize<int[]>(meta["experts"])!;
            if (!experts.SequenceEqual(d._experts))
            {
                // More experts finished since: the run continues with the set it started with, so it stays reproducible.
                if (experts.Any(k => !store.Status(k).Finished)) throw new InvalidDataException($"{path}: experts {JsonSerializer.Serialize(experts)} of the run are no longer all finished in {store.Directory}");
                d._experts = experts;
            }
            using var scope = TensorScope.Begin();
            d.XSyn.CopyFrom(file.ReadTensor("x_syn_normalized", d.Backend));
            d.YSyn.CopyFrom(file.ReadTensor("y_syn", d.Backend));
            d.Eta.CopyFrom(file.ReadTensor("eta", d.Backend));
            foreach (var (name, opt) in new[] { ("x", d._optX), ("y", d._optY), ("eta", d._optEta) })
            {
                string p = $"opt_{name}.";
                var st = file.Entries.Where(e => e.Name.StartsWith(p, StringComparison.Ordinal)).ToDictionary(e => e.Name[p.Length..], e => e.ToTensor(d.Backend));
                opt.LoadState(st, meta[$"opt_{name}"]);
            }
            var rng = JsonSerializer.Deserialize<ulong[]>(meta["rng"])!;
            d._rng = new Generator(rng[0], rng[1]);
            d.InitialIndices = JsonSerializer.Deserialize<int[]>(meta["initial_indices"])!;
            d.StepsDone = int.Parse(meta["step"], CultureInfo.InvariantCulture);
            return d;
        }
        catch
        {
            d.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _optX.Dispose();
        _optY.Dispose();
        _optEta.Dispose();
        _student.Dispose();
        XSyn.Dispose();
        YSyn.Dispose();
        Eta.Dispose();
    }
}
