namespace RawDistill.Methods.Common;

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Nn.Models;

/// <summary>
/// The architecture a set was distilled for (and that its evaluation pre-trains): ConvNet
/// widths and normalization at an input geometry. Stored as the <c>net</c> metadata JSON
/// <c>{"widths":[..],"norm":"batch","channels":1,"size":28}</c>.
/// </summary>
public sealed record DistilledNet(
    [property: JsonPropertyName("widths")] int[] Widths,
    [property: JsonPropertyName("norm")] string Norm,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("size")] int Size)
{
    /// <summary>The ConvNet (avg-pool, conv bias) with <paramref name="outputs"/> head outputs (0 = none).</summary>
    public ConvNetConfig ToConvNet(int outputs = 0) => new(new ImageShape(Channels, Size), Widths, ParseNorm(Norm), ConvPool.Avg, true, null, outputs);

    /// <summary>batch | instance | none → <see cref="ConvNorm"/>.</summary>
    public static ConvNorm ParseNorm(string norm) => norm.ToLowerInvariant() switch
    {
        "batch" => ConvNorm.Batch,
        "instance" => ConvNorm.Instance,
        "none" => ConvNorm.None,
        _ => throw new ArgumentException($"norm '{norm}': expected batch | instance | none"),
    };

    /// <summary>Compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    public static DistilledNet FromJson(string json) =>
        JsonSerializer.Deserialize<DistilledNet>(json) ?? throw new InvalidDataException("distilled set: net metadata is null");
}

/// <summary>
/// A distilled set, whatever method made it (architecture.md, "pieces that exist once"): the
/// file <c>distilled.safetensors</c> holds <c>x_syn</c> (m×C×H×W, pixel space [0, 1]-ish, f32)
/// and <c>y_syn</c> (m×d, f32), and metadata: <c>format</c> = <see cref="Format"/>,
/// <c>method</c> (krr-st | mkdt), <c>config</c> (the method's config JSON), <c>teacher_sha256</c>,
/// <c>normalization</c>, <c>net</c> (<see cref="DistilledNet"/>), <c>step</c>, <c>dataset</c>,
/// and optionally <c>eta</c> (a learned step size: MKDT), <c>init</c> and
/// <c>initial_indices</c> (the real images the set started from). Files written before the
/// <c>method</c> key existed are KRR-ST sets.
/// </summary>
public sealed record DistilledSet
{
    /// <summary>Value of the <c>format</c> metadata key.</summary>
    public const string Format = "rawdistill-distilled/1";

    /// <summary>X, row-major m×C×H×W in pixel space.</summary>
    public required float[] X { get; init; }

    /// <summary>Y, row-major m×d.</summary>
    public required float[] Y { get; init; }

    /// <summary>The method that made the set.</summary>
    public required DistillMethod Method { get; init; }

    /// <summary>The method's config as JSON.</summary>
    public required string ConfigJson { get; init; }

    /// <summary>SHA-256 of the teacher file.</summary>
    public required string TeacherHash { get; init; }

    /// <summary>How every network input is normalized.</summary>
    public required NormalizationStats Normalization { get; init; }

    /// <summary>The architecture it was distilled for.</summary>
    public required DistilledNet Net { get; init; }

    /// <summary>Learned step size η (MKDT); null when the method learns none.</summary>
    public double? Eta { get; init; }

    /// <summary>Outer steps done.</summary>
    public int Step { get; init; }

    /// <summary>Name of the real dataset.</summary>
    public string Dataset { get; init; } = "";

    /// <summary>How X started: random | high-loss | high-loss-balanced (empty when unknown).</summary>
    public string Init { get; init; } = "";

    /// <summary>Indices of the real images X started from (empty when unknown).</summary>
    public int[] InitialIndices { get; init; } = [];

    /// <summary>m.</summary>
    public int Count => Y.Length / FeatureDim;

    /// <summary>d.</summary>
    public int FeatureDim => (int)(Y.Length / (X.Length / ((long)Net.Channels * Net.Size * Net.Size)));

