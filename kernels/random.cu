// Philox 4x32-10 random numbers, identical to the CPU backend for the same seed and
// counter. Launcher: CudaBackend.Random.cs.
//
// Key (k0, k1) = ((u32)seed, (u32)(seed >> 32)). Element i uses counter block
// j = counter + i/4 as (c0, c1, c2, c3) = ((u32)j, (u32)(j >> 32), 0, 0) and output word
// w = i % 4. Ten rounds as in Random123's philox4x32_R(10, ...): round, then bump the key
// by the Weyl constants before each of rounds 2..10 (nine bumps). One round with
// multipliers M0 = 0xD2511F53, M1 = 0xCD9E8D57:
//     (hi0, lo0) = M0 · c0, (hi1, lo1) = M1 · c2 (64-bit products)
//     c' = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
// Uniform: u = (word >> 8) · 2^-24, exact in f32 and f64.
// Normal (Box–Muller): words (x0, x1) serve elements w ∈ {0, 1}, (x2, x3) serve
// w ∈ {2, 3}; u1 = ((xa >> 8) + 1) · 2^-24 ∈ (0, 1], u2 = (xb >> 8) · 2^-24;
// r = sqrt(−2 ln u1), θ = 2π·u2 in double; even w gets r·cos θ, odd w gets r·sin θ.
#include "common.cuh"

__device__ __forceinline__ void philox4x32_10(u32 c[4], u32 k0, u32 k1)
{
    for (int round = 0; round < 10; round++)
    {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        u64 p0 = (u64)0xD2511F53u * c[0];
        u64 p1 = (u64)0xCD9E8D57u * c[2];
        u32 hi0 = (u32)(p0 >> 32), lo0 = (u32)p0, hi1 = (u32)(p1 >> 32), lo1 = (u32)p1;
        u32 n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

#define TWO_POW_M24 5.9604644775390625e-08 /* 2^-24 */
#define TWO_PI 6.283185307179586476925286766559

// One thread per counter block (four elements).
template <typename T> __device__ void philox(T* y, i64 n, u64 seed, u64 counter, int normal)
{
    u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
    GRID_STRIDE_LOOP(blk, (n + 3) / 4)
    {
        u64 j = counter + (u64)blk;
        u32 c[4] = { (u32)j, (u32)(j >> 32), 0u, 0u };
        philox4x32_10(c, k0, k1);
        i64 base = blk * 4;
        if (!normal)
        {
            for (int w = 0; w < 4; w++)
                if (base + w < n) y[base + w] = (T)((double)(c[w] >> 8) * TWO_POW_M24);
        }
        else
        {
            for (int pair = 0; pair < 2; pair++)
            {
                u32 xa = c[2 * pair], xb = c[2 * pair + 1];
                double u1 = ((double)(xa >> 8) + 1.0) * TWO_POW_M24;
                double u2 = (double)(xb >> 8) * TWO_POW_M24;
                double r = sqrt(-2.0 * log(u1));
                double theta = TWO_PI * u2;
                i64 e = base + 2 * pair;
                if (e < n) y[e] = (T)(r * cos(theta));
                if (e + 1 < n) y[e + 1] = (T)(r * sin(theta));
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(MAX_BLOCK) philox_f32(float* y, i64 n, u64 seed, u64 counter, int normal) { philox<float>(y, n, seed, counter, normal); }
extern "C" __global__ void __launch_bounds__(MAX_BLOCK) philox_f64(double* y, i64 n, u64 seed, u64 counter, int normal) { philox<double>(y, n, seed, counter, normal); }
