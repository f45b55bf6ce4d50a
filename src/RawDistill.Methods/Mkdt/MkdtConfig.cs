namespace RawDistill.Methods.Mkdt;

using System.Text.Json;
using System.Text.Json.Serialization;

/// <summary>Which expert an outer iteration matches.</summary>
public enum ExpertSampling
{
    /// <summary>A finished expert drawn uniformly at random every iteration (ours).</summary>
    Random,

    /// <summary>
    /// The first finished expert, all run: what the cleaned reference code does (it advances
    /// its expert index but never loads the next file). For comparison only.
    /// </summary>
    Legacy,
}

/// <summary>How the gradients of X, Y and η become SGD steps.</summary>
public enum MkdtUpdate
{
    /// <summary>The gradient as it is (the reference).</summary>
    Sgd,

    /// <summary>
    /// Each gradient divided by its root-mean-square first (g / √(mean g²)), so an element
    /// moves about lr per step whatever the gradient's scale: immune to the 10–50× spikes the
    /// trials showed, and the same rate fits X, Y and η.
    /// </summary>
    Normalized,
}

/// <summary>
/// Every hyperparameter of MKDT's trajectory matching (stage 3 of mkdt.md), stored as JSON in
/// the distilled set and in checkpoints. X is learned in normalized space (as the reference
/// does), so the reference lr_img values carry over unchanged.
/// </summary>
public sealed record MkdtConfig
{
    /// <summary>m, synthetic images.</summary>
    [JsonPropertyName("m")] public int SyntheticCount { get; init; } = 1000;

    /// <summary>I, outer iterations.</summary>
    [JsonPropertyName("iterations")] public int Iterations { get; init; } = 5000;

    /// <summary>N, synthetic SGD steps per iteration (syn_steps).</summary>
    [JsonPropertyName("syn_steps")] public int SynSteps { get; init; } = 40;

    /// <summary>M, expert epochs between θ* = θ_t and the target θ_{t+M}.</summary>
    [JsonPropertyName("expert_epochs")] public int ExpertEpochs { get; init; } = 2;

    /// <summary>t is drawn from 0..max_start−1.</summary>
    [JsonPropertyName("max_start")] public int MaxStart { get; init; } = 2;

    /// <summary>Minibatch of the synthetic steps (min(batch, m); a fresh permutation of X per pass).</summary>
    [JsonPropertyName("batch")] public int Batch { get; init; } = 256;

    /// <summary>Learning rate of X (SGD, momentum <see cref="Momentum"/>).</summary>
    [JsonPropertyName("lr_img")] public double LrImg { get; init; } = 1e3;

    /// <summary>Learning rate of Y.</summary>
    [JsonPropertyName("lr_y")] public double LrY { get; init; } = 1;

    /// <summary>Learning rate of η.</summary>
    [JsonPropertyName("lr_lr")] public double LrLr { get; init; } = 1e-4;

    /// <summary>η at the start.</summary>
    [JsonPropertyName("eta_init")] public double EtaInit { get; init; } = 0.1;

    /// <summary>Momentum of the three SGD optimizers.</summary>
    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.5;

    /// <summary>How gradients become steps (<see cref="MkdtUpdate"/>).</summary>
    [JsonPropertyName("update")] public MkdtUpdate Update { get; init; } = MkdtUpdate.Sgd;

    /// <summary>How X starts.</summary>
    [JsonPropertyName("init")] public MkdtInit Init { get; init; } = MkdtInit.HighLoss;

    /// <summary>Which expert each iteration matches.</summary>
    [JsonPropertyName("expert_sampling")] public ExpertSampling ExpertSampling { get; init; } = ExpertSampling.Random;

    /// <summary>Checkpoint every this many iterations (and at the end).</summary>
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 100;

    /// <summary>Seed of every random choice (random init, expert and start draws, minibatches).</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }

    /// <summary>CIFAR-10, 2 % (m = 1000): I 5000, N 40, M 2, max_start 2, lr_img 1e3, lr_y 1, lr_lr 1e-4.</summary>
    public static MkdtConfig Cifar10() => new();

