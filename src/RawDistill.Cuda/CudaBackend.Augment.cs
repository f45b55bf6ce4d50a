namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using RawDistill.Backends;
using RawDistill.Cuda.Native;
using RawDistill.Tensors;

// Augmentation kernels (kernels/augment.cu), IAugmentBackend. Each call packs its per-image
// parameters into one host array and uploads it with a single stream-ordered copy into a
// pooled scratch block, then queues its kernels behind it: no synchronize, no per-image
// transfer. Parameters are validated on the host, as the CPU backend validates them.
public sealed unsafe partial class CudaBackend : IAugmentBackend
{
    /// <summary>Copies <paramref name="bytes"/> into a fresh scratch block, queued on the stream.</summary>
    DeviceScratch UploadScratch(ReadOnlySpan<byte> bytes)
    {
        var scratch = Rent(DType.U8, bytes.Length);
        MakeCurrent();
        // From pageable memory the driver stages the bytes before returning (see Upload), so
        // the host array may be dropped at once; the block goes back to the pool when the
        // caller disposes it, and any later user of the block is queued behind our kernels.
        fixed (byte* p = bytes) CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync_v2(scratch.Pointer, p, (nuint)bytes.Length, _stream));
        AfterLaunch("cuMemcpyHtoDAsync_v2 (augmentation parameters)");
        return scratch;
    }

    ulong ImagePtr(string op, Storage s, long count)
    {
        if (s.DType != DType.F32) throw new NotSupportedException($"{op} needs an f32 storage, got {s.DType}");
        if (s.Count < count) throw new ArgumentException($"{op}: storage of {s.Count} elements is smaller than the {count} the geometry needs");
        return Ptr(s, 0, count);
    }

    static bool AnySet(ReadOnlySpan<byte> flags) => flags.IndexOfAnyExcept((byte)0) >= 0;

    /// <inheritdoc/>
    public void ResizedCrop(Storage x, in ImageBatchGeometry g, ReadOnlySpan<CropBox> boxes, int outH, int outW, Storage y)
    {
        long outCount = (long)g.N * g.C * outH * outW;
        ulong px = ImagePtr("resized crop", x, g.Numel), py = ImagePtr("resized crop", y, outCount);
        if (boxes.Length != g.N) throw new ArgumentException($"resized crop: {boxes.Length} boxes for {g.N} images");
        if (outH < 0 || outW < 0) throw new ArgumentException($"resized crop: output size {outH}×{outW}");
        for (int n = 0; n < boxes.Length; n++)
            if (boxes[n].Height <= 0 || boxes[n].Width <= 0) throw new ArgumentException($"resized crop: empty box {boxes[n]} for image {n}");
        if (outCount == 0) return;
        using var p = UploadScratch(MemoryMarshal.AsBytes(boxes));
        var a = new KernelArgs();
        a.Add(px); a.Add(g.N); a.Add(g.C); a.Add(g.H); a.Add(g.W); a.Add(p.Pointer); a.Add(outH); a.Add(outW); a.Add(py);
        Launch1D("augment.cu", "resized_crop_f32", outCount, ref a);
    }

    /// <inheritdoc/>
    public void ColorJitter(Storage x, in ImageBatchGeometry g, ReadOnlySpan<JitterParams> p, Storage y)
    {
        ulong px = ImagePtr("color jitter", x, g.Numel), py = ImagePtr("color jitter", y, g.Numel);
        if (p.Length != g.N) throw new ArgumentException($"color jitter: {p.Length} parameter sets for {g.N} images");
        if (g.Numel == 0) return;
        bool any = false;
        foreach (var q in p) any |= q.Enabled != 0;
        if (!any)
        {
            if (px != py) CopyImages(px, py, g.Numel);
            return;
        }
        using var s = UploadScratch(MemoryMarshal.AsBytes(p));
        var a = new KernelArgs();
        a.Add(px); a.Add(g.N); a.Add(g.C); a.Add(g.Plane); a.Add(s.Pointer); a.Add(py);
        // One block per image (the contrast mean is a block reduction).
        Launch("augment.cu", "color_jitter_f32", (uint)Math.Min(g.N, 1 << 20), BlockSize, ref a);
    }

    /// <inheritdoc/>
    public void Grayscale(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, Storage y)
    {
        ulong px = ImagePtr("grayscale", x, g.Numel), py = ImagePtr("grayscale", y, g.Numel);
        if (apply.Length != g.N) throw new ArgumentException($"grayscale: {apply.Length} flags for {g.N} images");
        if (g.Numel == 0) return;
        if (g.C != 3 || !AnySet(apply))
        {
            if (px != py) CopyImages(px, py, g.Numel);
            return;
        }
        using var s = UploadScratch(apply);
        var a = new KernelArgs();
        a.Add(px); a.Add(g.N); a.Add(g.C); a.Add(g.Plane); a.Add(s.Pointer); a.Add(py);
        Launch1D("augment.cu", "grayscale_f32", (long)g.N * g.Plane, ref a);
    }

    /// <inheritdoc/>
    public void GaussianBlur(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, ReadOnlySpan<float> weights, int kernelSize, Storage y)
    {
        ulong px = ImagePtr("gaussian blur", x, g.Numel), py = ImagePtr("gaussian blur", y, g.Numel);
        int r = kernelSize / 2;
        if (kernelSize % 2 == 0 || kernelSize < 1) throw new ArgumentException($"gaussian blur: kernel size {kernelSize} must be odd and positive");
        if (r >= g.H || r >= g.W) throw new ArgumentException($"gaussian blur: reflect padding of {r} needs images larger than {r}×{r}, got {g.H}×{g.W}");
        if (apply.Length != g.N || weights.Length != g.N * kernelSize) throw new ArgumentException($"gaussian blur: {apply.Length} flags and {weights.Length} weights for {g.N} images of kernel {kernelSize}");
        if (g.Numel == 0) return;
        if (!AnySet(apply))
        {
            CopyImages(px, py, g.Numel);
            return;
        }
        // One upload: the weights (N·K floats), then the flags (N bytes).
        int weightBytes = weights.Length * sizeof(float);
        var packed = new byte[weightBytes + apply.Length];
        MemoryMarshal.AsBytes(weights).CopyTo(packed);
        apply.CopyTo(packed.AsSpan(weightBytes));
        using var s = UploadScratch(packed);
        using var tmp = Rent(DType.F32, g.Numel);
        ulong pw = s.Pointer, pa = s.Pointer + (ulong)weightBytes;
        var rows = new KernelArgs();
        rows.Add(px); rows.Add(g.N); rows.Add(g.C); rows.Add(g.H); rows.Add(g.W); rows.Add(pa); rows.Add(pw); rows.Add(kernelSize); rows.Add(tmp.Pointer);
        Launch1D("augment.cu", "blur_rows_f32", g.Numel, ref rows);
        var cols = new KernelArgs();
        cols.Add(px); cols.Add(tmp.Pointer); cols.Add(g.N); cols.Add(g.C); cols.Add(g.H); cols.Add(g.W); cols.Add(pa); cols.Add(pw); cols.Add(kernelSize); cols.Add(py);
        Launch1D("augment.cu", "blur_cols_f32", g.Numel, ref cols);
    }

    /// <inheritdoc/>
    public void Solarize(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, float threshold, Storage y)
    {
        ulong px = ImagePtr("solarize", x, g.Numel), py = ImagePtr("solarize", y, g.Numel);
        if (apply.Length != g.N) throw new ArgumentException($"solarize: {apply.Length} flags for {g.N} images");
        if (g.Numel == 0) return;
        if (!AnySet(apply))
        {
            if (px != py) CopyImages(px, py, g.Numel);
            return;
        }
        using var s = UploadScratch(apply);
        var a = new KernelArgs();
        a.Add(px); a.Add(g.N); a.Add((long)g.ImageSize); a.Add(s.Pointer); a.Add((double)threshold); a.Add(py);
        Launch1D("augment.cu", "solarize_f32", g.Numel, ref a);
    }

    /// <summary>y ← x for a whole batch (the "image not selected" path when no image is).</summary>
    void CopyImages(ulong px, ulong py, long count)
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(py, px, (nuint)(count * sizeof(float)), _stream));
        AfterLaunch("cuMemcpyDtoDAsync_v2");
    }
}
