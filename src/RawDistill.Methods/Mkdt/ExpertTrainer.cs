namespace RawDistill.Methods.Mkdt;

using System.Globalization;
using System.Text.Json;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// Stage 1 of MKDT (mkdt.md): expert k is a fresh student regressed onto the teacher targets
/// by <see cref="RegressionTrainer"/> (SGD lr, momentum, weight decay, batch, no
/// augmentation), with θ saved after every epoch into an <see cref="ExpertStore"/>. Expert k
/// is initialized from stream (seed, k, 1) and shuffled from stream (seed, k, 2), so experts
/// are independent of which shard or machine trains them. After each epoch the snapshot, then
/// the resume state (momentum buffers, RNG, epochs done) are written atomically; a killed
/// trainer resumes from the last state and produces the same bits.
/// </summary>
public static class ExpertTrainer
{
    /// <summary>A fresh student for expert k (or any k: the architecture is the same).</summary>
    public static ConvNet Student(ExpertManifest manifest, int k)
    {
        var rng = new Generator(manifest.Config.Seed).Fork((ulong)k).Fork(1);
        return new ConvNet(manifest.Net.ToConvNet(manifest.FeatureDim), rng);
    }

    /// <summary>The manifest of experts trained with <paramref name="config"/> on these images and targets.</summary>
    public static ExpertManifest Manifest(ExpertConfig config, string teacherHash, ImageDataset images, NormalizationStats normalization, int featureDim)
    {
        config.Validate();
        var net = config.Net(images.Channels, images.Height);
        if (images.Height != images.Width) throw new ArgumentException($"experts: the images are {images.Height}×{images.Width}; the ConvNet takes square images");
        using var probe = new ConvNet(net.ToConvNet(featureDim), new Generator(0));
        return new ExpertManifest
        {
            Config = config,
            TeacherHash = teacherHash,
            Dataset = images.Name,
            DatasetHash = TeacherTargets.DatasetHash(images),
            Images = images.Count,
            Normalization = normalization.ToJson(),
            Net = net,
            FeatureDim = featureDim,
            Parameters = probe.NamedParameters().Select(p => new ExpertParameter(p.Name, p.Tensor.Shape.ToArray())).ToArray(),
        };
    }

    /// <summary>The experts of shard <paramref name="index"/> of <paramref name="count"/>: k ≡ index (mod count).</summary>
    public static int[] Shard(int experts, int index, int count)
    {
        if (count < 1 || index < 0 || index >= count) throw new ArgumentException($"shard {index}/{count}: expected 0 ≤ i < n");
        return Enumerable.Range(0, experts).Where(k => k % count == index).ToArray();
    }

