namespace RawDistill.Methods.KrrSt;

using System.Text.Json;
using System.Text.Json.Serialization;

/// <summary>
/// Every hyperparameter of a KRR-ST run (design page krr-st.md), stored as JSON in the
/// distilled set and in checkpoints. <see cref="Cifar100"/> holds the reference values;
/// <see cref="CpuDefault"/> the CPU-sized defaults for the embedded Fashion-MNIST subset.
/// </summary>
public sealed record KrrStConfig
{
    /// <summary>m, the number of synthetic images.</summary>
    [JsonPropertyName("m")] public int SyntheticCount { get; init; } = 100;

    /// <summary>B, real images per outer step.</summary>
    [JsonPropertyName("real_batch")] public int RealBatch { get; init; } = 256;

    /// <summary>M, models in the pool.</summary>
    [JsonPropertyName("pool_size")] public int PoolSize { get; init; } = 4;

    /// <summary>T_max, training steps after which a pool model is re-initialized.</summary>
    [JsonPropertyName("t_max")] public int MaxSteps { get; init; } = 40;

    /// <summary>η, the one learning rate of (X_s, Y_s); decayed linearly to 1e-3·η over <see cref="Steps"/>.</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; } = 1e-2;

    /// <summary>Final learning-rate factor of the linear decay (1e-3 in the reference).</summary>
    [JsonPropertyName("lr_final_factor")] public double LrFinalFactor { get; init; } = 1e-3;

    /// <summary>AdamW's ε (the mean-reduced loss has tiny gradients, so it matters).</summary>
    [JsonPropertyName("adam_eps")] public double AdamEps { get; init; } = 1e-8;

    /// <summary>Outer steps.</summary>
    [JsonPropertyName("steps")] public int Steps { get; init; } = 200;

    /// <summary>Pool/evaluation ConvNet widths per block (batch norm, avg-pool, conv bias).</summary>
    [JsonPropertyName("widths")] public int[] Widths { get; init; } = [32, 64, 128];

    /// <summary>ConvNet normalization: batch | instance | none.</summary>
    [JsonPropertyName("norm")] public string Norm { get; init; } = "batch";

    /// <summary>Random crop (pad 4) + horizontal flip of the real batch.</summary>
    [JsonPropertyName("augment")] public bool Augment { get; init; }

    /// <summary>Ridge λ as a multiple of tr(K_ss).</summary>
    [JsonPropertyName("ridge")] public double RidgeScale { get; init; } = KrrOuterLoss.DefaultRidgeScale;

    /// <summary>Pool models' SGD learning rate.</summary>
    [JsonPropertyName("pool_lr")] public double PoolLr { get; init; } = 0.1;

    /// <summary>Pool models' SGD momentum.</summary>
    [JsonPropertyName("pool_momentum")] public double PoolMomentum { get; init; } = 0.9;

    /// <summary>Pool models' SGD weight decay.</summary>
    [JsonPropertyName("pool_weight_decay")] public double PoolWeightDecay { get; init; } = 1e-3;

    /// <summary>reset (default) or legacy (the reference's never-reset counter).</summary>
    [JsonPropertyName("pool_reset")] public PoolResetMode PoolReset { get; init; } = PoolResetMode.Reset;

    /// <summary>
    /// Compatibility with the reference: feed X_s to the networks raw (pixels in [0, 1]) while
    /// real images are normalized. Off by default (both are normalized identically).
    /// </summary>
    [JsonPropertyName("raw_synthetic")] public bool RawSynthetic { get; init; }

    /// <summary>Checkpoint every this many outer steps (and at the end).</summary>
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 50;

    /// <summary>Seed of every random choice (initial subset, pool, batches, augmentation).</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }

    /// <summary>The reference settings for a CIFAR-100 source (32×32): m 1000, B 1024, M 10, T_max 1000, η 1e-4, 160k steps, ConvNet 128-256-512.</summary>
    public static KrrStConfig Cifar100() => new()
    {
        SyntheticCount = 1000, RealBatch = 1024, PoolSize = 10, MaxSteps = 1000, Lr = 1e-4, Steps = 160_000,
        Widths = [128, 256, 512], Norm = "batch", Augment = false, CheckpointEvery = 1000,
    };

    /// <summary>TinyImageNet (64×64): m 2000, η 1e-5, ConvNet 64-128-256-512.</summary>
    public static KrrStConfig TinyImageNet() => Cifar100() with { SyntheticCount = 2000, Lr = 1e-5, Widths = [64, 128, 256, 512] };

    /// <summary>CPU-sized defaults for fashion-mnist-mini (the whole main job in about ten minutes on 2 cores).</summary>
    public static KrrStConfig CpuDefault() => new();

    /// <summary>The preset names <see cref="Preset"/> accepts.</summary>
    public const string Presets = "cpu | cifar100 | tinyimagenet";

    /// <summary>A preset by name.</summary>
    public static KrrStConfig Preset(string name) => name.ToLowerInvariant() switch
    {
        "cpu" or "default" or "fashion-mnist-mini" => CpuDefault(),
        "cifar100" => Cifar100(),
        "tinyimagenet" or "tiny-imagenet" => TinyImageNet(),
        _ => throw new ArgumentException($"unknown preset '{name}'; expected {Presets}"),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (SyntheticCount < 2) throw new ArgumentException("m must be at least 2");
        if (RealBatch < 1) throw new ArgumentException("the real batch B must be at least 1");
        if (PoolSize < 1) throw new ArgumentException("the pool needs at least one model");
        if (MaxSteps < 2) throw new ArgumentException("T_max must be at least 2");
        if (!(Lr > 0)) throw new ArgumentException("the learning rate η must be positive");
        if (Steps < 1) throw new ArgumentException("steps must be at least 1");
        if (Widths.Length == 0 || Widths.Any(w => w < 1)) throw new ArgumentException("ConvNet widths must be positive");
        if (Norm is not ("batch" or "instance" or "none")) throw new ArgumentException($"norm '{Norm}': expected batch | instance | none");
        if (!(RidgeScale > 0)) throw new ArgumentException("the ridge must be positive");
        if (CheckpointEvery < 1) throw new ArgumentException("checkpoint interval must be at least 1");
    }

    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };

    /// <summary>Compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    public static KrrStConfig FromJson(string json) =>
        JsonSerializer.Deserialize<KrrStConfig>(json, Json) ?? throw new InvalidDataException("krr-st config: null");
}
