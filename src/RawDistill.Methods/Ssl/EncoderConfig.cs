namespace RawDistill.Methods.Ssl;

using System.Text.Json;
using System.Text.Json.Serialization;
using RawDistill.Nn.Models;
using RawDistill.Random;

/// <summary>
/// Everything needed to rebuild an encoder from the model zoo, as a small JSON object stored
/// in teacher files and checkpoints (metadata key <see cref="MetadataKey"/>), e.g.
/// <code>{"arch":"convnet","channels":1,"size":28,"widths":[32,64,128],"norm":"batch","pool":"avg","conv_bias":true,"first_padding":3}</code>
/// <code>{"arch":"resnet18","channels":3,"size":32,"width":64,"stem_padding":1}</code>
/// <code>{"arch":"resnet50","channels":3,"size":224,"width":64,"stem_padding":3,"stem":"imagenet"}</code>
/// The encoder has no head: its output is <see cref="ImageModel.Embed(Tensors.Tensor)"/>.
/// </summary>
public sealed record EncoderConfig
{
    /// <summary>Metadata key of the JSON text.</summary>
    public const string MetadataKey = "encoder";

    /// <summary>The architectures <see cref="Default"/> accepts.</summary>
    public const string Architectures = "convnet | resnet10 | resnet18 | resnet34 | resnet50";

    /// <summary>convnet, resnet10, resnet18, resnet34 or resnet50.</summary>
    [JsonPropertyName("arch")] public required string Arch { get; init; }

    /// <summary>Input channels.</summary>
    [JsonPropertyName("channels")] public required int Channels { get; init; }

    /// <summary>Input height = width in pixels.</summary>
    [JsonPropertyName("size")] public required int Size { get; init; }

    /// <summary>ConvNet: output channels per block.</summary>
    [JsonPropertyName("widths")] public int[]? Widths { get; init; }

    /// <summary>ConvNet: batch | instance | none.</summary>
    [JsonPropertyName("norm")] public string? Norm { get; init; }

    /// <summary>ConvNet: avg | max.</summary>
    [JsonPropertyName("pool")] public string? Pool { get; init; }

    /// <summary>ConvNet: convolution biases.</summary>
    [JsonPropertyName("conv_bias")] public bool? ConvBias { get; init; }

    /// <summary>ConvNet: padding of the first convolution (3 for 28 px 1-channel input, else 1).</summary>
    [JsonPropertyName("first_padding")] public int? FirstPadding { get; init; }

    /// <summary>ResNet: channels of the first stage.</summary>
    [JsonPropertyName("width")] public int? Width { get; init; }

    /// <summary>ResNet: padding of the 3×3 stem convolution (1; 2 in solo-learn checkpoints).</summary>
    [JsonPropertyName("stem_padding")] public int? StemPadding { get; init; }

    /// <summary>ResNet: cifar (3×3 stride-1 conv1, no max-pool; the default when absent) or imagenet
    /// (torchvision's 7×7 stride-2 conv1 and max-pool, for imported ImageNet teachers).</summary>
    [JsonPropertyName("stem")] public string? Stem { get; init; }

    /// <summary>
    /// The default encoder of an architecture for an input geometry. ConvNet: the CPU-sized
    /// teacher, widths 32-64-128 with batch norm and avg-pool (2048-d features at 28 px);
    /// ResNet: width 64, stem padding 1 (512-d features).
    /// </summary>
    public static EncoderConfig Default(string arch, int channels, int size) => arch.ToLowerInvariant() switch
    {
        "convnet" => new EncoderConfig
        {
            Arch = "convnet",
            Channels = channels,
            Size = size,
            Widths = [32, 64, 128],
            Norm = "batch",
            Pool = "avg",
            ConvBias = true,
            FirstPadding = channels == 1 && size == 28 ? 3 : 1,
        },
        "resnet10" or "resnet18" or "resnet34" or "resnet50" => new EncoderConfig { Arch = arch.ToLowerInvariant(), Channels = channels, Size = size, Width = 64, StemPadding = 1 },
        _ => throw new ArgumentException($"unknown encoder architecture '{arch}'; expected {Architectures}"),
    };

    /// <summary>Builds a freshly initialized encoder (no head) from this configuration.</summary>
    public ImageModel Build(Generator? rng = null)
    {
        var input = new ImageShape(Channels, Size);
        switch (Arch)
        {
            case "convnet":
                var norm = (Norm ?? "batch") switch
                {
                    "batch" => ConvNorm.Batch,
                    "instance" => ConvNorm.Instance,
                    "none" => ConvNorm.None,
                    var n => throw new InvalidDataException($"encoder config: unknown norm '{n}' (batch | instance | none)"),
                };
                var pool = (Pool ?? "avg") switch
                {
                    "avg" => ConvPool.Avg,
                    "max" => ConvPool.Max,
                    var p => throw new InvalidDataException($"encoder config: unknown pool '{p}' (avg | max)"),
                };
                if (Widths is not { Length: > 0 }) throw new InvalidDataException("encoder config: a convnet needs \"widths\"");
                return new ConvNet(new ConvNetConfig(input, Widths, norm, pool, ConvBias ?? true, FirstPadding), rng);
            case "resnet10" or "resnet18" or "resnet34" or "resnet50":
                var stem = (Stem ?? "cifar") switch
                {
                    "cifar" => ResNetStem.Cifar,
                    "imagenet" => ResNetStem.ImageNet,
                    var st => throw new InvalidDataException($"encoder config: unknown stem '{st}' (cifar | imagenet)"),
                };
                int padding = StemPadding ?? (stem == ResNetStem.Cifar ? 1 : 3), width = Width ?? 64;
                var resnet = Arch switch
                {
                    "resnet10" => ResNetConfig.ResNet10(input, 0, padding, width),
                    "resnet18" => ResNetConfig.ResNet18(input, 0, padding, width),
                    "resnet34" => ResNetConfig.ResNet34(input, 0, padding, width),
                    _ => ResNetConfig.ResNet50(input, 0, padding, width),
                };
                return new ResNet(resnet with { Stem = stem }, rng);
            default:
                throw new InvalidDataException($"encoder config: unknown architecture '{Arch}'; expected {Architectures}");
        }
    }

    static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Compact JSON (absent options omitted).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    /// <exception cref="InvalidDataException">Not valid JSON or missing required fields.</exception>
    public static EncoderConfig FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<EncoderConfig>(json, Options) ?? throw new InvalidDataException("encoder config: null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"encoder config is not valid JSON ({e.Message}): {json}", e);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => ToJson();
}
