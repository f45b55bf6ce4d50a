namespace RawDistill.Methods.Mkdt;

using System.Globalization;
using System.Text.Json;
using RawDistill.Backends;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Tensors;

/// <summary>Where one expert stands.</summary>
/// <param name="Expert">k.</param>
/// <param name="EpochsDone">Epochs trained (and saved) so far.</param>
/// <param name="Finished">All snapshots written and the completion marker present.</param>
public readonly record struct ExpertStatus(int Expert, int EpochsDone, bool Finished);

/// <summary>
/// A folder of expert trajectories, shared by every shard that trains into it:
/// <code>
/// manifest.json                            ExpertManifest (written once, checked by every later writer)
/// expert-007/epoch-00.safetensors … epoch-20.safetensors
///                                          θ after each epoch, the student's state dict by tensor name
/// expert-007/state.safetensors             resume state: SGD momentum, shuffling RNG, epochs done
/// expert-007/done.json                     written last: the expert is finished
/// </code>
/// Every file is written atomically (temporary file + rename), and an expert counts as
/// finished only when <c>done.json</c> exists and every snapshot is there, so a half-written
/// expert (a killed shard) is never taken as finished: its trainer resumes from its state.
/// </summary>
public sealed class ExpertStore
{
    /// <summary>The manifest file's name.</summary>
    public const string ManifestFile = "manifest.json";

    readonly Dictionary<(int, int), float[]> _cache = [];

    ExpertStore(string dir, ExpertManifest manifest) => (Directory, Manifest) = (dir, manifest);

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>The manifest.</summary>
    public ExpertManifest Manifest { get; }

    /// <summary>Keep loaded snapshots in memory (distillation reads the same few many times).</summary>
    public bool CacheSnapshots { get; set; }

    /// <summary>
    /// Opens the store at <paramref name="dir"/>, creating it with <paramref name="manifest"/>
    /// when it has none. An existing manifest must describe the same experts.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder holds experts trained differently (names the difference).</exception>
    public static ExpertStore OpenOrCreate(string dir, ExpertManifest manifest)
    {
        string path = Path.Combine(dir, ManifestFile);
        if (File.Exists(path))
        {
            var existing = Open(dir);
            if (existing.Manifest.Mismatch(manifest) is { } why)
                throw new InvalidDataException($"{path}: the experts there were trained differently ({why}); use another folder");
            if (manifest.Config.Experts <= existing.Manifest.Config.Experts) return existing;
            // More experts asked for: the store grows (the existing ones stay valid).
            AtomicFile.WriteAllText(path, (existing.Manifest with { Config = existing.Manifest.Config with { Experts = manifest.Config.Experts } }).ToJson());
            return Open(dir);
        }
        System.IO.Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(path, manifest.ToJson());
        // Another shard may have won the race: whoever wrote last, both wrote the same experts' manifest.
        return Open(dir);
    }

    /// <summary>Opens an existing store.</summary>
    /// <exception cref="InvalidDataException">No or unreadable manifest.</exception>
    public static ExpertStore Open(string dir)
    {
        string path = Path.Combine(dir, ManifestFile);
        if (!File.Exists(path)) throw new InvalidDataException($"{dir}: no {ManifestFile} (not an expert store; train one with `rawdistill experts train`)");
        try
        {
            var m = ExpertManifest.FromJson(File.ReadAllText(path));
            if (m.FormatName != ExpertManifest.FormatValue) throw new InvalidDataException($"{path}: format '{m.FormatName}', expected {ExpertManifest.FormatValue}");
            return new ExpertStore(dir, m);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid manifest ({e.Message})", e);
        }
    }

    /// <summary>Folder of expert k.</summary>
    public string ExpertDir(int k) => Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"expert-{k:D3}"));

    /// <summary>θ of expert k after epoch e (e = 0: the initialization).</summary>
    public string SnapshotPath(int k, int e) => Path.Combine(ExpertDir(k), string.Create(CultureInfo.InvariantCulture, $"epoch-{e:D2}.safetensors"));

    /// <summary>Resume state of expert k.</summary>
    public string StatePath(int k) => Path.Combine(ExpertDir(k), "state.safetensors");

    /// <summary>Completion marker of expert k.</summary>
    public string DonePath(int k) => Path.Combine(ExpertDir(k), "done.json");

    /// <summary>Where expert k stands.</summary>
    public ExpertStatus Status(int k)
    {
        int epochs = Manifest.Config.Epochs;
        bool all = Enumerable.Range(0, epochs + 1).All(e => File.Exists(SnapshotPath(k, e)));
        if (File.Exists(DonePath(k)) && all) return new ExpertStatus(k, epochs, true);
        int done = 0;
        if (File.Exists(StatePath(k)))
        {
            try
            {
                done = int.Parse(Safetensors.Read(StatePath(k)).Metadata["epoch"], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is InvalidDataException or KeyNotFoundException or FormatException)
            {
                done = 0;
            }
        }
        return new ExpertStatus(k, done, false);
    }

    /// <summary>The finished experts, in order (every expert the folder holds, even beyond the K a caller asked for).</summary>
    public int[] Finished() => Enumerable.Range(0, Manifest.Config.Experts).Where(k => Status(k).Finished).ToArray();

    /// <summary>θ of expert k after epoch e as a flat vector in manifest order.</summary>
    /// <exception cref="InvalidDataException">Missing file or tensor, or a shape that differs from the manifest's.</exception>
    public float[] Snapshot(int k, int e)
    {
        if (CacheSnapshots && _cache.TryGetValue((k, e), out var hit)) return hit;
        string path = SnapshotPath(k, e);
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: no such snapshot (expert {k}, epoch {e})");
        var file = Safetensors.Read(path);
        var flat = new float[Manifest.ParameterCount];
        int offset = 0;
        foreach (var p in Manifest.Parameters)
        {
            if (!file.TryGet(p.Name, out var entry)) throw new InvalidDataException($"{path}: no tensor '{p.Name}'");
            if (!entry.Shape.SequenceEqual(p.Shape))
                throw new InvalidDataException($"{path}: '{p.Name}' is [{string.Join(", ", entry.Shape)}], the manifest says [{string.Join(", ", p.Shape)}]");
            var v = file.GetF32(p.Name);
            v.CopyTo(flat, offset);
            offset += v.Length;
        }
        if (CacheSnapshots) _cache[(k, e)] = flat;
        return flat;
    }

    /// <summary><see cref="Snapshot"/> as a 1-D tensor.</summary>
    public Tensor SnapshotTensor(int k, int e, IBackend? backend = null) => Tensor.From<float>(Snapshot(k, e), [(int)Manifest.ParameterCount], backend);
}
