namespace RawDistill.Methods.Mkdt;

using System.Text.Json;
using System.Text.Json.Serialization;
using RawDistill.Methods.Common;

/// <summary>
/// How MKDT's experts are trained (stage 1 of mkdt.md): K students, each a ConvNet (instance
/// norm, conv bias, avg-pool, flattened features + Linear → d) regressed onto the teacher's
/// targets by MSE with SGD, no augmentation, θ saved after every epoch. Stored in the
/// expert store's manifest.
/// </summary>
public sealed record ExpertConfig
{
    /// <summary>K, the number of experts.</summary>
    [JsonPropertyName("experts")] public int Experts { get; init; } = 100;

    /// <summary>Epochs per expert (snapshots 0..Epochs).</summary>
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 20;

    /// <summary>SGD learning rate.</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; } = 0.1;

    /// <summary>SGD momentum.</summary>
    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.9;

    /// <summary>SGD weight decay.</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Minibatch size.</summary>
    [JsonPropertyName("batch")] public int Batch { get; init; } = 256;

    /// <summary>Student ConvNet widths (empty = 128 × depth 3, depth 4 at 64 px and above).</summary>
    [JsonPropertyName("widths")] public int[] Widths { get; init; } = [];

    /// <summary>Student normalization: instance (the reference) | batch | none.</summary>
    [JsonPropertyName("norm")] public string Norm { get; init; } = "instance";

    /// <summary>Seed: expert k is initialized and shuffled from streams of this seed and k.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }

    /// <summary>The reference (CIFAR-10/100, Tiny ImageNet): 100 experts × 20 epochs.</summary>
    public static ExpertConfig Reference() => new();

    /// <summary>
    /// CPU-sized for the embedded Fashion-MNIST subset: 3 experts × 2 epochs of ConvNet-32-32-32
    /// (exactly what max_start 1 and M = 2 of <see cref="MkdtConfig.Cpu"/> read; about 16 s per
    /// expert epoch on 2 cores).
    /// </summary>
    public static ExpertConfig Cpu() => new() { Experts = 3, Epochs = 2, Widths = [32, 32, 32] };

    /// <summary>The preset names <see cref="Preset"/> accepts.</summary>
    public const string Presets = "cpu | cifar10 | cifar100 | tinyimagenet";

    /// <summary>A preset by name.</summary>
    public static ExpertConfig Preset(string name) => name.ToLowerInvariant() switch
    {
        "cpu" or "default" => Cpu(),
        "cifar10" or "cifar100" or "tinyimagenet" or "tiny-imagenet" or "reference" => Reference(),
        _ => throw new ArgumentException($"unknown preset '{name}'; expected {Presets}"),
    };

    /// <summary>The student's widths at an input size (the default depends on it).</summary>
    public int[] WidthsFor(int size) => Widths.Length > 0 ? Widths : Enumerable.Repeat(128, size >= 64 ? 4 : 3).ToArray();

    /// <summary>The student's architecture at an input geometry.</summary>
    public DistilledNet Net(int channels, int size) => new(WidthsFor(size), Norm, channels, size);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Experts < 1) throw new ArgumentException("experts: at least one");
        if (Epochs < 1) throw new ArgumentException("expert epochs: at least one");
        if (!(Lr > 0)) throw new ArgumentException("expert learning rate: must be positive");
        if (Momentum < 0 || Momentum >= 1) throw new ArgumentException("expert momentum: must be in [0, 1)");
        if (WeightDecay < 0) throw new ArgumentException("expert weight decay: must be 0 or more");
        if (Batch < 1) throw new ArgumentException("expert batch: at least one");
        if (Widths.Any(w => w < 1)) throw new ArgumentException("expert widths: must be positive");
        DistilledNet.ParseNorm(Norm);
    }

    /// <summary>Compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    public static ExpertConfig FromJson(string json) => JsonSerializer.Deserialize<ExpertConfig>(json) ?? throw new InvalidDataException("expert config: null");
}
