namespace RawDistill.Data;

using System.Buffers;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// An image dataset held in host memory as raw bytes: N images of C×H×W u8 pixels (NCHW,
/// row-major), with optional i32 labels in [0, <see cref="ClassCount"/>). Immutable: every
/// transformation (subset, resize, channel conversion) returns a new dataset. Models never
/// see these bytes directly; <see cref="Batch"/> turns a list of indices into an f32 tensor
/// on a backend.
/// </summary>
public sealed class ImageDataset
{
    private readonly byte[] _images;
    private readonly int[]? _labels;

    /// <summary>Wraps pixel bytes and labels (not copied; do not modify them afterwards).</summary>
    /// <exception cref="ArgumentException">Sizes do not agree or a label is out of range.</exception>
    public ImageDataset(string name, byte[] images, int count, int channels, int height, int width,
        int[]? labels = null, int classCount = 0, string? sourcePath = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(images);
        if (count < 0 || channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"dataset '{name}': invalid geometry {count}×{channels}×{height}×{width}");
        if (images.LongLength != (long)count * channels * height * width)
            throw new ArgumentException($"dataset '{name}': {images.LongLength} pixel bytes do not make {count} images of {channels}×{height}×{width}");
        if (labels != null)
        {
            if (labels.Length != count) throw new ArgumentException($"dataset '{name}': {labels.Length} labels for {count} images");
            if (classCount <= 0) throw new ArgumentException($"dataset '{name}': labels need a positive class count");
            foreach (int l in labels)
                if ((uint)l >= (uint)classCount) throw new ArgumentException($"dataset '{name}': label {l} is outside [0, {classCount})");
        }
        if (classNames != null && classNames.Count != classCount)
            throw new ArgumentException($"dataset '{name}': {classNames.Count} class names for {classCount} classes");

        Name = name;
        _images = images;
        _labels = labels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        ClassCount = labels != null ? classCount : 0;
        SourcePath = sourcePath;
        ClassNames = classNames;
    }

    /// <summary>Short name used in logs and artifact metadata, e.g. "fashion-mnist-mini/train".</summary>
    public string Name { get; }

    /// <summary>Where the data came from (a file or folder; "embedded:..." for the built-in subset).</summary>
    public string? SourcePath { get; }

    /// <summary>Number of images N.</summary>
    public int Count { get; }

    /// <summary>Channels per image C (1 = gray, 3 = RGB).</summary>
    public int Channels { get; }

    /// <summary>Image height H in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width W in pixels.</summary>
    public int Width { get; }

    /// <summary>Bytes per image, C·H·W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>The pixels, N×C×H×W row-major.</summary>
    public ReadOnlySpan<byte> Images => _images;

    /// <summary>True when the dataset carries labels.</summary>
    public bool HasLabels => _labels != null;

    /// <summary>The labels, one per image (empty when there are none).</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>Number of classes (0 when unlabeled).</summary>
    public int ClassCount { get; }

    /// <summary>Human-readable class names, when known.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The pixels of image <paramref name="index"/>, C×H×W.</summary>
    public ReadOnlySpan<byte> Image(int index) => _images.AsSpan(checked(index * ImageSize), ImageSize);

    /// <summary>Images per class (empty when unlabeled).</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassCount];
        foreach (int l in Labels) counts[l]++;
        return counts;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {Count} × {Channels}×{Height}×{Width} u8{(HasLabels ? $", {ClassCount} classes" : ", unlabeled")}{(SourcePath != null ? $" ({SourcePath})" : "")}";

    // ---- derived datasets -------------------------------------------------------------------

