namespace RawDistill.Backends.Cpu;

using System.Numerics.Tensors;
using RawDistill.Tensors;

// Augmentation kernels (IAugmentBackend): one image per work item, parameters drawn on the
// host beforehand. Element-wise parts go through TensorPrimitives (SIMD); the resampling
// kernels are scalar loops over precomputed taps, which is what their gathers allow.
public sealed unsafe partial class CpuBackend : IAugmentBackend
{
    // Luma weights of ITU-R BT.601, as PIL's convert("L") uses them.
    const float LumaR = 0.299f, LumaG = 0.587f, LumaB = 0.114f;

    /// <inheritdoc/>
    public void ResizedCrop(Storage x, in ImageBatchGeometry g, ReadOnlySpan<CropBox> boxes, int outH, int outW, Storage y)
    {
        CheckF32("resized crop", x, g.Numel);
        CheckF32("resized crop", y, (long)g.N * g.C * outH * outW);
        if (boxes.Length != g.N) throw new ArgumentException($"resized crop: {boxes.Length} boxes for {g.N} images");
        var bx = boxes.ToArray();
        var geo = g;
        float* px = P<float>(x), py = P<float>(y);
        Parallel.For(0, g.N, n =>
        {
            var b = bx[n];
            if (b.Height <= 0 || b.Width <= 0) throw new ArgumentException($"resized crop: empty box {b} for image {n}");
            var ty = new BilinearTap[outH];
            var tx = new BilinearTap[outW];
            BilinearTap.Compute(b.Top, b.Height, outH, ty);
            BilinearTap.Compute(b.Left, b.Width, outW, tx);
            // Taps that fall outside the image read pixel 0 with weight 0: zero padding without
            // a branch in the inner loop (0·finite = 0 exactly).
            for (int i = 0; i < outH; i++) ty[i] = Inside(ty[i], geo.H);
            for (int i = 0; i < outW; i++) tx[i] = Inside(tx[i], geo.W);
            if (b.Flipped) Array.Reverse(tx);
            for (int c = 0; c < geo.C; c++)
            {
                float* src = px + ((long)n * geo.C + c) * geo.Plane;
                float* dst = py + ((long)n * geo.C + c) * outH * outW;
                for (int oy = 0; oy < outH; oy++)
                {
                    var t = ty[oy];
                    float* r0 = src + (long)t.I0 * geo.W, r1 = src + (long)t.I1 * geo.W;
                    float* d = dst + (long)oy * outW;
                    for (int ox = 0; ox < outW; ox++)
                    {
                        var u = tx[ox];
                        // PyTorch's order: h0λ·(w0λ·x00 + w1λ·x01) + h1λ·(w0λ·x10 + w1λ·x11).
                        d[ox] = t.W0 * (u.W0 * r0[u.I0] + u.W1 * r0[u.I1]) + t.W1 * (u.W0 * r1[u.I0] + u.W1 * r1[u.I1]);
                    }
                }
            }
        });
    }

    static BilinearTap Inside(BilinearTap t, int size)
    {
        bool in0 = (uint)t.I0 < (uint)size, in1 = (uint)t.I1 < (uint)size;
        return new BilinearTap(in0 ? t.I0 : 0, in1 ? t.I1 : 0, in0 ? t.W0 : 0f, in1 ? t.W1 : 0f);
    }

    /// <inheritdoc/>
    public void ColorJitter(Storage x, in ImageBatchGeometry g, ReadOnlySpan<JitterParams> p, Storage y)
    {
        CheckF32("color jitter", x, g.Numel);
        CheckF32("color jitter", y, g.Numel);
        if (p.Length != g.N) throw new ArgumentException($"color jitter: {p.Length} parameter sets for {g.N} images");
        var ps = p.ToArray();
        var geo = g;
        float* px = P<float>(x), py = P<float>(y);
        Parallel.For(0, g.N, n =>
        {
            int size = geo.ImageSize;
            var img = new Span<float>(py + (long)n * size, size);
            if (px != py) new ReadOnlySpan<float>(px + (long)n * size, size).CopyTo(img);
            var q = ps[n];
            for (int k = 0; k < 4; k++)
            {
                int op = q.Step(k);
                if (!q.Runs(op)) continue;
                switch (op)
                {
                    case JitterParams.BrightnessOp:
                        TensorPrimitives.Multiply(img, q.Brightness, img);
                        Clamp01(img);
                        break;
                    case JitterParams.ContrastOp:
                        {
                            float mean = geo.C == 3 ? MeanLuma(img, geo.Plane) : Mean(img);
                            // blend(img, mean, c) = c·img + (1 − c)·mean, as torchvision's _blend
                            // (a multiply, then an add: no fused rounding, like PyTorch).
                            TensorPrimitives.Multiply(img, q.Contrast, img);
                            TensorPrimitives.Add(img, (1f - q.Contrast) * mean, img);
                            Clamp01(img);
                            break;
                        }
                    case JitterParams.SaturationOp when geo.C == 3:
                        Saturate(img, geo.Plane, q.Saturation);
                        break;
                    case JitterParams.HueOp when geo.C == 3:
                        ShiftHue(img, geo.Plane, q.Hue);
                        break;
                }
            }
        });
    }

