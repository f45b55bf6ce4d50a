namespace RawDistill.Methods.Ssl;

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Data.Augment;
using RawDistill.Diagnostics.Profiling;
using RawDistill.IO;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>Where a run is, reported after every step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="ImagesPerSecond">Throughput of this process's run so far (images, not views).</param>
/// <param name="Lr">The learning rate of this step.</param>
public readonly record struct TrainProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double ImagesPerSecond, double Lr);

/// <summary>
/// Barlow Twins on our engine (design page evaluation.md, "The SSL teacher"): an encoder from
/// the zoo (<see cref="EncoderConfig"/>) and an <see cref="MlpProjector"/>; each step takes a
/// batch of images, draws the two asymmetric views of <see cref="AugmentPresets.BarlowTwins"/>
/// (normalized with the dataset's statistics), runs both through encoder and projector
/// (separately, so batch norm sees each view as its own batch, as the reference does), and
/// minimizes <see cref="BarlowTwinsLoss"/> with LARS or SGD under linear warm-up + cosine.
/// <para>
/// Random streams, all from <see cref="BarlowTwinsOptions.Seed"/>: <c>Fork(0)</c> initializes
/// encoder then projector, <c>Fork(1)</c> draws the augmentations (its counter is saved),
/// <c>Fork(1000 + e)</c> shuffles epoch e. A checkpoint holds weights, buffers, optimizer
/// state, completed epochs, step count and the augmentation counter, so
/// <see cref="LoadCheckpoint"/> followed by <see cref="Train"/> gives, on the CPU backend,
/// bit-for-bit the run that was never interrupted.
/// </para>
/// </summary>
public sealed class BarlowTwinsTrainer : IDisposable
{
    /// <summary>Metadata key of the checkpoint's progress JSON.</summary>
    public const string CheckpointKey = "barlow_twins_checkpoint";

    Generator _augment;
    readonly AugmentRecipe _view1, _view2;
    readonly List<double> _epochLosses = [];

    /// <summary>A fresh run: encoder and projector initialized from the seed.</summary>
    /// <param name="encoder">Encoder architecture (its input geometry must match the training images).</param>
    /// <param name="options">Hyper-parameters.</param>
    /// <param name="normalization">Statistics the views are normalized with (the training split's).</param>
    /// <param name="trainImages">Images per epoch (fixes the steps per epoch and so the schedule).</param>
    /// <param name="dataset">Name of the training data, recorded in checkpoints and the teacher file.</param>
    /// <param name="backend">Where to compute (null = the default backend).</param>
    public BarlowTwinsTrainer(EncoderConfig encoder, BarlowTwinsOptions options, NormalizationStats normalization, int trainImages, string dataset, IBackend? backend = null)
    {
        options.Validate();
        if (trainImages < options.Batch)
            throw new ArgumentException($"{trainImages} training images make no full batch of {options.Batch}; lower the batch size");
        if (normalization.Channels != encoder.Channels)
            throw new ArgumentException($"normalization statistics have {normalization.Channels} channels, the encoder takes {encoder.Channels}");
        EncoderConfig = encoder;
        Options = options;
        Normalization = normalization;
        Dataset = dataset;
        TrainImages = trainImages;
        Backend = backend ?? Tensor.DefaultBackend;
        var root = new Generator(options.Seed);
        var init = root.Fork(0);
        Encoder = encoder.Build(init);
        Projector = new MlpProjector(Encoder.FeatureDim, options.Projector, bias: false, rng: init);
        if (Backend != Tensor.DefaultBackend)
        {
            Encoder.To(Backend);
            Projector.To(Backend);
        }
        _augment = root.Fork(1);
        (_view1, _view2) = AugmentPresets.BarlowTwins(normalization);
        StepsPerEpoch = trainImages / options.Batch;
        Optimizer = CreateOptimizer();
    }

    /// <summary>The encoder being trained (what the teacher file stores).</summary>
    public ImageModel Encoder { get; }

    /// <summary>The projector (discarded after training).</summary>
    public MlpProjector Projector { get; }

    /// <summary>The optimizer over encoder then projector parameters.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The encoder's configuration.</summary>
    public EncoderConfig EncoderConfig { get; }

    /// <summary>The run's hyper-parameters.</summary>
    public BarlowTwinsOptions Options { get; }

    /// <summary>The normalization of the views.</summary>
    public NormalizationStats Normalization { get; }

    /// <summary>Name of the training data.</summary>
    public string Dataset { get; }

    /// <summary>Images per epoch.</summary>
    public int TrainImages { get; }

    /// <summary>The compute backend.</summary>
    public IBackend Backend { get; }

    /// <summary>Full batches per epoch (the remainder is dropped).</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Epochs completed.</summary>
    public int CompletedEpochs { get; private set; }

    /// <summary>Mean loss of each completed epoch.</summary>
    public IReadOnlyList<double> EpochLosses => _epochLosses;

    /// <summary>The augmentation stream's position (part of the checkpoint).</summary>
    public ulong AugmentCounter => _augment.Counter;

