namespace RawDistill.Nn;

using RawDistill.Tensors;

/// <summary>
/// Batch normalization over every axis but the channel axis, with PyTorch's buffers
/// (<c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>; the last is an
/// i32 scalar here since our dtypes have no i64). Training mode normalizes with batch
/// statistics and updates the running ones (momentum, unbiased variance); evaluation mode
/// uses the running statistics.
/// </summary>
public abstract class BatchNormBase : Module
{
    long _batchesTracked;

    protected BatchNormBase(int features, double eps, double momentum, bool affine, bool trackRunningStats)
    {
        Features = features; Eps = eps; Momentum = momentum;
        RegisterParameter("weight", affine ? Tensor.Ones([features]) : null);
        RegisterParameter("bias", affine ? Tensor.Zeros([features]) : null);
        RegisterBuffer("running_mean", trackRunningStats ? Tensor.Zeros([features]) : null);
        RegisterBuffer("running_var", trackRunningStats ? Tensor.Ones([features]) : null);
        RegisterBuffer("num_batches_tracked", trackRunningStats ? Tensor.Zeros([], DType.I32) : null);
    }

    public int Features { get; }
    public double Eps { get; }
    public double Momentum { get; }

    /// <summary>The module's own running mean (null without running statistics).</summary>
    public Tensor? RunningMean => Own("running_mean");

    /// <summary>The module's own running variance (null without running statistics).</summary>
    public Tensor? RunningVar => Own("running_var");

    /// <summary>Rank the input must have (2 for BatchNorm1d, 4 for BatchNorm2d).</summary>
    protected abstract int InputRank { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != InputRank || x.Shape[1] != Features)
            throw new ArgumentException($"{GetType().Name}({Features}): unexpected input {x.Describe()}");
        var rm = Param("running_mean");
        var rv = Param("running_var");
        if (Training && Own("num_batches_tracked") is { } nbt)
        {
            _batchesTracked++;
            nbt.FillInPlace(_batchesTracked);
        }
        // Without running statistics PyTorch normalizes with batch statistics in both modes.
        if (!Training && rm == null) return Ops.BatchNorm(x, Param("weight"), Param("bias"), null, null, training: true, Momentum, Eps);
        return Ops.BatchNorm(x, Param("weight"), Param("bias"), rm, rv, Training, Momentum, Eps);
    }

    /// <inheritdoc/>
    protected internal override void OnStateLoaded()
    {
        if (Own("num_batches_tracked") is { } nbt) _batchesTracked = (long)nbt.Item();
    }
}

/// <summary>nn.BatchNorm2d: input [N, C, H, W].</summary>
public sealed class BatchNorm2d(int features, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(features, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc/>
    protected override int InputRank => 4;
}

/// <summary>nn.BatchNorm1d: input [N, C].</summary>
public sealed class BatchNorm1d(int features, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(features, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc/>
    protected override int InputRank => 2;
}
