namespace RawDistill.Backends;

using RawDistill.Tensors;

/// <summary>
/// Batched image-augmentation kernels over f32 N×C×H×W storages with values in [0, 1].
/// Every random choice is made beforehand on the host (see <c>RawDistill.Data.Augment</c>)
/// and arrives here as per-image parameters, so every backend produces the same images for
/// the same parameters: the kernels themselves are deterministic and use no random numbers,
/// and per-image arithmetic (including Gaussian weights, computed on the host) is fixed
/// here so that a GPU implementation can follow it operation for operation.
/// Separate from <see cref="IBackend"/> so the engine's core contract stays small; a backend
/// opts in by implementing both.
/// </summary>
public interface IAugmentBackend
{
    /// <summary>
    /// y[n] = bilinear resize of box n of x[n] to outH×outW, mirrored left–right when the box
    /// says so. Resampling follows PyTorch's <c>F.interpolate(mode="bilinear",
    /// align_corners=False)</c> applied to the cropped box (edges clamp to the box); pixels of
    /// the box that lie outside the image read as 0. A box of exactly outH×outW copies pixels.
    /// y has shape N×C×outH×outW and may not alias x.
    /// </summary>
    void ResizedCrop(Storage x, in ImageBatchGeometry g, ReadOnlySpan<CropBox> boxes, int outH, int outW, Storage y);

    /// <summary>
    /// torchvision's ColorJitter per image with the given factors, order and enabled ops
    /// (see <see cref="JitterParams"/>); saturation and hue are skipped unless C = 3. The
    /// gray level is the luma 0.299 R + 0.587 G + 0.114 B. y may alias x.
    /// </summary>
    void ColorJitter(Storage x, in ImageBatchGeometry g, ReadOnlySpan<JitterParams> p, Storage y);

    /// <summary>
    /// For images with apply[n] ≠ 0 and C = 3, every channel ← 0.299 R + 0.587 G + 0.114 B;
    /// other images are copied. y may alias x.
    /// </summary>
    void Grayscale(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, Storage y);

    /// <summary>
    /// For images with apply[n] ≠ 0: separable convolution of every channel with the 1-D kernel
    /// weights[n·K .. n·K + K) along rows, then along columns, with reflect padding of K/2
    /// (K odd, K/2 &lt; min(H, W)); other images are copied. y may not alias x.
    /// </summary>
    void GaussianBlur(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, ReadOnlySpan<float> weights, int kernelSize, Storage y);

    /// <summary>For images with apply[n] ≠ 0: y = x ≥ threshold ? 1 − x : x; other images copied. y may alias x.</summary>
    void Solarize(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, float threshold, Storage y);
}
