namespace RawDistill.Methods.Eval;

using RawDistill.Autodiff;
using RawDistill.Data;
using RawDistill.Nn.Models;
using RawDistill.Tensors;

/// <summary>Frozen-encoder features of a dataset: eval mode, no gradient, fixed-size batches.</summary>
public static class FeatureExtractor
{
    /// <summary>
    /// encoder.Embed((x − mean)/std) for every image of <paramref name="data"/>, in order, as a
    /// row-major N × d host array. The encoder is left in eval mode.
    /// </summary>
    public static float[] Extract(ImageModel encoder, ImageDataset data, NormalizationStats normalization, int batch = 256, IProgress<int>? progress = null)
    {
        var result = new float[(long)data.Count * encoder.FeatureDim];
        Extract(encoder, data, normalization, result, batch, progress);
        return result;
    }

    /// <summary>
    /// The same features written into <paramref name="result"/> (exactly N × d long): an
    /// evaluation reuses one buffer for every encoder instead of a fresh large array per cell.
    /// </summary>
    public static void Extract(ImageModel encoder, ImageDataset data, NormalizationStats normalization, Span<float> result, int batch = 256, IProgress<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        encoder.Eval();
        int d = encoder.FeatureDim;
        if (result.Length != (long)data.Count * d) throw new ArgumentException($"features: a buffer of {result.Length} values for {data.Count} images × {d}");
        var backend = encoder.Parameters().FirstOrDefault()?.Backend ?? Tensor.DefaultBackend;
        using var _ = GradMode.NoGrad();
        var idx = new int[batch];
        for (int start = 0; start < data.Count; start += batch)
        {
            int b = Math.Min(batch, data.Count - start);
            for (int i = 0; i < b; i++) idx[i] = start + i;
            using var scope = TensorScope.Begin();
            var x = data.Batch(idx.AsSpan(0, b), backend, normalization);
            var f = encoder.Embed(x);
            f.CopyTo(result.Slice((int)((long)start * d), b * d));
            progress?.Report(start + b);
        }
    }
}
