namespace RawDistill.Nn.Models;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>The residual block a <see cref="ResNet"/> stacks.</summary>
public enum ResNetBlock
{
    /// <summary>Two 3×3 convolutions (<see cref="BasicBlock"/>): ResNet-10/18/34.</summary>
    Basic,

    /// <summary>1×1, 3×3, 1×1 with 4× expansion (<see cref="ResNetBottleneck"/>): ResNet-50.</summary>
    Bottleneck,
}

/// <summary>The first layers of a <see cref="ResNet"/>, before <c>layer1</c>.</summary>
public enum ResNetStem
{
    /// <summary>3×3 conv1 with stride 1, no max-pool (CIFAR-size inputs; solo-learn, KRR-ST, MKDT).</summary>
    Cifar,

    /// <summary>torchvision's ImageNet stem: 7×7 conv1 with stride 2, then a 3×3 stride-2 max-pool (padding 1).</summary>
    ImageNet,
}

/// <summary>
/// Configuration of a <see cref="ResNet"/>.
/// </summary>
/// <param name="Input">Input channels and size.</param>
/// <param name="Blocks">Blocks per stage: [1,1,1,1] = ResNet-10, [2,2,2,2] = ResNet-18, [3,4,6,3] = ResNet-34 (basic) or ResNet-50 (bottleneck).</param>
/// <param name="Width">Channels of the first stage (64 in the standard nets; doubled per stage).</param>
/// <param name="StemPadding">Padding of conv1: with the CIFAR stem 1 normally, 2 in the solo-learn
/// checkpoints the KRR-ST/MKDT teachers come from; 3 with the ImageNet stem.</param>
/// <param name="Outputs">Head outputs; 0 = no head (the teacher's representation).</param>
/// <param name="Block">Basic blocks or bottlenecks.</param>
/// <param name="Stem">CIFAR (3×3, stride 1) or ImageNet (7×7, stride 2, max-pool) stem.</param>
public sealed record ResNetConfig(ImageShape Input, int[] Blocks, int Width = 64, int StemPadding = 1, int Outputs = 0,
    ResNetBlock Block = ResNetBlock.Basic, ResNetStem Stem = ResNetStem.Cifar)
{
    public static ResNetConfig ResNet10(ImageShape input, int outputs = 0, int stemPadding = 1, int width = 64) => new(input, [1, 1, 1, 1], width, stemPadding, outputs);

    public static ResNetConfig ResNet18(ImageShape input, int outputs = 0, int stemPadding = 1, int width = 64) => new(input, [2, 2, 2, 2], width, stemPadding, outputs);

    public static ResNetConfig ResNet34(ImageShape input, int outputs = 0, int stemPadding = 1, int width = 64) => new(input, [3, 4, 6, 3], width, stemPadding, outputs);

    public static ResNetConfig ResNet50(ImageShape input, int outputs = 0, int stemPadding = 1, int width = 64) =>
        new(input, [3, 4, 6, 3], width, stemPadding, outputs, ResNetBlock.Bottleneck);

    /// <summary>Channels of the last stage, the size of the representation.</summary>
    public int FeatureDim => (Width << 3) * (Block == ResNetBlock.Bottleneck ? ResNetBottleneck.Expansion : 1);
}

/// <summary>
/// torchvision's BasicBlock: conv3×3-BN-ReLU-conv3×3-BN plus the shortcut (a 1×1 conv + BN
/// named <c>downsample</c> when the shape changes), then ReLU.
/// </summary>
public sealed class BasicBlock : Module
{
    readonly Conv2d _conv1, _conv2;
    readonly BatchNorm2d _bn1, _bn2;
    readonly Sequential? _downsample;

    public BasicBlock(int inPlanes, int planes, int stride, Generator? rng = null)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false, rng: rng));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (stride != 1 || inPlanes != planes)
            _downsample = RegisterModule("downsample", new Sequential(new Conv2d(inPlanes, planes, 1, stride, 0, bias: false, rng: rng), new BatchNorm2d(planes)));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var y = Ops.Relu(_bn1.Forward(_conv1.Forward(x)));
        y = _bn2.Forward(_conv2.Forward(y));
        var identity = _downsample == null ? x : _downsample.Forward(x);
        return Ops.Relu(Ops.Add(y, identity));
    }
}

/// <summary>
/// ResNet-10/18/34/50 with the CIFAR stem (3×3 conv1, stride 1, configurable padding, no
/// max-pool) or torchvision's ImageNet stem, and torchvision key names (<c>conv1</c>, <c>bn1</c>,
/// <c>layer1.0.conv1</c>, <c>layer2.0.downsample.0</c>, <c>fc</c>) so converted
/// torchvision/solo-learn checkpoints load directly. <see cref="ImageModel.Embed(Tensor)"/> is
/// the global-average-pooled last stage (512-d for ResNet-18 and 2048-d for ResNet-50 at width 64).
/// </summary>
public sealed class ResNet : ImageModel
{
    readonly Conv2d _conv1;
    readonly BatchNorm2d _bn1;
    readonly Sequential[] _layers;

    public ResNet(ResNetConfig config, Generator? rng = null)
    {
        if (config.Blocks.Length != 4) throw new ArgumentException("ResNet: expected 4 stages");
        Config = config;
        _conv1 = config.Stem == ResNetStem.Cifar
            ? RegisterModule("conv1", new Conv2d(config.Input.Channels, config.Width, 3, 1, config.StemPadding, bias: false, rng: rng))
            : RegisterModule("conv1", new Conv2d(config.Input.Channels, config.Width, 7, 2, config.StemPadding, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(config.Width));
        _layers = new Sequential[4];
        int inPlanes = config.Width;
        for (int s = 0; s < 4; s++)
        {
            int planes = config.Width << s;
            var stage = new Sequential();
            for (int b = 0; b < config.Blocks[s]; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1;
                if (config.Block == ResNetBlock.Basic)
                {
                    stage.Add(new BasicBlock(inPlanes, planes, stride, rng));
                    inPlanes = planes;
                }
                else
                {
                    stage.Add(new ResNetBottleneck(inPlanes, planes, stride, rng));
                    inPlanes = planes * ResNetBottleneck.Expansion;
                }
            }
            _layers[s] = RegisterModule($"layer{s + 1}", stage);
        }
        AddHead("fc", config.Outputs, rng);
    }

    /// <summary>The configuration it was built from.</summary>
    public ResNetConfig Config { get; }

    /// <inheritdoc/>
    public override int FeatureDim => Config.FeatureDim;

    /// <inheritdoc/>
    public override Tensor Embed(Tensor x)
    {
        var y = Ops.Relu(_bn1.Forward(_conv1.Forward(x)));
        if (Config.Stem == ResNetStem.ImageNet) y = Ops.MaxPool2d(y, 3, 2, 1);
        foreach (var l in _layers) y = l.Forward(y);
        return Ops.GlobalAvgPool2d(y);
    }
}