    /// <summary>
    /// Receives the phases of every step (augment, forward, loss, backward, optimizer) when
    /// set; null (the default) costs nothing.
    /// </summary>
    public IPhaseTimer? Phases { get; set; }

    /// <summary>The λ_off in use.</summary>
    public double LambdaOff => Options.EffectiveLambdaOff;

    Optimizer CreateOptimizer()
    {
        var parameters = Encoder.Parameters().Concat(Projector.Parameters()).ToList();
        double lr = Options.Lr * Options.Batch / 256.0;
        Optimizer opt = Options.Optimizer == "lars"
            ? new Lars(parameters, lr, Options.WeightDecay, Options.Momentum, Options.Eta)
            : new Sgd(parameters, lr, Options.Momentum, 0, Options.WeightDecay);
        long total = (long)StepsPerEpoch * Options.Epochs;
        long warmup = Options.WarmupEpochs is { } w ? (long)Math.Round(w * StepsPerEpoch) : (long)Math.Round(0.1 * total);
        warmup = Math.Clamp(warmup, 0, total - 1);
        var cosine = LrSchedule.Cosine(Math.Max(1, total - warmup), Options.MinLrFactor);
        opt.Schedule = warmup > 0 ? LrSchedule.Warmup(warmup, cosine) : cosine;
        return opt;
    }

    /// <summary>
    /// One optimization step on two prepared views [B, C, H, W] (already augmented and
    /// normalized): forward both, Barlow Twins loss, gradients, optimizer step. Returns the loss.
    /// </summary>
    public double Step(Tensor view1, Tensor view2)
    {
        using var scope = TensorScope.Begin();
        Encoder.Train();
        Projector.Train();
        Tensor z1, z2, loss;
        Tensor[] grads;
        using (PhaseScope.Begin(Phases, "forward"))
        {
            z1 = Projector.Forward(Encoder.Embed(view1));
            z2 = Projector.Forward(Encoder.Embed(view2));
        }
        using (PhaseScope.Begin(Phases, "loss")) loss = BarlowTwinsLoss.Compute(z1, z2, LambdaOff);
        using (PhaseScope.Begin(Phases, "backward")) grads = Autograd.Grad([loss], Optimizer.Params.ToArray());
        using (PhaseScope.Begin(Phases, "optimizer")) Optimizer.Step(grads);
        return loss.Item();
    }

    /// <summary>
    /// One training step on a batch of u8 images [B, C, H, W] as <see cref="Train"/> takes it:
    /// draws the two views from the augmentation stream, then <see cref="Step"/>. Returns the loss.
    /// </summary>
    public double TrainStep(Tensor images)
    {
        using var scope = TensorScope.Begin();
        Tensor v1, v2;
        using (PhaseScope.Begin(Phases, "augment"))
        {
            v1 = _view1.Apply(images, _augment);
            v2 = _view2.Apply(images, _augment);
        }
        return Step(v1, v2);
    }