    /// <summary>Parses "i/n" (0-based i, as Slurm's array task ids are).</summary>
    public static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || i >= n)
            throw new ArgumentException($"shard '{text}': expected i/n with 0 ≤ i < n, e.g. 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)");
        return (i, n);
    }

    /// <summary>
    /// Trains expert k to the end (or to <paramref name="stopAfterEpoch"/>), resuming from its
    /// state when it has one; does nothing when it is finished.
    /// </summary>
    /// <param name="store">Where its snapshots go.</param>
    /// <param name="k">Which expert.</param>
    /// <param name="data">The real images (normalized by the manifest's statistics) and teacher targets.</param>
    /// <param name="backend">Where tensors live.</param>
    /// <param name="onEpoch">(expert, epoch, mean minibatch loss).</param>
    /// <param name="stopAfterEpoch">Stop after this epoch without finishing (tests of resume); null = train to the end.</param>
    public static void Train(ExpertStore store, int k, RegressionData data, IBackend? backend = null, Action<int, int, double>? onEpoch = null, int? stopAfterEpoch = null)
    {
        var manifest = store.Manifest;
        var c = manifest.Config;
        if (k < 0 || k >= c.Experts) throw new ArgumentOutOfRangeException(nameof(k), $"expert {k}: the store has {c.Experts}");
        if (data.Count != manifest.Images || data.TargetDim != manifest.FeatureDim)
            throw new ArgumentException($"expert data: {data.Count} images × {data.TargetDim}-d targets, the manifest says {manifest.Images} × {manifest.FeatureDim}");
        if (store.Status(k).Finished) return;
        var be = backend ?? Tensor.DefaultBackend;
        using var net = Student(manifest, k);
        if (be != Tensor.DefaultBackend) net.To(be);
        using var sgd = new Sgd(net.Parameters(), c.Lr, momentum: c.Momentum, weightDecay: c.WeightDecay);
        var order = new Generator(c.Seed).Fork((ulong)k).Fork(2);
        int start = 0;
        Directory.CreateDirectory(store.ExpertDir(k));
        if (File.Exists(store.StatePath(k)))
        {
            var state = Safetensors.Read(store.StatePath(k));
            start = int.Parse(state.Metadata["epoch"], CultureInfo.InvariantCulture);
            using var scope = TensorScope.Begin();
            net.LoadFlatParameters(store.SnapshotTensor(k, start, be));
            var tensors = state.Entries.Where(e => e.Name.StartsWith("sgd.", StringComparison.Ordinal)).ToDictionary(e => e.Name[4..], e => e.ToTensor(be));
            sgd.LoadState(tensors, state.Metadata["sgd"]);
            var rng = JsonSerializer.Deserialize<ulong[]>(state.Metadata["rng"])!;
            order = new Generator(rng[0], rng[1]);
        }
        else
        {
            StateDictIO.Save(net, store.SnapshotPath(k, 0), SnapshotMeta(k, 0, double.NaN));
        }
        int end = Math.Min(c.Epochs, stopAfterEpoch ?? c.Epochs);
        for (int e = start; e < end; e++)
        {
            double loss = double.NaN;
            RegressionTrainer.Train(net, sgd, data, c.Batch, e, e + 1, order, be, (_, l) => loss = l);
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"expert {k} epoch {e + 1}: the regression loss is {loss}; lower the expert learning rate (now {c.Lr})");
            StateDictIO.Save(net, store.SnapshotPath(k, e + 1), SnapshotMeta(k, e + 1, loss));
            var entries = sgd.StateTensors().Select(kv => kv.Value.ToEntry("sgd." + kv.Key)).ToList();
            Safetensors.Write(store.StatePath(k), entries, new Dictionary<string, string>
            {
                ["epoch"] = (e + 1).ToString(CultureInfo.InvariantCulture),
                ["sgd"] = sgd.StateJson(),
                ["rng"] = JsonSerializer.Serialize(new[] { order.Seed, order.Counter }),
            });
            onEpoch?.Invoke(k, e + 1, loss);
        }
        if (end == c.Epochs)
            AtomicFile.WriteAllText(store.DonePath(k), JsonSerializer.Serialize(new { expert = k, epochs = c.Epochs, finished_utc = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture) }));
    }

    /// <summary>
    /// <c>rawdistill experts train</c>: opens (or creates) the store at <paramref name="dir"/> for
    /// experts regressing onto <paramref name="teacher"/>'s targets of <paramref name="train"/>
    /// (stage 0, cached; or <paramref name="targets"/> when the caller has them), then trains the unfinished experts of the shard one after another.
    /// </summary>
    public static ExpertStore TrainShard(string dir, ExpertConfig config, Ssl.Teacher teacher, string teacherHash, ImageDataset train,
        (int Index, int Count) shard, IBackend? backend = null, Action<string>? log = null, float[]? targets = null)
    {
        var fitted = teacher.Fit(train);
        targets ??= TeacherTargets.Get(teacher, teacherHash, train, log: log);
        var store = ExpertStore.OpenOrCreate(dir, Manifest(config, teacherHash, fitted, teacher.Normalization, teacher.FeatureDim));
        var data = RegressionData.FromDataset(fitted, targets, teacher.Normalization);
        var mine = Shard(config.Experts, shard.Index, shard.Count);
        // One display over the shard's expert epochs (the ones done before a resume count as done).
        long done = mine.Sum(k => (long)store.Status(k).EpochsDone);
        using var progress = ProgressDisplay.Start("expert epoch", (long)mine.Length * config.Epochs, done, log);
        foreach (var k in mine)
        {
            var st = store.Status(k);
            if (st.Finished)
            {
                progress.Line($"expert {k}: finished already");
                continue;
            }
            if (st.EpochsDone > 0) progress.Line($"expert {k}: resuming after epoch {st.EpochsDone}");
            Train(store, k, data, backend, (e, ep, loss) =>
                progress.Report(++done, detail: string.Create(CultureInfo.InvariantCulture, $"expert {e} epoch {ep}/{config.Epochs} loss {loss:G5}"),
                    keep: ep == config.Epochs));
        }
        return store;
    }

    static Dictionary<string, string> SnapshotMeta(int k, int e, double loss) => new()
    {
        ["format"] = "rawdistill-expert-snapshot/1",
        ["expert"] = k.ToString(CultureInfo.InvariantCulture),
        ["epoch"] = e.ToString(CultureInfo.InvariantCulture),
        ["loss"] = loss.ToString("R", CultureInfo.InvariantCulture),
    };
}