    static void Clamp01(Span<float> v)
    {
        TensorPrimitives.Max(v, 0f, v);
        TensorPrimitives.Min(v, 1f, v);
    }

    static float MeanLuma(ReadOnlySpan<float> img, int plane)
    {
        double s = 0;
        for (int i = 0; i < plane; i++) s += LumaR * img[i] + LumaG * img[plane + i] + LumaB * img[2 * plane + i];
        return (float)(s / plane);
    }

    // Means accumulate in double and round once to f32, so the result does not depend on the
    // summation order (SIMD width here, a block reduction on the GPU) beyond double rounding.
    static float Mean(ReadOnlySpan<float> img)
    {
        double s = 0;
        foreach (float v in img) s += v;
        return (float)(s / img.Length);
    }

    static void Saturate(Span<float> img, int plane, float s)
    {
        var r = img[..plane];
        var gch = img.Slice(plane, plane);
        var b = img.Slice(2 * plane, plane);
        float t = 1f - s;
        for (int i = 0; i < plane; i++)
        {
            float l = LumaR * r[i] + LumaG * gch[i] + LumaB * b[i];
            r[i] = Math.Clamp(s * r[i] + t * l, 0f, 1f);
            gch[i] = Math.Clamp(s * gch[i] + t * l, 0f, 1f);
            b[i] = Math.Clamp(s * b[i] + t * l, 0f, 1f);
        }
    }

    // torchvision's _rgb2hsv / _hsv2rgb, per pixel, with the hue moved by `shift` turns.
    static void ShiftHue(Span<float> img, int plane, float shift)
    {
        for (int i = 0; i < plane; i++)
        {
            float r = img[i], gg = img[plane + i], b = img[2 * plane + i];
            float maxc = MathF.Max(r, MathF.Max(gg, b)), minc = MathF.Min(r, MathF.Min(gg, b));
            bool eqc = maxc == minc;
            float cr = maxc - minc;
            float s = cr / (eqc ? 1f : maxc);
            float div = eqc ? 1f : cr;
            float rc = (maxc - r) / div, gc = (maxc - gg) / div, bc = (maxc - b) / div;
            float h = maxc == r ? bc - gc : maxc == gg ? 2f + rc - bc : 4f + gc - rc;
            h = (h / 6f + 1f) % 1f;
            h = (h + shift) % 1f;
            if (h < 0) h += 1f;
            float v = maxc;
            float h6 = h * 6f;
            float fi = MathF.Floor(h6);
            float f = h6 - fi;
            int sector = ((int)fi % 6 + 6) % 6;
            float p = Math.Clamp(v * (1f - s), 0f, 1f);
            float q = Math.Clamp(v * (1f - s * f), 0f, 1f);
            float t = Math.Clamp(v * (1f - s * (1f - f)), 0f, 1f);
            (img[i], img[plane + i], img[2 * plane + i]) = sector switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
        }
    }

    /// <inheritdoc/>
    public void Grayscale(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, Storage y)
    {
        CheckF32("grayscale", x, g.Numel);
        CheckF32("grayscale", y, g.Numel);
        if (apply.Length != g.N) throw new ArgumentException($"grayscale: {apply.Length} flags for {g.N} images");
        var a = apply.ToArray();
        var geo = g;
        float* px = P<float>(x), py = P<float>(y);
        Parallel.For(0, g.N, n =>
        {
            int size = geo.ImageSize, plane = geo.Plane;
            var src = new ReadOnlySpan<float>(px + (long)n * size, size);
            var dst = new Span<float>(py + (long)n * size, size);
            if (a[n] == 0 || geo.C != 3)
            {
                if (px != py) src.CopyTo(dst);
                return;
            }
            for (int i = 0; i < plane; i++)
            {
                float l = LumaR * src[i] + LumaG * src[plane + i] + LumaB * src[2 * plane + i];
                dst[i] = dst[plane + i] = dst[2 * plane + i] = l;
            }
        });
    }

