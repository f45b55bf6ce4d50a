namespace RawDistill.Backends;

/// <summary>
/// The two source pixels and weights that bilinear resampling reads for one output
/// coordinate, computed exactly as PyTorch's <c>F.interpolate(mode="bilinear",
/// align_corners=False)</c> does (<c>area_pixel_compute_source_index</c>, f32 arithmetic),
/// so that our resizes and resized crops match torchvision's (without antialiasing, which
/// only matters when shrinking). Shared by the dataset resize and the augmentation kernels.
/// </summary>
internal readonly record struct BilinearTap(int I0, int I1, float W0, float W1)
{
    /// <summary>
    /// Taps for <paramref name="outSize"/> outputs resampling the span [start, start + inSize)
    /// of a source axis. Indices are absolute (start added) and may lie outside the image when
    /// the span does; edges clamp to the span, not to the image (the crop is resized as if it
    /// were the whole picture).
    /// </summary>
    public static void Compute(int start, int inSize, int outSize, Span<BilinearTap> taps)
    {
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            // align_corners=False: pixel centres line up; negative sources clamp to 0.
            float src = Math.Max(scale * (o + 0.5f) - 0.5f, 0f);
            int i0 = Math.Min((int)src, inSize - 1);
            int i1 = i0 < inSize - 1 ? i0 + 1 : i0;
            float w1 = src - i0;
            if (i1 == i0) w1 = 0f;
            taps[o] = new BilinearTap(start + i0, start + i1, 1f - w1, w1);
        }
    }
}