    /// <summary>The images (and labels) at <paramref name="indices"/>, in that order; repeats allowed.</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices, string? name = null)
    {
        int size = ImageSize;
        var images = new byte[(long)indices.Length * size];
        var labels = _labels != null ? new int[indices.Length] : null;
        for (int i = 0; i < indices.Length; i++)
        {
            int j = indices[i];
            if ((uint)j >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {j} is outside dataset '{Name}' of {Count} images");
            Image(j).CopyTo(images.AsSpan(i * size, size));
            if (labels != null) labels[i] = _labels![j];
        }
        return new ImageDataset(name ?? $"{Name}[{indices.Length}]", images, indices.Length, Channels, Height, Width, labels, ClassCount, SourcePath, ClassNames);
    }

    /// <summary>
    /// The dataset resized to <paramref name="height"/>×<paramref name="width"/> with bilinear
    /// interpolation (PyTorch's align_corners=False, no antialiasing), rounding to the nearest
    /// byte. Returns this dataset when the size already matches.
    /// </summary>
    public ImageDataset Resize(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (height == Height && width == Width) return this;
        var ty = new BilinearTap[height];
        var tx = new BilinearTap[width];
        BilinearTap.Compute(0, Height, height, ty);
        BilinearTap.Compute(0, Width, width, tx);
        int planes = Count * Channels, inPlane = Height * Width, outPlane = height * width;
        var src = _images;
        var dst = new byte[(long)planes * outPlane];
        Parallel.For(0, planes, p =>
        {
            var s = src.AsSpan(p * inPlane, inPlane);
            var d = dst.AsSpan(p * outPlane, outPlane);
            for (int y = 0; y < height; y++)
            {
                var t = ty[y];
                for (int x = 0; x < width; x++)
                {
                    var u = tx[x];
                    float v = t.W0 * (u.W0 * s[t.I0 * Width + u.I0] + u.W1 * s[t.I0 * Width + u.I1])
                            + t.W1 * (u.W0 * s[t.I1 * Width + u.I0] + u.W1 * s[t.I1 * Width + u.I1]);
                    d[y * width + x] = (byte)Math.Clamp((int)MathF.Round(v), 0, 255);
                }
            }
        });
        return new ImageDataset($"{Name}@{height}x{width}", dst, Count, Channels, height, width, _labels, ClassCount, SourcePath, ClassNames);
    }

    /// <summary>
    /// The dataset with <paramref name="channels"/> channels: 1→3 repeats the gray plane (what
    /// RGB models pre-trained elsewhere expect); 3→1 takes the luma 0.299 R + 0.587 G + 0.114 B.
    /// Returns this dataset when the count already matches.
    /// </summary>
    public ImageDataset WithChannels(int channels)
    {
        if (channels == Channels) return this;
        int plane = Height * Width;
        byte[] dst;
        if (Channels == 1 && channels == 3)
        {
            dst = new byte[(long)Count * 3 * plane];
            for (int n = 0; n < Count; n++)
            {
                var s = _images.AsSpan(n * plane, plane);
                for (int c = 0; c < 3; c++) s.CopyTo(dst.AsSpan((n * 3 + c) * plane, plane));
            }
        }
        else if (Channels == 3 && channels == 1)
        {
            dst = new byte[(long)Count * plane];
            for (int n = 0; n < Count; n++)
                for (int i = 0; i < plane; i++)
                {
                    int o = n * 3 * plane + i;
                    float l = 0.299f * _images[o] + 0.587f * _images[o + plane] + 0.114f * _images[o + 2 * plane];
                    dst[n * plane + i] = (byte)Math.Clamp((int)MathF.Round(l), 0, 255);
                }
        }
        else throw new ArgumentException($"dataset '{Name}': cannot convert {Channels} channels to {channels} (supported: 1→3, 3→1)");
        return new ImageDataset($"{Name}@{channels}ch", dst, Count, channels, Height, Width, _labels, ClassCount, SourcePath, ClassNames);
    }

    // ---- statistics -------------------------------------------------------------------------

    /// <summary>
    /// Per-channel mean and (population) standard deviation over every pixel of every image,
    /// in [0, 1] units. Exact: a 256-bin histogram per channel, then sums in double.
    /// </summary>
    public NormalizationStats ComputeNormalization()
    {
        if (Count == 0) throw new InvalidOperationException($"dataset '{Name}' is empty; it has no statistics");
        int plane = Height * Width;
        var hist = new long[Channels, 256];
        var gate = new object();
        Parallel.For(0, Count, () => new long[Channels * 256], (n, _, local) =>
        {
            var img = Image(n);
            for (int c = 0; c < Channels; c++)
                foreach (byte b in img.Slice(c * plane, plane)) local[c * 256 + b]++;
            return local;
        }, local =>
        {
            lock (gate)
                for (int c = 0; c < Channels; c++)
                    for (int v = 0; v < 256; v++) hist[c, v] += local[c * 256 + v];
        });
        var mean = new double[Channels];
        var std = new double[Channels];
        double total = (double)Count * plane;
        for (int c = 0; c < Channels; c++)
        {
            double s = 0, s2 = 0;
            for (int v = 0; v < 256; v++)
            {
                double x = v / 255.0;
                s += hist[c, v] * x;
                s2 += hist[c, v] * x * x;
            }
            mean[c] = s / total;
            // Guard a constant channel (std 0) so normalizing never divides by zero.
            std[c] = Math.Max(Math.Sqrt(Math.Max(s2 / total - mean[c] * mean[c], 0)), 1e-6);
        }
        return new NormalizationStats(mean, std);
    }

    // ---- tensors ----------------------------------------------------------------------------

    /// <summary>All images as a u8 tensor N×C×H×W on a backend.</summary>
    public Tensor ToTensor(IBackend? backend = null) => Tensor.From<byte>(_images, [Count, Channels, Height, Width], backend);

    /// <summary>All labels as an i32 tensor [N].</summary>
    public Tensor LabelsTensor(IBackend? backend = null) =>
        Tensor.From<int>(_labels ?? throw new InvalidOperationException($"dataset '{Name}' has no labels"), [Count], backend);

    /// <summary>The labels at <paramref name="indices"/>.</summary>
    public int[] LabelsAt(ReadOnlySpan<int> indices)
    {
        if (_labels == null) throw new InvalidOperationException($"dataset '{Name}' has no labels");
        var r = new int[indices.Length];
        for (int i = 0; i < r.Length; i++) r[i] = _labels[indices[i]];
        return r;
    }

    /// <summary>
    /// A minibatch: the images at <paramref name="indices"/> as an f32 tensor B×C×H×W on
    /// <paramref name="backend"/>, in [0, 1], or normalized to (x − mean) / std when
    /// <paramref name="normalize"/> is given. Only the u8 bytes cross to the backend; the
    /// conversion runs there.
    /// </summary>
    public Tensor Batch(ReadOnlySpan<int> indices, IBackend? backend = null, NormalizationStats? normalize = null)
    {
        int size = ImageSize, b = indices.Length;
        var pool = ArrayPool<byte>.Shared;
        var bytes = pool.Rent(Math.Max(1, b * size));
        try
        {
            for (int i = 0; i < b; i++)
            {
                int j = indices[i];
                if ((uint)j >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {j} is outside dataset '{Name}' of {Count} images");
                _images.AsSpan(j * size, size).CopyTo(bytes.AsSpan(i * size, size));
            }
            using var raw = Tensor.From<byte>(bytes.AsSpan(0, b * size), [b, Channels, Height, Width], backend);
            var x = Tensor.Empty(raw.Shape, DType.F32, raw.Backend);
            x.Backend.Cast(raw.Storage, x.Storage, x.Numel);
            if (normalize == null)
            {
                x.Backend.Unary(UnaryOp.Affine, x.Storage, x.Storage, x.Numel, 1.0 / 255.0, 0);
                return x;
            }
            return Normalization.ApplyInPlace(x, normalize, pixelScale: 1.0 / 255.0);
        }
        finally
        {
            pool.Return(bytes);
        }
    }
}
