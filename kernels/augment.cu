// Batched image augmentations over f32 N×C×H×W (IAugmentBackend). Launchers:
// CudaBackend.Augment.cs. Every random choice was made on the host; per-image parameters
// (crop boxes, jitter factors, flags, blur weights) arrive in one small device buffer.
//
// The CPU backend (CpuBackend.Augment.cs) is the reference, and these kernels follow it
// operation for operation so both give the same images: NVRTC contracts a*b + c into one
// fused multiply-add (one rounding instead of two) unless told not to, and the CPU never
// fuses, so every product and sum that feeds a later add goes through the
// round-to-nearest intrinsics below (which NVRTC never contracts), written in the CPU's
// order. Division and fmodf/floorf are IEEE-exact in both (no fast-math). The only
// difference left is the order of the double sum behind contrast's mean.
#include "common.cuh"

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float clamp01(float v) { return fminf(fmaxf(v, 0.0f), 1.0f); }

// Luma of ITU-R BT.601 (PIL's convert("L")): (0.299 R + 0.587 G) + 0.114 B, left to right.
__device__ __forceinline__ float luma(float r, float g, float b)
{
    return add(add(mul(0.299f, r), mul(0.587f, g)), mul(0.114f, b));
}

// ---- resized crop ---------------------------------------------------------------------

// Same layout as RawDistill.Backends.CropBox (five ints, sequential).
struct CropBox
{
    int top, left, height, width, flip;
};

// One bilinear tap, as BilinearTap.Compute then CpuBackend.Inside make it: PyTorch's
// align_corners=False source index over the span [start, start + inSize), edges clamped to
// the span; a tap outside the image [0, limit) reads pixel 0 with weight 0 (0·x = 0, so
// padding costs no branch in the blend).
struct Tap
{
    int i0, i1;
    float w0, w1;
};

__device__ Tap bilinear_tap(int start, int inSize, int outSize, int o, int limit)
{
    float scale = __fdiv_rn((float)inSize, (float)outSize);
    float src = fmaxf(sub(mul(scale, add((float)o, 0.5f)), 0.5f), 0.0f);
    int i0 = min((int)src, inSize - 1);
    int i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    float w1 = i1 == i0 ? 0.0f : sub(src, (float)i0);
    float w0 = sub(1.0f, w1);
    Tap t;
    i0 += start;
    i1 += start;
    bool in0 = (unsigned)i0 < (unsigned)limit, in1 = (unsigned)i1 < (unsigned)limit;
    t.i0 = in0 ? i0 : 0;
    t.i1 = in1 ? i1 : 0;
    t.w0 = in0 ? w0 : 0.0f;
    t.w1 = in1 ? w1 : 0.0f;
    return t;
}

// One thread per output pixel; the two taps are recomputed per pixel (a few flops) rather
// than tabulated, so the only upload is the boxes. A flipped box reads its taps mirrored.
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) resized_crop_f32(const float* x, int N, int C, int H, int W, const CropBox* boxes,
                                            int outH, int outW, float* y)
{
    GRID_STRIDE_LOOP(t, (i64)N * C * outH * outW)
    {
        int ox = (int)(t % outW), oy = (int)((t / outW) % outH);
        i64 nc = t / ((i64)outH * outW);
        int n = (int)(nc / C);
        CropBox b = boxes[n];
        Tap ty = bilinear_tap(b.top, b.height, outH, oy, H);
        Tap tx = bilinear_tap(b.left, b.width, outW, b.flip ? outW - 1 - ox : ox, W);
        const float* src = x + nc * H * W;
        const float* r0 = src + (i64)ty.i0 * W;
        const float* r1 = src + (i64)ty.i1 * W;
        // PyTorch's (and the CPU's) order: h0λ·(w0λ·x00 + w1λ·x01) + h1λ·(w0λ·x10 + w1λ·x11).
        float top = add(mul(tx.w0, r0[tx.i0]), mul(tx.w1, r0[tx.i1]));
        float bottom = add(mul(tx.w0, r1[tx.i0]), mul(tx.w1, r1[tx.i1]));
        y[t] = add(mul(ty.w0, top), mul(ty.w1, bottom));
    }
}

// ---- color jitter ---------------------------------------------------------------------

