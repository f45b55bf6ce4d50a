namespace RawDistill.Nn;

using System.Text;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>
/// What a state load matched: keys loaded, keys the module has but the source lacks
/// (<see cref="Missing"/>), keys the source has but the module lacks (<see cref="Unexpected"/>).
/// </summary>
public sealed record StateLoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>True when every key matched both ways.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0;

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder($"{Loaded.Count} tensors loaded");
        if (Missing.Count > 0) sb.Append($"; missing in the source ({Missing.Count}): {string.Join(", ", Missing)}");
        if (Unexpected.Count > 0) sb.Append($"; unexpected in the source ({Unexpected.Count}): {string.Join(", ", Unexpected)}");
        return sb.ToString();
    }
}

/// <summary>Thrown by a strict state load whose keys do not match, or by any load with a shape or dtype mismatch.</summary>
public sealed class StateLoadException(string message, StateLoadReport? report = null) : Exception(message)
{
    /// <summary>The key report, when the keys were compared.</summary>
    public StateLoadReport? Report { get; } = report;
}

/// <summary>
/// Module state (parameters and buffers, by state-dict name) to and from safetensors.
/// Values are checked by shape; f32 ↔ f64 converts, and <c>num_batches_tracked</c> (i64 in
/// PyTorch, unsupported by our dtypes) is stored as i32 — convert PyTorch checkpoints with
/// <c>{k: v.int() if v.dtype == torch.int64 else v}</c> (or drop those keys: a missing
/// <c>num_batches_tracked</c> does not fail a strict load). A checkpoint whose keys carry a
/// prefix (solo-learn's <c>backbone.</c>) loads with <c>prefix: "backbone."</c>.
/// </summary>
public static class StateDictIO
{
    /// <summary>Writes the module's state dict (atomically) with optional metadata.</summary>
    public static void Save(Module module, string path, IReadOnlyDictionary<string, string>? metadata = null, string prefix = "") =>
        Safetensors.Write(path, ToEntries(module, prefix), metadata);

    /// <summary>The state dict as safetensors entries (copies of the values).</summary>
    public static IEnumerable<SafetensorsEntry> ToEntries(Module module, string prefix = "")
    {
        foreach (var (name, t) in module.StateDict())
            yield return ToEntry(prefix + name, t);
    }

    /// <summary>One tensor as a safetensors entry (a copy).</summary>
    public static SafetensorsEntry ToEntry(string name, Tensor t) => t.ToEntry(name);

    /// <summary>Reads a file into the module by name. Strict: any missing or unexpected key throws, listing them all.</summary>
    public static StateLoadReport Load(Module module, string path, bool strict = true, string prefix = "") =>
        Load(module, Safetensors.Read(path), strict, prefix);

    /// <summary>Loads the entries whose names start with <paramref name="prefix"/> (stripped) into the module.</summary>
    public static StateLoadReport Load(Module module, SafetensorsFile file, bool strict = true, string prefix = "")
    {
        var source = new Dictionary<string, SafetensorsEntry>();
        foreach (var e in file.Entries)
            if (e.Name.StartsWith(prefix, StringComparison.Ordinal)) source[e.Name[prefix.Length..]] = e;
        return Load(module, source, strict, file.Path);
    }

    /// <summary>Loads named entries into the module (see <see cref="Load(Module, string, bool, string)"/>).</summary>
    public static StateLoadReport Load(Module module, IReadOnlyDictionary<string, SafetensorsEntry> source, bool strict = true, string origin = "state")
    {
        var state = module.StateDict();
        var names = state.Select(p => p.Key).ToHashSet();
        var missing = state.Where(p => !source.ContainsKey(p.Key)).Select(p => p.Key).ToList();
        var unexpected = source.Keys.Where(k => !names.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var mismatches = new List<string>();
        foreach (var (name, t) in state)
        {
            if (!source.TryGetValue(name, out var e)) continue;
            if (!Shape.Equal(e.Shape, t.Shape)) mismatches.Add($"{name}: source {Shape.Format(e.Shape)}, module {Shape.Format(t.Shape)}");
            else if (e.DType != t.DType && !(e.DType.IsFloat() && t.DType.IsFloat()))
                mismatches.Add($"{name}: source {e.DType}, module {t.DType}");
        }
        var loaded = state.Where(p => source.ContainsKey(p.Key)).Select(p => p.Key).ToList();
        var report = new StateLoadReport(loaded, missing, unexpected);
        if (mismatches.Count > 0)
            throw new StateLoadException($"{origin}: {mismatches.Count} tensor(s) do not match {module.GetType().Name}: {string.Join("; ", mismatches)}", report);
        // Like PyTorch's BatchNorm, a checkpoint without num_batches_tracked (older or converted
        // ones) still loads strictly: the counter keeps its value; the key stays listed as missing.
        if (strict && (unexpected.Count > 0 || missing.Any(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal))))
            throw new StateLoadException($"{origin}: keys do not match {module.GetType().Name}: {report}", report);
        foreach (var (name, t) in state)
        {
            if (!source.TryGetValue(name, out var e)) continue;
            if (e.DType == t.DType) t.Backend.Upload(t.Storage, e.Data);
            else
            {
                using var tmp = Tensor.Empty(t.Shape, e.DType, t.Backend);
                tmp.Backend.Upload(tmp.Storage, e.Data);
                using var cast = Ops.Cast(tmp, t.DType);
                t.CopyFrom(cast);
            }
        }
        module.NotifyStateLoaded();
        return report;
    }
}
