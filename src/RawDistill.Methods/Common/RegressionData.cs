namespace RawDistill.Methods.Common;

using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Tensors;

/// <summary>
/// A regression set (images, targets) as the <see cref="RegressionTrainer"/> reads it: n
/// samples, inputs already normalized for the network, targets n × d. Either host arrays in
/// pixel space (a distilled set, a subset) or a dataset with its teacher targets (the real
/// images MKDT's experts train on, without copying them to floats).
/// </summary>
public abstract class RegressionData
{
    /// <summary>n.</summary>
    public abstract int Count { get; }

    /// <summary>d.</summary>
    public abstract int TargetDim { get; }

    /// <summary>Normalized images at <paramref name="indices"/>, B×C×H×W.</summary>
    public abstract Tensor Inputs(ReadOnlySpan<int> indices, IBackend backend);

    /// <summary>Targets at <paramref name="indices"/>, B×d.</summary>
    public abstract Tensor Targets(ReadOnlySpan<int> indices, IBackend backend);

    /// <summary>Host arrays: X (n×C×H×W pixel space) and Y (n×d).</summary>
    public static RegressionData FromArrays(float[] x, float[] y, int channels, int size, NormalizationStats normalization) =>
        new Arrays(x, y, channels, size, normalization);

    /// <summary>A dataset (bytes) and its targets (n×d).</summary>
    public static RegressionData FromDataset(ImageDataset images, float[] targets, NormalizationStats normalization) =>
        new Dataset(images, targets, normalization);

    static Tensor Rows(float[] source, int width, ReadOnlySpan<int> indices, int[] shape, IBackend backend)
    {
        var rows = new float[indices.Length * width];
        for (int i = 0; i < indices.Length; i++) source.AsSpan(indices[i] * width, width).CopyTo(rows.AsSpan(i * width, width));
        return Tensor.From<float>(rows, shape, backend);
    }

    sealed class Arrays : RegressionData
    {
        readonly float[] _x, _y;
        readonly int _c, _s, _img, _n, _d;
        readonly NormalizationStats _norm;

        public Arrays(float[] x, float[] y, int channels, int size, NormalizationStats normalization)
        {
            _img = channels * size * size;
            _n = x.Length / _img;
            if (_n * _img != x.Length || _n == 0) throw new ArgumentException($"regression data: {x.Length} pixel values are not a whole number of {channels}×{size}×{size} images");
            if (y.Length % _n != 0) throw new ArgumentException($"regression data: {y.Length} target values for {_n} images");
            (_x, _y, _c, _s, _d, _norm) = (x, y, channels, size, y.Length / _n, normalization);
        }

        public override int Count => _n;

        public override int TargetDim => _d;

        public override Tensor Inputs(ReadOnlySpan<int> indices, IBackend backend) =>
            Normalization.ApplyInPlace(Rows(_x, _img, indices, [indices.Length, _c, _s, _s], backend), _norm);

        public override Tensor Targets(ReadOnlySpan<int> indices, IBackend backend) => Rows(_y, _d, indices, [indices.Length, _d], backend);
    }

    sealed class Dataset : RegressionData
    {
        readonly ImageDataset _images;
        readonly float[] _y;
        readonly int _d;
        readonly NormalizationStats _norm;

        public Dataset(ImageDataset images, float[] targets, NormalizationStats normalization)
        {
            if (images.Count == 0 || targets.Length % images.Count != 0) throw new ArgumentException($"regression data: {targets.Length} target values for {images.Count} images");
            (_images, _y, _d, _norm) = (images, targets, targets.Length / images.Count, normalization);
        }

        public override int Count => _images.Count;

        public override int TargetDim => _d;

        public override Tensor Inputs(ReadOnlySpan<int> indices, IBackend backend) => _images.Batch(indices, backend, _norm);

        public override Tensor Targets(ReadOnlySpan<int> indices, IBackend backend) => Rows(_y, _d, indices, [indices.Length, _d], backend);
    }
}