// Same layout as RawDistill.Backends.JitterParams.
struct JitterParams
{
    float brightness, contrast, saturation, hue;
    int order, enabled;
};

// torchvision's _rgb2hsv → shift hue → _hsv2rgb for one pixel (CpuBackend.ShiftHue).
__device__ void shift_hue(float& r, float& g, float& b, float shift)
{
    float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
    bool eqc = maxc == minc;
    float cr = sub(maxc, minc);
    float s = __fdiv_rn(cr, eqc ? 1.0f : maxc);
    float div = eqc ? 1.0f : cr;
    float rc = __fdiv_rn(sub(maxc, r), div), gc = __fdiv_rn(sub(maxc, g), div), bc = __fdiv_rn(sub(maxc, b), div);
    float h = maxc == r ? sub(bc, gc) : maxc == g ? sub(add(2.0f, rc), bc) : sub(add(4.0f, gc), rc);
    h = fmodf(add(__fdiv_rn(h, 6.0f), 1.0f), 1.0f);
    h = fmodf(add(h, shift), 1.0f);
    if (h < 0.0f) h = add(h, 1.0f);
    float v = maxc;
    float h6 = mul(h, 6.0f);
    float fi = floorf(h6);
    float f = sub(h6, fi);
    int sector = ((int)fi % 6 + 6) % 6;
    float p = clamp01(mul(v, sub(1.0f, s)));
    float q = clamp01(mul(v, sub(1.0f, mul(s, f))));
    float u = clamp01(mul(v, sub(1.0f, mul(s, sub(1.0f, f)))));
    switch (sector)
    {
        case 0: r = v; g = u; b = p; break;
        case 1: r = q; g = v; b = p; break;
        case 2: r = p; g = v; b = u; break;
        case 3: r = p; g = q; b = v; break;
        case 4: r = u; g = p; b = v; break;
        default: r = v; g = p; b = q; break;
    }
}

// One 256-thread block per image (grid-strided over images), the image edited in place in
// y. Thread k owns pixels k, k + blockDim, ... with all their channels in every step, so
// the point-wise steps need no barrier; contrast's mean is a block reduction, whose
// barriers also order it after the owners' earlier writes. The mean is summed in double,
// as on the CPU (luma for 3 channels, plain values otherwise), and rounded once to f32.
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) color_jitter_f32(const float* x, int N, int C, int plane, const JitterParams* params, float* y)
{
    __shared__ double scratch[32];
    for (int n = blockIdx.x; n < N; n += gridDim.x)
    {
        const float* src = x + (i64)n * C * plane;
        float* img = y + (i64)n * C * plane;
        if (src != img)
            for (int i = threadIdx.x; i < plane; i += blockDim.x)
                for (int c = 0; c < C; c++) img[(i64)c * plane + i] = src[(i64)c * plane + i];
        JitterParams q = params[n];
        for (int k = 0; k < 4; k++)
        {
            int op = (q.order >> (2 * k)) & 3;
            if (!(q.enabled & (1 << op))) continue;
            if (op == 0) // brightness: clamp(b·x)
            {
                for (int i = threadIdx.x; i < plane; i += blockDim.x)
                    for (int c = 0; c < C; c++)
                    {
                        float* p = img + (i64)c * plane + i;
                        *p = clamp01(mul(*p, q.brightness));
                    }
            }
            else if (op == 1) // contrast: clamp(c·x + (1 − c)·mean), a multiply then an add
            {
                double s = 0.0;
                for (int i = threadIdx.x; i < plane; i += blockDim.x)
                {
                    if (C == 3) s += (double)luma(img[i], img[plane + i], img[2 * (i64)plane + i]);
                    else
                        for (int c = 0; c < C; c++) s += (double)img[(i64)c * plane + i];
                }
                s = block_reduce<0>(s, scratch);
                float mean = (float)(s / (C == 3 ? (double)plane : (double)C * plane));
                float shift = mul(sub(1.0f, q.contrast), mean);
                for (int i = threadIdx.x; i < plane; i += blockDim.x)
                    for (int c = 0; c < C; c++)
                    {
                        float* p = img + (i64)c * plane + i;
                        *p = clamp01(add(mul(*p, q.contrast), shift));
                    }
            }
            else if (C == 3 && op == 2) // saturation: clamp(s·x + (1 − s)·gray)
            {
                float t = sub(1.0f, q.saturation);
                for (int i = threadIdx.x; i < plane; i += blockDim.x)
                {
                    float* r = img + i;
                    float* g = r + plane;
                    float* b = g + plane;
                    float l = luma(*r, *g, *b);
                    *r = clamp01(add(mul(q.saturation, *r), mul(t, l)));
                    *g = clamp01(add(mul(q.saturation, *g), mul(t, l)));
                    *b = clamp01(add(mul(q.saturation, *b), mul(t, l)));
                }
            }
            else if (C == 3 && op == 3)
            {
                for (int i = threadIdx.x; i < plane; i += blockDim.x)
                {
                    float r = img[i], g = img[plane + i], b = img[2 * (i64)plane + i];
                    shift_hue(r, g, b, q.hue);
                    img[i] = r;
                    img[plane + i] = g;
                    img[2 * (i64)plane + i] = b;
                }
            }
        }
    }
}

