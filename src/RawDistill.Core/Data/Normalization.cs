namespace RawDistill.Data;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>Applies <see cref="NormalizationStats"/> to f32 image batches (N×C×H×W) on their backend.</summary>
public static class Normalization
{
    /// <summary>A new tensor (x − mean) / std, per channel; x stays untouched.</summary>
    public static Tensor Apply(Tensor x, NormalizationStats stats)
    {
        var y = Tensor.Empty(x.Shape, x.DType, x.Backend);
        y.CopyFrom(x);
        return ApplyInPlace(y, stats, 1.0);
    }

    /// <summary>
    /// x ← (x · pixelScale − mean) / std per channel, in place, as one fused multiply-add per
    /// channel (scale = pixelScale / std, shift = −mean / std) run by the backend. Returns x.
    /// </summary>
    public static Tensor ApplyInPlace(Tensor x, NormalizationStats stats, double pixelScale = 1.0)
    {
        if (x.Rank != 4 || x.DType != DType.F32) throw new ArgumentException($"normalize: expected an f32 N×C×H×W batch, got {x.Describe()}");
        int c = x.Shape[1];
        if (stats.Channels != c) throw new ArgumentException($"normalize: statistics have {stats.Channels} channels, the batch {x.Describe()} has {c}");
        var scale = new float[c];
        var shift = new float[c];
        for (int i = 0; i < c; i++)
        {
            scale[i] = (float)(pixelScale / stats.Std[i]);
            shift[i] = (float)(-stats.Mean[i] / stats.Std[i]);
        }
        int[] perChannel = [1, c, 1, 1];
        using var s = Tensor.From<float>(scale, perChannel, x.Backend);
        using var t = Tensor.From<float>(shift, perChannel, x.Backend);
        var strides = Shape.Strides(x.Shape);
        x.Backend.Binary(BinaryOp.Mul, x.Storage, strides, s.Storage, Shape.BroadcastStrides(perChannel, x.Shape), x.Storage, x.Shape);
        x.Backend.Binary(BinaryOp.Add, x.Storage, strides, t.Storage, Shape.BroadcastStrides(perChannel, x.Shape), x.Storage, x.Shape);
        return x;
    }
}
