namespace RawDistill.Nn.Models;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// VGG-11 with batch norm, CIFAR-size (as in the dataset-distillation code): <c>features</c> =
/// [Conv3×3-BN-ReLU]… with 2×2 max-pools per the VGG-11 plan (64, M, 128, M, 256, 256, M,
/// 512, 512, M, 512, 512, M), head <c>classifier</c>. The first conv pads 3 for 1-channel
/// 28 px input (28 → 32). <c>width</c> scales the plan (64 = standard).
/// </summary>
public sealed class Vgg11Bn : ImageModel
{
    static readonly int[] Plan = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];   // 0 = max-pool

    readonly Sequential _features;
    readonly int _featureDim;

    public Vgg11Bn(ImageShape input, int outputs = 0, int width = 64, Generator? rng = null)
    {
        _features = RegisterModule("features", new Sequential());
        int inC = input.Channels, size = input.Size;
        bool first = true;
        foreach (var v in Plan)
        {
            if (v == 0)
            {
                _features.Add(new MaxPool2d(2));
                size /= 2;
                continue;
            }
            int c = v * width / 64;
            int pad = first && input.Channels == 1 && input.Size == 28 ? 3 : 1;
            _features.Add(new Conv2d(inC, c, 3, 1, pad, rng: rng));
            size += 2 * pad - 2;
            _features.Add(new BatchNorm2d(c));
            _features.Add(new ReLU());
            inC = c;
            first = false;
        }
        if (size < 1) throw new ArgumentException($"VGG-11 needs at least 32 px input, got {input.Size}");
        _featureDim = inC * size * size;
        AddHead("classifier", outputs, rng);
    }

    /// <inheritdoc/>
    public override int FeatureDim => _featureDim;

    /// <inheritdoc/>
    public override Tensor Embed(Tensor x) => Ops.Flatten(_features.Forward(x));
}