    /// <summary>
    /// Trains from <see cref="CompletedEpochs"/> to <see cref="BarlowTwinsOptions.Epochs"/> on
    /// <paramref name="data"/> (u8 images of the encoder's geometry), writing a checkpoint
    /// after every epoch when <paramref name="checkpointPath"/> is given.
    /// </summary>
    /// <param name="data">The training images (the same set, in the same order, on every resume).</param>
    /// <param name="checkpointPath">Checkpoint file rewritten (atomically) after each epoch, or null.</param>
    /// <param name="progress">Called after every step.</param>
    /// <param name="stopAfterEpoch">Stop once this many epochs are complete (an interruption, for tests); null = run to the end.</param>
    public void Train(ImageDataset data, string? checkpointPath = null, Action<TrainProgress>? progress = null, int? stopAfterEpoch = null)
    {
        if (data.Count != TrainImages) throw new ArgumentException($"the run was set up for {TrainImages} images per epoch, the data has {data.Count}");
        if (data.Channels != EncoderConfig.Channels || data.Height != EncoderConfig.Size || data.Width != EncoderConfig.Size)
            throw new ArgumentException($"images are {data.Channels}×{data.Height}×{data.Width}, the encoder takes {EncoderConfig.Channels}×{EncoderConfig.Size}×{EncoderConfig.Size}");
        var root = new Generator(Options.Seed);
        var clock = Stopwatch.StartNew();
        long stepsDone = 0;
        int lastEpoch = Math.Min(Options.Epochs, stopAfterEpoch ?? int.MaxValue);
        while (CompletedEpochs < lastEpoch)
        {
            int epoch = CompletedEpochs;
            var order = root.Fork(1000 + (ulong)epoch).Permutation(data.Count);
            double sum = 0;
            for (int s = 0; s < StepsPerEpoch; s++)
            {
                double loss;
                using (var scope = TensorScope.Begin())
                {
                    var x = data.Batch(order.AsSpan(s * Options.Batch, Options.Batch), Backend);
                    loss = TrainStep(x);
                }
                if (!double.IsFinite(loss)) throw new InvalidOperationException($"Barlow Twins loss became {loss} at epoch {epoch + 1}, step {s + 1}; lower the learning rate");
                sum += loss;
                stepsDone++;
                // The ETA is the progress display's (Common/ProgressDisplay), which leaves out the warm-up step.
                progress?.Invoke(new TrainProgress(epoch + 1, Options.Epochs, s + 1, StepsPerEpoch, loss,
                    stepsDone * Options.Batch / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), Optimizer.Lr));
            }
            _epochLosses.Add(sum / StepsPerEpoch);
            CompletedEpochs++;
            if (checkpointPath != null) SaveCheckpoint(checkpointPath);
        }
    }

    // ---- checkpoints -------------------------------------------------------------------------

    /// <summary>
    /// Writes everything a resume needs to one safetensors file, atomically: <c>encoder.*</c>,
    /// <c>projector.*</c> (state dicts), <c>optimizer.state.*</c>, and metadata (encoder
    /// config, options, normalization, dataset, progress JSON with the augmentation counter).
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        var entries = new List<SafetensorsEntry>();
        entries.AddRange(StateDictIO.ToEntries(Encoder, "encoder."));
        entries.AddRange(StateDictIO.ToEntries(Projector, "projector."));
        foreach (var (name, t) in Optimizer.StateTensors()) entries.Add(StateDictIO.ToEntry("optimizer." + name, t));
        var progress = new JsonObject
        {
            ["completed_epochs"] = CompletedEpochs,
            ["train_images"] = TrainImages,
            ["augment_seed"] = _augment.Seed.ToString(CultureInfo.InvariantCulture),
            ["augment_counter"] = _augment.Counter.ToString(CultureInfo.InvariantCulture),
            ["epoch_losses"] = new JsonArray(_epochLosses.Select(l => (JsonNode)l).ToArray()),
        };
        var meta = new Dictionary<string, string>
        {
            [CheckpointKey] = progress.ToJsonString(),
            [EncoderConfig.MetadataKey] = EncoderConfig.ToJson(),
            ["options"] = Options.ToJson(),
            [NormalizationStats.MetadataKey] = Normalization.ToJson(),
            ["dataset"] = Dataset,
            ["optimizer"] = Optimizer.StateJson(),
        };
        Safetensors.Write(path, entries, meta);
    }

    /// <summary>Rebuilds a run from <see cref="SaveCheckpoint"/>'s file, ready to continue with <see cref="Train"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a Barlow Twins checkpoint.</exception>
    public static BarlowTwinsTrainer LoadCheckpoint(string path, IBackend? backend = null)
    {
        var file = Safetensors.Read(path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path}: not a Barlow Twins checkpoint (no '{key}' metadata)");
        var progress = JsonNode.Parse(Meta(CheckpointKey))!.AsObject();
        var trainer = new BarlowTwinsTrainer(
            EncoderConfig.FromJson(Meta(EncoderConfig.MetadataKey)),
            BarlowTwinsOptions.FromJson(Meta("options")),
            NormalizationStats.FromJson(Meta(NormalizationStats.MetadataKey)),
            (int)progress["train_images"]!, Meta("dataset"), backend);
        try
        {
            StateDictIO.Load(trainer.Encoder, file, strict: true, prefix: "encoder.");
            StateDictIO.Load(trainer.Projector, file, strict: true, prefix: "projector.");
            using (var scope = TensorScope.Begin())
            {
                var state = new Dictionary<string, Tensor>();
                foreach (var e in file.Entries)
                    if (e.Name.StartsWith("optimizer.", StringComparison.Ordinal)) state[e.Name["optimizer.".Length..]] = e.ToTensor(trainer.Backend);
                trainer.Optimizer.LoadState(state, Meta("optimizer"));
            }
            ulong augSeed = ulong.Parse((string)progress["augment_seed"]!, CultureInfo.InvariantCulture);
            if (augSeed != trainer._augment.Seed) throw new InvalidDataException($"{path}: augmentation stream does not belong to seed {trainer.Options.Seed}");
            trainer._augment = new Generator(augSeed, ulong.Parse((string)progress["augment_counter"]!, CultureInfo.InvariantCulture));
            trainer.CompletedEpochs = (int)progress["completed_epochs"]!;
            foreach (var l in progress["epoch_losses"]!.AsArray()) trainer._epochLosses.Add((double)l!);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    // ---- the teacher ---------------------------------------------------------------------------

    /// <summary>Writes the trained encoder as a teacher file (see <see cref="Teacher"/>).</summary>
    public void SaveTeacher(string path)
    {
        var extra = new Dictionary<string, string>
        {
            ["method"] = "barlow_twins",
            ["epochs"] = CompletedEpochs.ToString(CultureInfo.InvariantCulture),
            ["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture),
            ["final_loss"] = (_epochLosses.Count > 0 ? _epochLosses[^1] : double.NaN).ToString("R", CultureInfo.InvariantCulture),
            ["lambda_off"] = LambdaOff.ToString("R", CultureInfo.InvariantCulture),
            ["options"] = Options.ToJson(),
        };
        Teacher.Save(path, Encoder, EncoderConfig, Normalization, Dataset, extra);
    }

    /// <summary>Disposes the networks and the optimizer state.</summary>
    public void Dispose()
    {
        Optimizer.Dispose();
        Encoder.Dispose();
        Projector.Dispose();
    }
}
