namespace RawDistill.Methods.Ssl;

using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Nn;
using RawDistill.Nn.Models;

/// <summary>What <see cref="TeacherImport"/> needs besides the weights.</summary>
public sealed record TeacherImportOptions
{
    /// <summary>resnet10 | resnet18 | resnet34 | resnet50 (<see cref="TeacherImport.Architectures"/>).</summary>
    public string Arch { get; init; } = "resnet18";

    /// <summary>The key prefix of the encoder (<c>backbone.</c>, <c>module.</c>, "" …); null: found from the keys.</summary>
    public string? Prefix { get; init; }

    /// <summary>The stem; null: from conv1's kernel (3×3 → CIFAR, 7×7 → ImageNet).</summary>
    public ResNetStem? Stem { get; init; }

    /// <summary>conv1's padding, which no weight shape reveals; null: 2 with the CIFAR stem
    /// (KRR-ST's and solo-learn's teachers), 3 with the ImageNet stem (torchvision).</summary>
    public int? StemPadding { get; init; }

    /// <summary>Input height = width the teacher was trained at; null: 32 (CIFAR stem) or 224 (ImageNet stem).</summary>
    public int? Size { get; init; }

    /// <summary>The statistics the teacher's inputs were normalized with during training.</summary>
    public required NormalizationStats Normalization { get; init; }

    /// <summary>How the statistics were named (preset, explicit numbers, or the dataset they were computed on), recorded in the file.</summary>
    public string NormalizationSource { get; init; } = "explicit";

    /// <summary>The dataset the teacher was trained on, recorded in the file.</summary>
    public string Dataset { get; init; } = "unknown";
}

/// <summary>
/// How the source keys map onto the encoder: the configuration they imply, the prefix, the
/// encoder name → source name mapping, and what was left out.
/// </summary>
/// <param name="Encoder">The encoder the weights describe (width and channels from conv1, stem and padding as resolved).</param>
/// <param name="Prefix">The prefix removed from the encoder's keys.</param>
/// <param name="Mapping">Encoder key (after prefix removal and renaming) → source key.</param>
/// <param name="Dropped">Source keys under the prefix that belong to a classification head (<c>fc</c>, <c>linear</c>).</param>
/// <param name="Ignored">Source keys outside the prefix (projector, online classifier, momentum encoder…).</param>
/// <param name="Renamed">Source → encoder renamings other than the prefix (kuangliu's <c>shortcut</c> → <c>downsample</c>).</param>
/// <param name="OtherEncoders">Other prefixes that also hold a ResNet (e.g. <c>momentum_backbone.</c>), not imported.</param>
public sealed record TeacherImportPlan(EncoderConfig Encoder, string Prefix, IReadOnlyDictionary<string, string> Mapping,
    IReadOnlyList<string> Dropped, IReadOnlyList<string> Ignored, IReadOnlyList<string> Renamed, IReadOnlyList<string> OtherEncoders);

/// <summary>The outcome of an import: the plan, the tensors loaded, and the BatchNorm counters the source lacked.</summary>
public sealed record TeacherImportResult(TeacherImportPlan Plan, int Loaded, IReadOnlyList<string> MissingCounters, int FeatureDim, long Parameters);

/// <summary>
/// Turns a PyTorch ResNet state dict (converted to safetensors by
/// <c>tools/torch_to_safetensors.py</c>; nothing is unpickled here) into a RawDistill teacher
/// file (<see cref="Teacher"/>): finds the encoder's key prefix (solo-learn's <c>backbone.</c>,
/// DataParallel's <c>module.</c>, <c>encoder.</c>…), drops a classification head (<c>fc</c>),
/// maps kuangliu/pytorch-cifar's <c>shortcut</c> to torchvision's <c>downsample</c>, reads the
/// width, input channels and stem from conv1, checks every key and shape against the named
/// architecture (reporting missing keys, unexpected keys and size mismatches the way PyTorch's
/// <c>load_state_dict</c> does), and writes the teacher with its normalization, input size and
/// stem padding recorded.
/// </summary>
public static partial class TeacherImport
{
    /// <summary>The architectures an import can name.</summary>
    public const string Architectures = "resnet10 | resnet18 | resnet34 | resnet50";

