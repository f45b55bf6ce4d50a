namespace RawDistill.Nn.Models;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>Normalization after each ConvNet convolution.</summary>
public enum ConvNorm
{
    /// <summary>No normalization layer (and no key for it).</summary>
    None,
    /// <summary>BatchNorm2d (KRR-ST / FRePo family).</summary>
    Batch,
    /// <summary>Instance norm as GroupNorm(C, C) with affine (dataset-distillation standard).</summary>
    Instance,
}

/// <summary>Pooling after each ConvNet block.</summary>
public enum ConvPool
{
    /// <summary>2×2 average pooling.</summary>
    Avg,
    /// <summary>2×2 max pooling.</summary>
    Max,
}

/// <summary>
/// Configuration of a <see cref="ConvNet"/>: one block (conv 3×3 → norm → ReLU → pool 2×2)
/// per entry of <see cref="Widths"/>.
/// </summary>
/// <param name="Input">Input channels and size.</param>
/// <param name="Widths">Output channels of each block.</param>
/// <param name="Norm">Normalization layer.</param>
/// <param name="Pool">Pooling.</param>
/// <param name="ConvBias">Whether convolutions have a bias.</param>
/// <param name="FirstPadding">Padding of the first conv; null = 3 for 1-channel 28×28 input (the
/// dataset-distillation code's trick that makes 28 px behave like 32 px), else 1.</param>
/// <param name="Outputs">Head outputs; 0 = no head.</param>
public sealed record ConvNetConfig(ImageShape Input, int[] Widths, ConvNorm Norm = ConvNorm.Instance, ConvPool Pool = ConvPool.Avg,
    bool ConvBias = true, int? FirstPadding = null, int Outputs = 0)
{
    /// <summary>Dataset-distillation standard: width 128, instance norm, avg-pool; depth 3 (depth 4 at 64 px and above).</summary>
    public static ConvNetConfig DatasetDistillation(ImageShape input, int outputs = 0, int width = 128) =>
        new(input, Enumerable.Repeat(width, input.Size >= 64 ? 4 : 3).ToArray(), ConvNorm.Instance, ConvPool.Avg, true, null, outputs);

    /// <summary>KRR-ST / FRePo: doubling widths 128-256-512 with batch norm (64-128-256-512 at 64 px and above).</summary>
    public static ConvNetConfig KrrSt(ImageShape input, int outputs = 0) =>
        new(input, input.Size >= 64 ? [64, 128, 256, 512] : [128, 256, 512], ConvNorm.Batch, ConvPool.Avg, true, null, outputs);
}

/// <summary>
/// The ConvNet of the dataset-distillation literature. PyTorch layout (keys
/// <c>features.{i}.weight</c>, head <c>classifier</c>): <c>features</c> is a Sequential of
/// [Conv2d, norm (absent for None), ReLU, pool] per block; <see cref="ImageModel.Embed(Tensor)"/> is the
/// flattened output of the last block.
/// </summary>
public sealed class ConvNet : ImageModel
{
    readonly Sequential _features;
    readonly int _featureDim;

    public ConvNet(ConvNetConfig config, Generator? rng = null)
    {
        Config = config;
        _features = RegisterModule("features", new Sequential());
        int inC = config.Input.Channels, size = config.Input.Size;
        for (int d = 0; d < config.Widths.Length; d++)
        {
            int w = config.Widths[d];
            int pad = d == 0 ? config.FirstPadding ?? (config.Input.Channels == 1 && config.Input.Size == 28 ? 3 : 1) : 1;
            _features.Add(new Conv2d(inC, w, 3, 1, pad, bias: config.ConvBias, rng: rng));
            size = size + 2 * pad - 2;
            switch (config.Norm)
            {
                case ConvNorm.Batch: _features.Add(new BatchNorm2d(w)); break;
                case ConvNorm.Instance: _features.Add(GroupNorm.Instance(w)); break;
            }
            _features.Add(new ReLU());
            _features.Add(config.Pool == ConvPool.Avg ? new AvgPool2d(2) : new MaxPool2d(2));
            size /= 2;
            if (size < 1) throw new ArgumentException($"ConvNet: {config.Widths.Length} blocks pool a {config.Input.Size}px input below 1 px");
            inC = w;
        }
        _featureDim = inC * size * size;
        AddHead("classifier", config.Outputs, rng);
    }

    /// <summary>The configuration it was built from.</summary>
    public ConvNetConfig Config { get; }

    /// <inheritdoc/>
    public override int FeatureDim => _featureDim;

    /// <inheritdoc/>
    public override Tensor Embed(Tensor x) => Ops.Flatten(_features.Forward(x));
}
