namespace RawDistill.Nn.Models;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// torchvision's Bottleneck (ResNet-50 "v1.5": the stride sits on the 3×3 convolution):
/// conv1×1-BN-ReLU, conv3×3(stride)-BN-ReLU, conv1×1-BN to <see cref="Expansion"/>·planes
/// channels, plus the shortcut (a strided 1×1 conv + BN named <c>downsample</c> when the
/// shape changes), then ReLU.
/// </summary>
public sealed class ResNetBottleneck : Module
{
    /// <summary>Output channels per planes (4 in every torchvision bottleneck ResNet).</summary>
    public const int Expansion = 4;

    readonly Conv2d _conv1, _conv2, _conv3;
    readonly BatchNorm2d _bn1, _bn2, _bn3;
    readonly Sequential? _downsample;

    public ResNetBottleneck(int inPlanes, int planes, int stride, Generator? rng = null)
    {
        int outPlanes = planes * Expansion;
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 1, 1, 0, bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, stride, 1, bias: false, rng: rng));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _conv3 = RegisterModule("conv3", new Conv2d(planes, outPlanes, 1, 1, 0, bias: false, rng: rng));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(outPlanes));
        if (stride != 1 || inPlanes != outPlanes)
            _downsample = RegisterModule("downsample", new Sequential(new Conv2d(inPlanes, outPlanes, 1, stride, 0, bias: false, rng: rng), new BatchNorm2d(outPlanes)));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var y = Ops.Relu(_bn1.Forward(_conv1.Forward(x)));
        y = Ops.Relu(_bn2.Forward(_conv2.Forward(y)));
        y = _bn3.Forward(_conv3.Forward(y));
        var identity = _downsample == null ? x : _downsample.Forward(x);
        return Ops.Relu(Ops.Add(y, identity));
    }
}
