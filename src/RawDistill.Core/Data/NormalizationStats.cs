namespace RawDistill.Data;

using System.Text.Json;

/// <summary>
/// Per-channel mean and standard deviation of a dataset's training images, in [0, 1] pixel
/// units (pixel / 255). Models see (x − mean) / std; artifacts (teachers, distilled sets)
/// store these numbers in their metadata so that a later run normalizes exactly as the run
/// that produced them did.
/// </summary>
/// <param name="Mean">Mean per channel.</param>
/// <param name="Std">Population standard deviation per channel (over all pixels of all images).</param>
public sealed record NormalizationStats(double[] Mean, double[] Std)
{
    /// <summary>The metadata key artifacts store <see cref="ToJson"/> under.</summary>
    public const string MetadataKey = "normalization";

    /// <summary>Number of channels.</summary>
    public int Channels => Mean.Length;

    /// <summary>Statistics that leave pixels in [0, 1] unchanged (mean 0, std 1).</summary>
    public static NormalizationStats Identity(int channels) => new(new double[channels], Enumerable.Repeat(1.0, channels).ToArray());

    /// <summary>{"mean":[...],"std":[...]}: a JSON string for safetensors metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dto(Mean, Std));

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    /// <exception cref="InvalidDataException">The text is not such an object, or mean and std differ in length.</exception>
    public static NormalizationStats FromJson(string json)
    {
        Dto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<Dto>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"normalization statistics are not valid JSON ({e.Message}): {json}", e);
        }

        if (dto?.mean is not { Length: > 0 } mean || dto.std is not { } std || std.Length != mean.Length || std.Any(s => !(s > 0)))
            throw new InvalidDataException($"normalization statistics need equally long non-empty \"mean\" and positive \"std\" arrays: {json}");
        return new NormalizationStats(mean, std);
    }

    /// <summary>The same statistics repeated to more channels (after a 1→3 channel conversion).</summary>
    public NormalizationStats Repeat(int channels)
    {
        if (channels == Channels) return this;
        if (Channels != 1) throw new ArgumentException($"cannot turn {Channels}-channel statistics into {channels}-channel ones");
        return new NormalizationStats(Enumerable.Repeat(Mean[0], channels).ToArray(), Enumerable.Repeat(Std[0], channels).ToArray());
    }

    /// <inheritdoc/>
    public override string ToString() => ToJson();

    // Lower-case names so the JSON reads like the PyTorch convention (transforms.Normalize(mean, std)).
#pragma warning disable IDE1006
    private sealed record Dto(double[]? mean, double[]? std);
#pragma warning restore IDE1006
}