// ---- grayscale, solarize --------------------------------------------------------------

// One thread per pixel, all channels: every channel of a flagged 3-channel image ← luma.
// Reads its pixel before writing it, so y may alias x.
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) grayscale_f32(const float* x, int N, int C, int plane, const u8* apply, float* y)
{
    GRID_STRIDE_LOOP(t, (i64)N * plane)
    {
        i64 n = t / plane, i = t % plane;
        const float* s = x + n * C * plane + i;
        float* d = y + n * C * plane + i;
        if (apply[n] && C == 3)
        {
            float l = luma(s[0], s[plane], s[2 * (i64)plane]);
            d[0] = l;
            d[plane] = l;
            d[2 * (i64)plane] = l;
        }
        else if (s != d)
            for (int c = 0; c < C; c++) d[(i64)c * plane] = s[(i64)c * plane];
    }
}

extern "C" __global__ void __launch_bounds__(MAX_BLOCK) solarize_f32(const float* x, int N, i64 imageSize, const u8* apply, double threshold, float* y)
{
    float th = (float)threshold;
    GRID_STRIDE_LOOP(t, N * imageSize)
    {
        float v = x[t];
        y[t] = apply[t / imageSize] && v >= th ? sub(1.0f, v) : v;
    }
}

// ---- gaussian blur --------------------------------------------------------------------

// PyTorch's "reflect" padding (edge not repeated): −1 → 1, n → n − 2.
__device__ __forceinline__ int reflect(int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; }

// Pass 1, along rows: tmp[y, x] = Σ_j k_j · x[y, reflect(x + j − r)], summed from j = 0 as
// the CPU does. Images not flagged are skipped (pass 2 copies them).
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) blur_rows_f32(const float* x, int N, int C, int H, int W, const u8* apply,
                                         const float* weights, int K, float* tmp)
{
    int r = K / 2;
    GRID_STRIDE_LOOP(t, (i64)N * C * H * W)
    {
        i64 n = t / ((i64)C * H * W);
        if (!apply[n]) continue;
        int xx = (int)(t % W);
        const float* row = x + (t - xx);
        const float* k = weights + n * K;
        float acc = 0.0f;
        for (int j = 0; j < K; j++) acc = add(acc, mul(k[j], row[reflect(xx + j - r, W)]));
        tmp[t] = acc;
    }
}

// Pass 2, along columns: y[y, x] = Σ_j k_j · tmp[reflect(y + j − r), x] in the same order
// (the CPU's row-vector updates d ← tmp·k_j + d, j = 0..K−1); unflagged images are copied.
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) blur_cols_f32(const float* x, const float* tmp, int N, int C, int H, int W, const u8* apply,
                                         const float* weights, int K, float* y)
{
    int r = K / 2;
    GRID_STRIDE_LOOP(t, (i64)N * C * H * W)
    {
        i64 n = t / ((i64)C * H * W);
        if (!apply[n])
        {
            y[t] = x[t];
            continue;
        }
        int yy = (int)((t / W) % H);
        const float* column = tmp + (t - (i64)yy * W); // (0, x) of this plane
        const float* k = weights + n * K;
        float acc = 0.0f;
        for (int j = 0; j < K; j++) acc = add(mul(column[(i64)reflect(yy + j - r, H) * W], k[j]), acc);
        y[t] = acc;
    }
}