    /// <summary>CIFAR-100, 2 %: the same values as CIFAR-10 (the 5 % setting: m 2500, max_start 5, lr_img 1e4).</summary>
    public static MkdtConfig Cifar100() => new();

    /// <summary>Tiny ImageNet, 2 % (m = 2000): I 10000, N 10, lr_img 1e5.</summary>
    public static MkdtConfig TinyImageNet() => new() { SyntheticCount = 2000, Iterations = 10000, SynSteps = 10, LrImg = 1e5 };

    /// <summary>
    /// CPU-sized for the embedded Fashion-MNIST subset (10 000 images) on 2 cores, so that the
    /// whole `distill --method mkdt` (3 experts × 2 epochs, matching, evaluation) fits about
    /// ten minutes: m = 100 (1 %, KRR-ST's main-job budget), N = 10 full-batch steps, 20
    /// iterations, t = 0 and M = 2. η starts at 1, not 0.1: at 0.1 ten steps cover little of an
    /// expert's two-epoch move (≈ 80 momentum steps), and in a trial the first matching loss
    /// was 0.57 at η = 1 and 0.68 at η = 2. lr_img = lr_y = 10: at 1e3 the first update moved X
    /// by about its own norm and the loss climbed (0.54 → 0.83 in 12 iterations); on one expert
    /// 100 fell then spiked and 30 fell steadily (0.570 → 0.558 in 8 iterations), but with a
    /// random expert every iteration 30 raised every expert's loss (0.537 → 0.591, 0.555 →
    /// 0.684, 0.563 → 0.606 in 20 iterations) while 10 kept them level. Y's gradient here is as
    /// large as X's (‖∇Y‖ ≈ ‖∇X‖), so it shares X's rate. docs/mkdt.md has the commands.
    /// </summary>
    public static MkdtConfig Cpu() => new()
    {
        SyntheticCount = 100,
        Iterations = 20,
        SynSteps = 10,
        MaxStart = 1,
        Batch = 256,
        LrImg = 10,
        LrY = 10,
        LrLr = 1e-2,
        EtaInit = 1,
        CheckpointEvery = 10,
    };

    /// <summary>The preset names <see cref="Preset"/> accepts.</summary>
    public const string Presets = "cpu | cifar10 | cifar100 | tinyimagenet";

    /// <summary>A preset by name.</summary>
    public static MkdtConfig Preset(string name) => name.ToLowerInvariant() switch
    {
        "cpu" or "default" => Cpu(),
        "cifar10" => Cifar10(),
        "cifar100" => Cifar100(),
        "tinyimagenet" or "tiny-imagenet" => TinyImageNet(),
        _ => throw new ArgumentException($"unknown preset '{name}'; expected {Presets}"),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (SyntheticCount < 1) throw new ArgumentException("m must be at least 1");
        if (Iterations < 1) throw new ArgumentException("iterations must be at least 1");
        if (SynSteps < 1) throw new ArgumentException("syn_steps N must be at least 1");
        if (ExpertEpochs < 1) throw new ArgumentException("expert_epochs M must be at least 1");
        if (MaxStart < 1) throw new ArgumentException("max_start must be at least 1");
        if (Batch < 1) throw new ArgumentException("batch must be at least 1");
        if (!(LrImg >= 0) || !(LrY >= 0) || !(LrLr >= 0)) throw new ArgumentException("learning rates must be 0 or more");
        if (!(EtaInit > 0)) throw new ArgumentException("eta_init must be positive");
        if (Momentum < 0 || Momentum >= 1) throw new ArgumentException("momentum must be in [0, 1)");
        if (CheckpointEvery < 1) throw new ArgumentException("checkpoint interval must be at least 1");
    }

    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) } };

    /// <summary>Compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses <see cref="ToJson"/>'s output.</summary>
    public static MkdtConfig FromJson(string json) => JsonSerializer.Deserialize<MkdtConfig>(json, Json) ?? throw new InvalidDataException("mkdt config: null");
}