    /// <inheritdoc/>
    public void GaussianBlur(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, ReadOnlySpan<float> weights, int kernelSize, Storage y)
    {
        CheckF32("gaussian blur", x, g.Numel);
        CheckF32("gaussian blur", y, g.Numel);
        int r = kernelSize / 2;
        if (kernelSize % 2 == 0 || kernelSize < 1) throw new ArgumentException($"gaussian blur: kernel size {kernelSize} must be odd and positive");
        if (r >= g.H || r >= g.W) throw new ArgumentException($"gaussian blur: reflect padding of {r} needs images larger than {r}×{r}, got {g.H}×{g.W}");
        if (apply.Length != g.N || weights.Length != g.N * kernelSize) throw new ArgumentException($"gaussian blur: {apply.Length} flags and {weights.Length} weights for {g.N} images of kernel {kernelSize}");
        var a = apply.ToArray();
        var w = weights.ToArray();
        var geo = g;
        float* px = P<float>(x), py = P<float>(y);
        Parallel.For(0, g.N, n =>
        {
            int size = geo.ImageSize, plane = geo.Plane, H = geo.H, W = geo.W;
            var src = new ReadOnlySpan<float>(px + (long)n * size, size);
            var dst = new Span<float>(py + (long)n * size, size);
            if (a[n] == 0)
            {
                src.CopyTo(dst);
                return;
            }
            var k = w.AsSpan(n * kernelSize, kernelSize);
            // Reflect (PyTorch's "reflect", edge not repeated): −1 → 1, W → W − 2.
            var colIdx = new int[W + 2 * r];
            for (int i = 0; i < colIdx.Length; i++) colIdx[i] = Reflect(i - r, W);
            var rowIdx = new int[H + 2 * r];
            for (int i = 0; i < rowIdx.Length; i++) rowIdx[i] = Reflect(i - r, H);
            var tmp = new float[plane];
            for (int c = 0; c < geo.C; c++)
            {
                var s = src.Slice(c * plane, plane);
                var d = dst.Slice(c * plane, plane);
                // Along rows (x), then along columns (y): Σ_j k_j · x[reflect(i + j − r)].
                for (int yy = 0; yy < H; yy++)
                {
                    var row = s.Slice(yy * W, W);
                    for (int xx = 0; xx < W; xx++)
                    {
                        float acc = 0f;
                        for (int j = 0; j < kernelSize; j++) acc += k[j] * row[colIdx[xx + j]];
                        tmp[yy * W + xx] = acc;
                    }
                }
                d.Clear();
                // Column pass as row-vector updates: d[y, :] += k_j · tmp[reflect(y + j − r), :] (SIMD).
                for (int yy = 0; yy < H; yy++)
                {
                    var drow = d.Slice(yy * W, W);
                    for (int j = 0; j < kernelSize; j++)
                        TensorPrimitives.MultiplyAdd(tmp.AsSpan(rowIdx[yy + j] * W, W), k[j], drow, drow);
                }
            }
        });
    }

    static int Reflect(int i, int n) => i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;

    /// <inheritdoc/>
    public void Solarize(Storage x, in ImageBatchGeometry g, ReadOnlySpan<byte> apply, float threshold, Storage y)
    {
        CheckF32("solarize", x, g.Numel);
        CheckF32("solarize", y, g.Numel);
        if (apply.Length != g.N) throw new ArgumentException($"solarize: {apply.Length} flags for {g.N} images");
        var a = apply.ToArray();
        var geo = g;
        float* px = P<float>(x), py = P<float>(y);
        Parallel.For(0, g.N, n =>
        {
            int size = geo.ImageSize;
            var src = new ReadOnlySpan<float>(px + (long)n * size, size);
            var dst = new Span<float>(py + (long)n * size, size);
            if (a[n] == 0)
            {
                if (px != py) src.CopyTo(dst);
                return;
            }
            for (int i = 0; i < size; i++) dst[i] = src[i] >= threshold ? 1f - src[i] : src[i];
        });
    }

    static void CheckF32(string op, Storage s, long count)
    {
        if (s.DType != DType.F32) throw Unsupported(op, s.DType);
        if (s.Count < count) throw new ArgumentException($"{op}: storage of {s.Count} elements is smaller than the {count} the geometry needs");
    }
}
