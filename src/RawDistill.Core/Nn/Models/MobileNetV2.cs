namespace RawDistill.Nn.Models;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// The inverted residual block of MobileNetV2 (CIFAR variant, key names of the widely used
/// kuangliu/pytorch-cifar definition): 1×1 expand-BN-ReLU, 3×3 depthwise (groups = channels)
/// with stride-BN-ReLU, 1×1 project-BN; for stride 1 a residual through <c>shortcut</c>
/// (1×1 conv + BN when the width changes, else identity).
/// </summary>
public sealed class InvertedResidual : Module
{
    readonly Conv2d _conv1, _conv2, _conv3;
    readonly BatchNorm2d _bn1, _bn2, _bn3;
    readonly Sequential _shortcut;
    readonly int _stride;

    public InvertedResidual(int inPlanes, int outPlanes, int expansion, int stride, Generator? rng = null)
    {
        _stride = stride;
        int planes = expansion * inPlanes;
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 1, 1, 0, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, stride, 1, groups: planes, bias: false, rng: rng));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _conv3 = RegisterModule("conv3", new Conv2d(planes, outPlanes, 1, 1, 0, bias: false, rng: rng));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(outPlanes));
        _shortcut = RegisterModule("shortcut", stride == 1 && inPlanes != outPlanes
            ? new Sequential(new Conv2d(inPlanes, outPlanes, 1, 1, 0, bias: false, rng: rng), new BatchNorm2d(outPlanes))
            : new Sequential());
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var y = Ops.Relu(_bn1.Forward(_conv1.Forward(x)));
        y = Ops.Relu(_bn2.Forward(_conv2.Forward(y)));
        y = _bn3.Forward(_conv3.Forward(y));
        return _stride == 1 ? Ops.Add(y, _shortcut.Forward(x)) : y;
    }
}

/// <summary>
/// MobileNetV2 for CIFAR-size input: stride-1 3×3 stem (32 channels), the seven inverted
/// residual stages (t, c, n, s) = (1,16,1,1) (6,24,2,1) (6,32,3,2) (6,64,4,2) (6,96,3,1)
/// (6,160,3,2) (6,320,1,1), 1×1 conv to 1280, BN-ReLU, global average pool; head <c>linear</c>.
/// Keys: <c>conv1</c>, <c>bn1</c>, <c>layers.{i}.conv1</c>…, <c>conv2</c>, <c>bn2</c>.
/// <c>widthMultiplier</c> scales every width (1 = standard; widths are rounded).
/// </summary>
public sealed class MobileNetV2 : ImageModel
{
    static readonly (int T, int C, int N, int S)[] Stages = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    readonly Conv2d _conv1, _conv2;
    readonly BatchNorm2d _bn1, _bn2;
    readonly Sequential _layers;
    readonly int _featureDim;

    public MobileNetV2(ImageShape input, int outputs = 0, double widthMultiplier = 1.0, Generator? rng = null)
    {
        int W(int c) => Math.Max(1, (int)Math.Round(c * widthMultiplier, MidpointRounding.ToEven));
        int inPlanes = W(32);
        _conv1 = RegisterModule("conv1", new Conv2d(input.Channels, inPlanes, 3, 1, 1, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(inPlanes));
        _layers = RegisterModule("layers", new Sequential());
        foreach (var (t, c, n, s) in Stages)
        {
            for (int i = 0; i < n; i++)
            {
                _layers.Add(new InvertedResidual(inPlanes, W(c), t, i == 0 ? s : 1, rng));
                inPlanes = W(c);
            }
        }
        _featureDim = W(1280);
        _conv2 = RegisterModule("conv2", new Conv2d(inPlanes, _featureDim, 1, 1, 0, bias: false, rng: rng));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(_featureDim));
        AddHead("linear", outputs, rng);
    }

    /// <inheritdoc/>
    public override int FeatureDim => _featureDim;

    /// <inheritdoc/>
    public override Tensor Embed(Tensor x)
    {
        var y = Ops.Relu(_bn1.Forward(_conv1.Forward(x)));
        y = _layers.Forward(y);
        y = Ops.Relu(_bn2.Forward(_conv2.Forward(y)));
        return Ops.GlobalAvgPool2d(y);
    }
}
