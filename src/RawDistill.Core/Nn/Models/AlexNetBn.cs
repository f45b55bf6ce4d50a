namespace RawDistill.Nn.Models;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// AlexNet with batch norm, CIFAR-size (the dataset-distillation code's AlexNetBN):
/// <c>features</c> = Conv5×5(128, pad 2; pad 4 for 1-channel input)-BN-ReLU-MaxPool,
/// Conv5×5(192)-BN-ReLU-MaxPool, Conv3×3(256)-BN-ReLU, Conv3×3(192)-BN-ReLU,
/// Conv3×3(192)-BN-ReLU-MaxPool; head <c>fc</c> on the flattened features (192·4·4 at 32 px).
/// <c>widthDivisor</c> divides every width (1 = standard).
/// </summary>
public sealed class AlexNetBn : ImageModel
{
    readonly Sequential _features;
    readonly int _featureDim;

    public AlexNetBn(ImageShape input, int outputs = 0, int widthDivisor = 1, Generator? rng = null)
    {
        int c1 = 128 / widthDivisor, c2 = 192 / widthDivisor, c3 = 256 / widthDivisor;
        int pad1 = input.Channels == 1 ? 4 : 2;
        _features = RegisterModule("features", new Sequential(
            new Conv2d(input.Channels, c1, 5, 1, pad1, rng: rng), new BatchNorm2d(c1), new ReLU(), new MaxPool2d(2),
            new Conv2d(c1, c2, 5, 1, 2, rng: rng), new BatchNorm2d(c2), new ReLU(), new MaxPool2d(2),
            new Conv2d(c2, c3, 3, 1, 1, rng: rng), new BatchNorm2d(c3), new ReLU(),
            new Conv2d(c3, c2, 3, 1, 1, rng: rng), new BatchNorm2d(c2), new ReLU(),
            new Conv2d(c2, c2, 3, 1, 1, rng: rng), new BatchNorm2d(c2), new ReLU(), new MaxPool2d(2)));
        int size = (input.Size + 2 * pad1 - 4) / 2 / 2 / 2;
        if (size < 1) throw new ArgumentException($"AlexNet-BN: input {input.Size} px is too small");
        _featureDim = c2 * size * size;
        AddHead("fc", outputs, rng);
    }

    /// <inheritdoc/>
    public override int FeatureDim => _featureDim;

    /// <inheritdoc/>
    public override Tensor Embed(Tensor x) => Ops.Flatten(_features.Forward(x));
}