    /// <summary>Value of the teacher file's <c>method</c> metadata for imported teachers.</summary>
    public const string Method = "imported";

    /// <summary>Prefixes chosen without asking when several encoders are in one file, most likely first
    /// (solo-learn keeps the online encoder under <c>backbone.</c> and the EMA one under <c>momentum_backbone.</c>).</summary>
    public static readonly IReadOnlyList<string> KnownPrefixes = ["", "backbone.", "module.", "module.backbone.", "encoder.", "module.encoder.", "model.", "net."];

    // Present in every torchvision ResNet; what precedes it is an encoder's prefix.
    const string Anchor = "layer1.0.conv1.weight";

    static readonly string[] HeadNames = ["fc.", "linear."];

    /// <summary>Reads the weights, checks them against the architecture and writes the teacher file (atomically).</summary>
    /// <exception cref="InvalidDataException">Not a safetensors file, no ResNet encoder in it, or keys/shapes that do not fit (the message lists them all).</exception>
    /// <exception cref="ArgumentException">An option that cannot hold (unknown architecture, normalization with the wrong channel count).</exception>
    public static TeacherImportResult Import(string weightsPath, string outputPath, TeacherImportOptions options)
    {
        var file = Safetensors.Read(weightsPath);
        var plan = Plan(file.Entries.Select(e => (e.Name, e.Shape)), options, weightsPath);
        // Gray statistics for an RGB teacher: Teacher.Fit replicates gray images to three channels, so repeat them too.
        if (options.Normalization.Channels == 1 && plan.Encoder.Channels == 3) options = options with { Normalization = options.Normalization.Repeat(3) };
        if (options.Normalization.Channels != plan.Encoder.Channels)
            throw new ArgumentException($"the normalization has {options.Normalization.Channels} channels, the encoder's conv1 takes {plan.Encoder.Channels}");
        var encoder = plan.Encoder.Build();
        try
        {
            var missingCounters = Check(plan, encoder, file.Entries.ToDictionary(e => e.Name, e => e.Shape), weightsPath);
            var source = plan.Mapping.ToDictionary(kv => kv.Key, kv => file[kv.Value]);
            var report = StateDictIO.Load(encoder, source, strict: true, origin: weightsPath);
            var extra = new Dictionary<string, string>
            {
                ["method"] = Method,
                ["imported_from"] = Path.GetFileName(weightsPath),
                ["imported_sha256"] = Sha256(weightsPath),
                ["imported_prefix"] = plan.Prefix,
                ["normalization_source"] = options.NormalizationSource,
            };
            foreach (var key in new[] { "source", "torch_version" })
                if (file.Metadata.TryGetValue(key, out var v)) extra["imported_" + key] = v;
            Teacher.Save(outputPath, encoder, plan.Encoder, options.Normalization, options.Dataset, extra);
            return new TeacherImportResult(plan, report.Loaded.Count, missingCounters, encoder.FeatureDim, encoder.ParameterCount);
        }
        finally
        {
            encoder.Dispose();
        }
    }