    /// <summary>Writes the set atomically.</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? extra = null)
    {
        int img = Net.Channels * Net.Size * Net.Size, m = X.Length / img;
        if (m * img != X.Length || m == 0 || Y.Length % m != 0)
            throw new ArgumentException($"distilled set: {X.Length} pixels and {Y.Length} targets do not make m images of {Net.Channels}×{Net.Size}×{Net.Size}");
        var meta = new Dictionary<string, string>();
        if (extra != null) foreach (var (k, v) in extra) meta[k] = v;
        meta["format"] = Format;
        meta["method"] = Method.Name();
        meta["config"] = ConfigJson;
        meta["teacher_sha256"] = TeacherHash;
        meta[NormalizationStats.MetadataKey] = Normalization.ToJson();
        meta["net"] = Net.ToJson();
        meta["step"] = Step.ToString(CultureInfo.InvariantCulture);
        meta["dataset"] = Dataset;
        if (Eta is { } eta) meta["eta"] = eta.ToString("R", CultureInfo.InvariantCulture);
        if (Init.Length > 0) meta["init"] = Init;
        if (InitialIndices.Length > 0) meta["initial_indices"] = JsonSerializer.Serialize(InitialIndices);
        Safetensors.Write(path,
        [
            SafetensorsEntry.Create("x_syn", [m, Net.Channels, Net.Size, Net.Size], X),
            SafetensorsEntry.Create("y_syn", [m, Y.Length / m], Y),
        ], meta);
    }

    /// <summary>Reads a set written by <see cref="Save"/> (or by an older KRR-ST run).</summary>
    /// <exception cref="InvalidDataException">Not a distilled set, or missing/inconsistent entries; the message names the file and the key.</exception>
    public static DistilledSet Load(string path)
    {
        var file = Safetensors.Read(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var fmt) || fmt != Format)
            throw new InvalidDataException($"{path}: not a distilled set (format metadata should be {Format})");
        string Meta(string key) => meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: no '{key}' metadata");
        try
        {
            var method = meta.TryGetValue("method", out var ms) ? DistillMethods.Parse(ms) : DistillMethod.KrrSt;
            var x = file.GetF32("x_syn");
            var shape = file["x_syn"].Shape;
            if (shape.Length != 4) throw new InvalidDataException($"{path}: x_syn should be m×C×H×W, has {shape.Length} dimensions");
            var net = meta.TryGetValue("net", out var nj) ? DistilledNet.FromJson(nj) : new DistilledNet([32, 64, 128], "batch", shape[1], shape[2]);
            if (net.Channels != shape[1] || net.Size != shape[2] || shape[2] != shape[3])
                throw new InvalidDataException($"{path}: x_syn is [{string.Join(", ", shape)}], the net metadata says {net.Channels}×{net.Size}×{net.Size}");
            var y = file.GetF32("y_syn");
            if (file["y_syn"].Shape is not [var my, _] || my != shape[0])
                throw new InvalidDataException($"{path}: y_syn should have {shape[0]} rows like x_syn");
            return new DistilledSet
            {
                X = x,
                Y = y,
                Method = method,
                ConfigJson = Meta("config"),
                TeacherHash = meta.TryGetValue("teacher_sha256", out var h) ? h : "",
                Normalization = NormalizationStats.FromJson(Meta(NormalizationStats.MetadataKey)),
                Net = net,
                Eta = meta.TryGetValue("eta", out var e) ? double.Parse(e, CultureInfo.InvariantCulture) : null,
                Step = meta.TryGetValue("step", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 0,
                Dataset = meta.TryGetValue("dataset", out var ds) ? ds : "",
                Init = meta.TryGetValue("init", out var init) ? init : "",
                InitialIndices = meta.TryGetValue("initial_indices", out var ii) ? JsonSerializer.Deserialize<int[]>(ii) ?? [] : [],
            };
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }
}
