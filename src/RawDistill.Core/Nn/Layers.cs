namespace RawDistill.Nn;

using RawDistill.Tensors;

// Parameter-free layers, each a thin module over one op.

/// <summary>nn.ReLU.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Relu(x);
}

/// <summary>nn.Identity: returns its input.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x;
}

/// <summary>nn.Flatten(start_dim=1).</summary>
public sealed class Flatten(int startAxis = 1) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Flatten(x, startAxis);
}

/// <summary>nn.AvgPool2d (padding counts as zeros).</summary>
public sealed class AvgPool2d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.AvgPool2d(x, kernel, stride ?? kernel, padding);
}

/// <summary>nn.MaxPool2d.</summary>
public sealed class MaxPool2d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.MaxPool2d(x, kernel, stride ?? kernel, padding);
}

/// <summary>Global average pooling [N, C, H, W] → [N, C] (AdaptiveAvgPool2d(1) followed by flatten).</summary>
public sealed class GlobalAvgPool : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.GlobalAvgPool2d(x);
}