    /// <summary>
    /// Maps source keys (name, shape) onto an encoder configuration without reading any values:
    /// the prefix, the head and renamings, and the width, channels and stem conv1 implies.
    /// </summary>
    /// <exception cref="InvalidDataException">No ResNet encoder (or several and no way to choose), or a conv1 that fits no stem.</exception>
    public static TeacherImportPlan Plan(IEnumerable<(string Name, int[] Shape)> sourceKeys, TeacherImportOptions options, string origin)
    {
        var arch = options.Arch.Trim().ToLowerInvariant();
        if (arch is not ("resnet10" or "resnet18" or "resnet34" or "resnet50"))
            throw new ArgumentException($"unknown architecture '{options.Arch}'; an import takes {Architectures}");
        var source = sourceKeys.ToList();
        var shapes = source.ToDictionary(s => s.Name, s => s.Shape, StringComparer.Ordinal);

        var candidates = source.Where(s => s.Name.EndsWith(Anchor, StringComparison.Ordinal))
            .Select(s => s.Name[..^Anchor.Length]).Distinct().ToList();
        string prefix;
        if (options.Prefix != null)
        {
            prefix = options.Prefix;
            if (!candidates.Contains(prefix))
                throw new InvalidDataException($"{origin}: no ResNet under the prefix '{prefix}' (no key '{prefix}{Anchor}'); " +
                    (candidates.Count > 0 ? $"ResNets were found under {Quote(candidates)}" : $"first keys: {Quote(source.Take(8).Select(s => s.Name))}"));
        }
        else if (candidates.Count == 1) prefix = candidates[0];
        else if (candidates.Count == 0)
            throw new InvalidDataException($"{origin}: no ResNet state dict in it (no key ends with '{Anchor}'); first keys: {Quote(source.Take(8).Select(s => s.Name))}");
        else
            prefix = KnownPrefixes.FirstOrDefault(candidates.Contains)
                ?? throw new InvalidDataException($"{origin}: ResNets under several prefixes ({Quote(candidates)}); choose one with the prefix option");

        string conv1 = prefix + "conv1.weight";
        if (!shapes.TryGetValue(conv1, out var c1) || c1.Length != 4)
            throw new InvalidDataException($"{origin}: no 4-d '{conv1}' (the stem convolution) under the prefix '{prefix}'");
        var stem = c1[2] switch
        {
            3 when c1[3] == 3 => ResNetStem.Cifar,
            7 when c1[3] == 7 => ResNetStem.ImageNet,
            _ => throw new InvalidDataException($"{origin}: '{conv1}' is {Shape(c1)}; a ResNet stem is 3×3 (CIFAR) or 7×7 (ImageNet)"),
        };
        if (options.Stem is { } wanted && wanted != stem)
            throw new InvalidDataException($"{origin}: the {(wanted == ResNetStem.Cifar ? "CIFAR stem takes a 3×3" : "ImageNet stem takes a 7×7")} conv1, but '{conv1}' is {Shape(c1)} " +
                $"(that is the {(stem == ResNetStem.Cifar ? "CIFAR" : "ImageNet")} stem)");
        int width = c1[0], channels = c1[1];
        if (channels is not (1 or 3)) throw new InvalidDataException($"{origin}: '{conv1}' takes {channels} input channels; images have 1 or 3");
        int padding = options.StemPadding ?? (stem == ResNetStem.Cifar ? 2 : 3);
        int size = options.Size ?? (stem == ResNetStem.Cifar ? 32 : 224);
        if (padding < 0 || size < 8) throw new ArgumentException($"stem padding {padding} / input size {size}: expected padding ≥ 0 and size ≥ 8");
        var config = new EncoderConfig
        {
            Arch = arch,
            Channels = channels,
            Size = size,
            Width = width,
            StemPadding = padding,
            Stem = stem == ResNetStem.ImageNet ? "imagenet" : null,
        };

        var mapping = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> dropped = [], ignored = [], renamed = [];
        foreach (var (name, _) in source)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || candidates.Any(c => c != prefix && c.Length > prefix.Length && name.StartsWith(c, StringComparison.Ordinal)))
            {
                ignored.Add(name);
                continue;
            }
            var local = name[prefix.Length..];
            if (HeadNames.Any(h => local.StartsWith(h, StringComparison.Ordinal)))
            {
                dropped.Add(name);
                continue;
            }
            var target = Rename(local);
            if (target != local) renamed.Add($"{local} → {target}");
            if (mapping.TryGetValue(target, out var first))
                throw new InvalidDataException($"{origin}: both '{first}' and '{name}' map to the encoder key '{target}'");
            mapping[target] = name;
        }
        var others = candidates.Where(c => c != prefix).ToList();
        return new TeacherImportPlan(config, prefix, mapping, dropped, ignored, renamed, others);
    }

    /// <summary>
    /// Compares the mapped keys and shapes with the encoder's state dict. Returns the BatchNorm
    /// counters (<c>num_batches_tracked</c>) the source lacks, which PyTorch too would list as
    /// missing but which no forward pass reads.
    /// </summary>
    /// <exception cref="InvalidDataException">Missing keys, unexpected keys or size mismatches, all listed in PyTorch's words.</exception>
    public static IReadOnlyList<string> Check(TeacherImportPlan plan, Module encoder, IReadOnlyDictionary<string, int[]> sourceShapes, string origin)
    {
        var state = encoder.StateDict();
        var names = state.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var missing = state.Where(p => !plan.Mapping.ContainsKey(p.Key)).Select(p => p.Key).ToList();
        var counters = missing.Where(IsCounter).ToList();
        missing.RemoveAll(IsCounter);
        var unexpected = plan.Mapping.Keys.Where(k => !names.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var mismatches = new List<string>();
        foreach (var (name, t) in state)
        {
            if (!plan.Mapping.TryGetValue(name, out var src)) continue;
            var shape = sourceShapes[src];
            if (!shape.AsSpan().SequenceEqual(t.Shape))
                mismatches.Add($"size mismatch for {name}: copying a param with shape {Shape(shape)} from checkpoint, the shape in current model is {Shape(t.Shape)}.");
        }
        if (missing.Count == 0 && unexpected.Count == 0 && mismatches.Count == 0) return counters;

        var e = plan.Encoder;
        var guess = GuessArchitecture(plan.Mapping.Keys);
        var parts = new List<string>
        {
            $"{origin} does not fit {e.Arch} ({(e.Stem == "imagenet" ? "ImageNet" : "CIFAR")} stem, width {e.Width}, {e.Channels} input channels)" +
            (plan.Prefix.Length > 0 ? $" after removing the prefix '{plan.Prefix}'" : "") +
            (guess != null && guess != e.Arch ? $"; the keys look like {guess}" : "") + ". Error(s) in loading state_dict:",
        };
        if (missing.Count > 0) parts.Add($"Missing key(s) in state_dict: {Quote(missing)}.");
        if (unexpected.Count > 0) parts.Add($"Unexpected key(s) in state_dict: {Quote(unexpected)}.");
        parts.AddRange(mismatches.Take(5));
        if (mismatches.Count > 5) parts.Add($"({mismatches.Count - 5} more size mismatches)");
        throw new InvalidDataException(string.Join(' ', parts));
    }

    /// <summary>The architecture a set of (prefix-free) keys has: blocks per stage and block kind; null when the keys are no ResNet.</summary>
    public static string? GuessArchitecture(IEnumerable<string> keys)
    {
        var blocks = new int[4];
        bool bottleneck = false, any = false;
        foreach (var k in keys)
        {
            var m = LayerKey().Match(k);
            if (!m.Success) continue;
            any = true;
            int stage = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1, block = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (stage is < 0 or > 3) return $"a network with a stage 'layer{stage + 1}'";
            blocks[stage] = Math.Max(blocks[stage], block + 1);
            bottleneck |= m.Groups[3].Value == "conv3";
        }
        if (!any) return null;
        string b = string.Join(',', blocks);
        return (b, bottleneck) switch
        {
            ("1,1,1,1", false) => "resnet10",
            ("2,2,2,2", false) => "resnet18",
            ("3,4,6,3", false) => "resnet34",
            ("3,4,6,3", true) => "resnet50",
            ("3,4,23,3", true) => "resnet101 (not in the zoo)",
            ("3,8,36,3", true) => "resnet152 (not in the zoo)",
            _ => $"a ResNet with blocks [{b}]{(bottleneck ? " of bottlenecks" : "")} (not in the zoo)",
        };
    }

    [GeneratedRegex(@"^layer(\d+)\.(\d+)\.(conv\d)?")]
    private static partial Regex LayerKey();

    // kuangliu/pytorch-cifar names the projection shortcut "shortcut"; torchvision "downsample".
    static string Rename(string key) => key.Replace(".shortcut.", ".downsample.", StringComparison.Ordinal);

    static bool IsCounter(string key) => key.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    static string Shape(int[] s) => "[" + string.Join(", ", s) + "]";

    static string Quote(IEnumerable<string> keys)
    {
        var list = keys.ToList();
        var shown = string.Join(", ", list.Take(10).Select(k => $"\"{k}\""));
        return list.Count > 10 ? $"{shown} (and {list.Count - 10} more)" : shown;
    }

    static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }
}
