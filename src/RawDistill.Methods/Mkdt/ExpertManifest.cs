namespace RawDistill.Methods.Mkdt;

using System.Text.Json;
using System.Text.Json.Serialization;
using RawDistill.Methods.Common;

/// <summary>One parameter of the student: its state-dict name and shape (the order of the flat θ).</summary>
public sealed record ExpertParameter([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("shape")] int[] Shape);

/// <summary>
/// <c>manifest.json</c> of an expert store: what every expert of the folder was trained with
/// and on (so that shards on several machines agree, and a distillation run can check that
/// the experts fit its teacher and data), and the student's parameters in flat-θ order.
/// </summary>
public sealed record ExpertManifest
{
    /// <summary>Value of <see cref="FormatName"/>.</summary>
    public const string FormatValue = "rawdistill-experts/1";

    /// <summary>Format tag.</summary>
    [JsonPropertyName("format")] public string FormatName { get; init; } = FormatValue;

    /// <summary>How the experts are trained.</summary>
    [JsonPropertyName("config")] public required ExpertConfig Config { get; init; }

    /// <summary>SHA-256 of the teacher whose targets the experts regress onto.</summary>
    [JsonPropertyName("teacher_sha256")] public required string TeacherHash { get; init; }

    /// <summary>Dataset name.</summary>
    [JsonPropertyName("dataset")] public required string Dataset { get; init; }

    /// <summary>SHA-256 of the training images (<see cref="TeacherTargets.DatasetHash"/>).</summary>
    [JsonPropertyName("dataset_sha256")] public required string DatasetHash { get; init; }

    /// <summary>Images in the training set.</summary>
    [JsonPropertyName("images")] public required int Images { get; init; }

    /// <summary>Input normalization (JSON of <see cref="Data.NormalizationStats"/>).</summary>
    [JsonPropertyName("normalization")] public required string Normalization { get; init; }

    /// <summary>The student architecture.</summary>
    [JsonPropertyName("net")] public required DistilledNet Net { get; init; }

    /// <summary>d, the teacher's feature dimension (the student's head outputs).</summary>
    [JsonPropertyName("feature_dim")] public required int FeatureDim { get; init; }

    /// <summary>The student's parameters in flat-θ order.</summary>
    [JsonPropertyName("parameters")] public required ExpertParameter[] Parameters { get; init; }

    /// <summary>|θ|.</summary>
    [JsonIgnore] public long ParameterCount => Parameters.Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b));

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    public static ExpertManifest FromJson(string json) => JsonSerializer.Deserialize<ExpertManifest>(json) ?? throw new InvalidDataException("expert manifest: null");

    /// <summary>
    /// The first difference that makes two manifests describe different experts, or null. The
    /// number of experts K is not one: a store can grow (expert k is the same whatever K is).
    /// </summary>
    public string? Mismatch(ExpertManifest other)
    {
        string a = (Config with { Experts = 0 }).ToJson(), b = (other.Config with { Experts = 0 }).ToJson();
        if (a != b) return $"config {Config.ToJson()} vs {other.Config.ToJson()}";
        if (TeacherHash != other.TeacherHash) return $"teacher sha256 {TeacherHash} vs {other.TeacherHash}";
        if (DatasetHash != other.DatasetHash) return $"dataset sha256 {DatasetHash} vs {other.DatasetHash} ({Dataset} vs {other.Dataset})";
        if (Net.ToJson() != other.Net.ToJson()) return $"student {Net.ToJson()} vs {other.Net.ToJson()}";
        if (FeatureDim != other.FeatureDim) return $"feature dim {FeatureDim} vs {other.FeatureDim}";
        return null;
    }
}
