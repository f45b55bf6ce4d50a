namespace RawDistill.Methods.Ssl;

using System.Text.Json;
using System.Text.Json.Serialization;

/// <summary>
/// Hyper-parameters of a Barlow Twins run. Defaults follow solo-learn's CIFAR recipe for
/// Barlow Twins (LARS, lr 0.3 at batch 256 scaled linearly with the batch, trust
/// coefficient η = 0.02, weight decay 1e-4, biases and norm parameters excluded from decay
/// and adaptation, warm-up then cosine), which suits short runs better than the ImageNet
/// reference (η = 0.001, 1000 epochs).
/// </summary>
public sealed record BarlowTwinsOptions
{
    /// <summary>Passes over the training images.</summary>
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 10;

    /// <summary>Images per step (each gives two views); the last incomplete batch of an epoch is dropped.</summary>
    [JsonPropertyName("batch")] public int Batch { get; init; } = 256;

    /// <summary>Projector widths: [hidden…, output]; Linear-BN-ReLU for each hidden width, then a Linear.</summary>
    [JsonPropertyName("projector")] public int[] Projector { get; init; } = [512, 512, 512];

    /// <summary>
    /// Off-diagonal weight λ_off; null = the paper's 5e-3 at any projector width (see
    /// <see cref="ScaledLambdaOff"/> for the 1/d alternative and why it is not the default).
    /// </summary>
    [JsonPropertyName("lambda_off")] public double? LambdaOff { get; init; }

    /// <summary>lars | sgd.</summary>
    [JsonPropertyName("optimizer")] public string Optimizer { get; init; } = "lars";

    /// <summary>Learning rate at batch 256 (scaled by Batch/256).</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; } = 0.3;

    /// <summary>Weight decay (not applied to biases and norm parameters).</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Momentum.</summary>
    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.9;

    /// <summary>LARS trust coefficient η.</summary>
    [JsonPropertyName("eta")] public double Eta { get; init; } = 0.02;

    /// <summary>Linear warm-up length in epochs (fractional allowed); null = 10% of the run.</summary>
    [JsonPropertyName("warmup_epochs")] public double? WarmupEpochs { get; init; }

    /// <summary>Final learning rate of the cosine as a fraction of the peak.</summary>
    [JsonPropertyName("min_lr_factor")] public double MinLrFactor { get; init; } = 1e-3;

    /// <summary>Seed of initialization, data order and augmentation.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }

    /// <summary>
    /// λ_off scaled as 1/d from the paper's 5e-3 at d = 8192: λ_off = 5e-3 · 8192 / d, which
    /// keeps λ_off · d (the off-diagonal weight per row against one on-diagonal term) at the
    /// paper's value. Measured on fashion-mnist-mini (ConvNet 32-64-128, projector 512-512-512,
    /// batch 256, LARS): with this rule (λ_off = 0.08) the loss stayed flat for 5 epochs
    /// (545 → 537) and the probe did not beat a random encoder, while λ_off = 5e-3 trained
    /// (364 → 165 in 3 epochs). So the default is the unscaled 5e-3 (as solo-learn uses at
    /// width 2048); <c>--lambda-off scaled</c> selects this rule.
    /// </summary>
    public static double ScaledLambdaOff(int projectorOutput) => BarlowTwinsLoss.DefaultLambdaOff * 8192.0 / projectorOutput;

    /// <summary>The λ_off of this run.</summary>
    [JsonIgnore] public double EffectiveLambdaOff => LambdaOff ?? BarlowTwinsLoss.DefaultLambdaOff;

    /// <summary>Checks ranges; throws <see cref="ArgumentException"/> naming the bad value.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"epochs must be positive, got {Epochs}");
        if (Batch < 2) throw new ArgumentException($"batch must be at least 2 (the loss standardizes over the batch), got {Batch}");
        if (Projector.Length == 0 || Projector.Any(w => w < 1)) throw new ArgumentException("projector widths must be positive");
        if (Optimizer is not ("lars" or "sgd")) throw new ArgumentException($"optimizer must be lars or sgd, got '{Optimizer}'");
        if (!(Lr > 0)) throw new ArgumentException($"lr must be positive, got {Lr}");
        if (LambdaOff is < 0) throw new ArgumentException($"lambda_off must not be negative, got {LambdaOff}");
    }

    /// <summary>Compact JSON (stored in checkpoints so that a resume uses the same settings).</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    public static BarlowTwinsOptions FromJson(string json) =>
        JsonSerializer.Deserialize<BarlowTwinsOptions>(json) ?? throw new InvalidDataException("barlow twins options: null");
}
