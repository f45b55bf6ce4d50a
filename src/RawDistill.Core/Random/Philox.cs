namespace RawDistill.Random;

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

/// <summary>
/// Philox 4x32-10 counter-based random numbers (Salmon, Moraes, Dror and Shaw, "Parallel random
/// numbers: as easy as 1, 2, 3", SC'11; the Random123 library), with fills whose every element is a
/// pure function of (seed, counter, index) so that the CUDA backend reproduces them exactly.
/// </summary>
/// <remarks>
/// <para>Stream layout, shared with the CUDA kernels (keep the two in step):</para>
/// <list type="bullet">
/// <item>Key (k0, k1) = ((uint)seed, (uint)(seed &gt;&gt; 32)).</item>
/// <item>Element i of a fill starting at <c>counter</c> comes from block j = counter + i / 4 (mod 2^64),
/// run on the counter (c0, c1, c2, c3) = ((uint)j, (uint)(j &gt;&gt; 32), 0, 0), output word w = i % 4.</item>
/// <item>Uniform: u = (word &gt;&gt; 8) · 2^-24, in [0, 1); exact in both f32 and f64.</item>
/// <item>Normal (Box–Muller in double): words (x0, x1) serve w ∈ {0, 1}, (x2, x3) serve w ∈ {2, 3};
/// u1 = ((xa &gt;&gt; 8) + 1) · 2^-24 ∈ (0, 1], u2 = (xb &gt;&gt; 8) · 2^-24, r = sqrt(−2 ln u1), θ = 2π · u2;
/// the even element gets r · cos θ, the odd one r · sin θ, then the value is cast to the target type.</item>
/// </list>
/// <para>Uniform fills are bit-identical across backends. Normal fills go through the platform's
/// double log/sin/cos, which may differ from CUDA's by an ulp or so in f64; after the cast to f32
/// they agree except on the rare values that sit on a rounding boundary.</para>
/// </remarks>
public static class Philox
{
    /// <summary>Round multiplier applied to word 0.</summary>
    public const uint M0 = 0xD2511F53;

    /// <summary>Round multiplier applied to word 2.</summary>
    public const uint M1 = 0xCD9E8D57;

    /// <summary>Weyl increment of key word 0 between rounds (golden ratio).</summary>
    public const uint W0 = 0x9E3779B9;

    /// <summary>Weyl increment of key word 1 between rounds (sqrt(3) − 1).</summary>
    public const uint W1 = 0xBB67AE85;

    /// <summary>Rounds per block; 10 is Random123's default and the variant its known answers cover.</summary>
    public const int Rounds = 10;

    // 2^-24: the 24 high bits of a word scaled into [0, 1) are exact in float and double.
    private const float ScaleF = 1.0f / 16777216.0f;
    private const double ScaleD = 1.0 / 16777216.0;

    // Written as 2 * Math.PI (an exact doubling) so that θ = TwoPi * u2 is the same double the
    // CUDA side computes from its own 2π constant.
    private const double TwoPi = 2.0 * Math.PI;

    // Elements per parallel work item: a multiple of 4 so that every chunk starts on a block
    // boundary, and large enough (256 KiB of f32) that scheduling costs vanish next to the work.
    private const int ChunkElements = 1 << 16;

    // Below this many elements one thread finishes before Parallel.For would have fanned out.
    internal const int ParallelThreshold = 1 << 17;

    // Elements per scratch buffer inside a chunk (a multiple of 4; 4 KiB of words on the stack).
    private const int ScratchElements = 1024;

    /// <summary>Counters (blocks) a fill of <paramref name="count"/> elements consumes.</summary>
    public static long BlocksFor(long count) => (count + 3) / 4;

    /// <summary>One Philox 4x32-10 block: encrypts the counter (c0..c3) under the key (k0, k1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (uint, uint, uint, uint) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        unchecked
        {
            for (int r = 0; r < Rounds; r++)
            {
                // Random123 bumps the key before every round but the first.
                if (r > 0)
                {
                    k0 += W0;
                    k1 += W1;
                }

                ulong p0 = (ulong)M0 * c0;
                ulong p1 = (ulong)M1 * c2;
                uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
                uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
                c1 = (uint)p1;
                c3 = (uint)p0;
                c0 = n0;
                c2 = n2;
            }

            return (c0, c1, c2, c3);
        }
    }

    /// <summary>Fills <paramref name="y"/> with uniform [0, 1) values from (seed, counter).</summary>
    public static void FillUniform(Span<float> y, ulong seed, ulong counter) => Fill(y, seed, counter, normal: false, allowParallel: true);

    /// <summary>Fills <paramref name="y"/> with uniform [0, 1) values from (seed, counter).</summary>
    public static void FillUniform(Span<double> y, ulong seed, ulong counter) => Fill(y, seed, counter, normal: false, allowParallel: true);

    /// <summary>Fills <paramref name="y"/> with standard normal values from (seed, counter).</summary>
    public static void FillNormal(Span<float> y, ulong seed, ulong counter) => Fill(y, seed, counter, normal: true, allowParallel: true);

    /// <summary>Fills <paramref name="y"/> with standard normal values from (seed, counter).</summary>
    public static void FillNormal(Span<double> y, ulong seed, ulong counter) => Fill(y, seed, counter, normal: true, allowParallel: true);

    /// <summary>
    /// Shared body of the fills; <paramref name="allowParallel"/> exists so tests can compare the
    /// threaded and single-threaded paths on the same span length.
    /// </summary>
    internal static unsafe void Fill<T>(Span<T> y, ulong seed, ulong counter, bool normal, bool allowParallel)
        where T : unmanaged
    {
        // FillRange reinterprets the span as float or double; the JIT folds this check away.
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"Philox fills support float and double, not {typeof(T).Name}.");
        }

        long n = y.Length;
        if (n == 0)
        {
            return;
        }

        uint k0 = (uint)seed;
        uint k1 = (uint)(seed >> 32);
        fixed (T* p = y)
        {
            if (!allowParallel || n < ParallelThreshold || Environment.ProcessorCount == 1)
            {
                FillRange(p, n, k0, k1, counter, normal);
                return;
            }

            // Chunks start on block boundaries, so chunk c is exactly the sequential fill's
            // elements [c * ChunkElements, ...) and the result does not depend on scheduling.
            nint address = (nint)p;
            long chunks = (n + ChunkElements - 1) / ChunkElements;
            Parallel.For(0L, chunks, c =>
            {
                long start = c * ChunkElements;
                long len = Math.Min(ChunkElements, n - start);
                FillRange((T*)address + start, len, k0, k1, unchecked(counter + (ulong)(start / 4)), normal);
            });
        }
    }

    // Fills n elements at dst from consecutive blocks starting at `block`; dst[0] is word 0 of it.
    private static unsafe void FillRange<T>(T* dst, long n, uint k0, uint k1, ulong block, bool normal)
        where T : unmanaged
    {
        Span<uint> scratch = stackalloc uint[ScratchElements];
        for (long off = 0; off < n; off += ScratchElements)
        {
            int len = (int)Math.Min(ScratchElements, n - off);
            ulong b = unchecked(block + (ulong)(off / 4));
            if (!normal && typeof(T) == typeof(float))
            {
                // f32 words are the same size as the output: generate in place, then convert.
                var words = new Span<uint>((uint*)dst + off, len);
                Words(words, k0, k1, b);
                UniformInPlace(words);
            }
            else if (!normal)
            {
                Span<uint> words = scratch[..len];
                Words(words, k0, k1, b);
                double* d = (double*)dst + off;
                for (int i = 0; i < len; i++)
                {
                    d[i] = (words[i] >> 8) * ScaleD;
                }
            }
            else
            {
                // Whole blocks even when len is not a multiple of 4: the last pair's cosine
                // element needs its partner word as well.
                Span<uint> words = scratch[..(int)(BlocksFor(len) * 4)];
                Words(words, k0, k1, b);
                if (typeof(T) == typeof(float))
                {
                    NormalPairs(words, new Span<float>((float*)dst + off, len));
                }
                else
                {
                    NormalPairs(words, new Span<double>((double*)dst + off, len));
                }
            }
        }
    }

    // Box–Muller over word pairs; y.Length may be odd, in which case the last sine is dropped.
    private static void NormalPairs(ReadOnlySpan<uint> words, Span<float> y)
    {
        for (int i = 0; i < y.Length; i += 2)
        {
            (double c, double s) = BoxMuller(words[i], words[i + 1]);
            y[i] = (float)c;
            if (i + 1 < y.Length)
            {
                y[i + 1] = (float)s;
            }
        }
    }

    private static void NormalPairs(ReadOnlySpan<uint> words, Span<double> y)
    {
        for (int i = 0; i < y.Length; i += 2)
        {
            (double c, double s) = BoxMuller(words[i], words[i + 1]);
            y[i] = c;
            if (i + 1 < y.Length)
            {
                y[i + 1] = s;
            }
        }
    }

    /// <summary>The (cos, sin) normal pair from two words, exactly as the stream layout defines it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (double Cos, double Sin) BoxMuller(uint xa, uint xb)
    {
        // +1 keeps u1 in (0, 1] so the log is finite; u1 = 1 gives r = 0.
        double u1 = ((xa >> 8) + 1) * ScaleD;
        double u2 = (xb >> 8) * ScaleD;
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double theta = TwoPi * u2;
        // Separate Sin and Cos (not SinCos) so the values are those of the plain definition.
        return (r * Math.Cos(theta), r * Math.Sin(theta));
    }

    // (word >> 8) * 2^-24 on a span of words that aliases the float output.
    private static unsafe void UniformInPlace(Span<uint> words)
    {
        int n = words.Length;
        int i = 0;
        fixed (uint* p = words)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                var scale = Vector512.Create(ScaleF);
                for (; i <= n - 16; i += 16)
                {
                    // Values are below 2^24, so the signed int conversion is exact.
                    var v = Vector512.Load(p + i) >>> 8;
                    (Vector512.ConvertToSingle(v.AsInt32()) * scale).AsUInt32().Store(p + i);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var scale = Vector256.Create(ScaleF);
                for (; i <= n - 8; i += 8)
                {
                    var v = Vector256.Load(p + i) >>> 8;
                    (Vector256.ConvertToSingle(v.AsInt32()) * scale).AsUInt32().Store(p + i);
                }
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                var scale = Vector128.Create(ScaleF);
                for (; i <= n - 4; i += 4)
                {
                    var v = Vector128.Load(p + i) >>> 8;
                    (Vector128.ConvertToSingle(v.AsInt32()) * scale).AsUInt32().Store(p + i);
                }
            }

            for (; i < n; i++)
            {
                p[i] = BitConverter.SingleToUInt32Bits((p[i] >> 8) * ScaleF);
            }
        }
    }

    /// <summary>
    /// Writes the words of consecutive blocks starting at <paramref name="block"/> into
    /// <paramref name="dst"/> (word w of block b at index 4b + w); a partial last block writes
    /// only its first words. <paramref name="maxVectorBits"/> caps the SIMD width (512, 256 or 0
    /// for scalar) so tests can check every path against <see cref="Block"/>.
    /// </summary>
    internal static unsafe void Words(Span<uint> dst, uint k0, uint k1, ulong block, int maxVectorBits = 512)
    {
        int n = dst.Length;
        int i = 0;
        fixed (uint* p = dst)
        {
            if (maxVectorBits >= 512 && Avx512F.IsSupported)
            {
                i = Words512(p, n, k0, k1, block);
            }
            else if (maxVectorBits >= 256 && Avx2.IsSupported)
            {
                i = Words256(p, n, k0, k1, block);
            }

            ulong b = unchecked(block + (ulong)(i / 4));
            for (; i < n; i += 4, b = unchecked(b + 1))
            {
                var (x0, x1, x2, x3) = Block((uint)b, (uint)(b >> 32), 0, 0, k0, k1);
                int rem = n - i;
                p[i] = x0;
                if (rem > 1)
                {
                    p[i + 1] = x1;
                }

                if (rem > 2)
                {
                    p[i + 2] = x2;
                }

                if (rem > 3)
                {
                    p[i + 3] = x3;
                }
            }
        }
    }

    // The vector paths keep blocks in their natural word order (lanes [x0, x1, x2, x3] per block),
    // so results store straight to memory with no transpose. One round is then:
    //   prod  = x * [M0, _, M1, _]      (vpmuludq: 64-bit products of lanes 0 and 2 -> [lo0, hi0, lo1, hi1])
    //   x'    = shuffle(prod, 3,2,1,0)  ([hi1, lo1, hi0, lo0])
    //         ^ (x as u64 >> 32)        ([x1, 0, x3, 0])
    //         ^ [k0, 0, k1, 0]
    // which is Random123's round [hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0].
    private const byte ReverseWords = 0b00_01_10_11;

    private static unsafe int Words512(uint* p, int n, uint k0, uint k1, ulong block)
    {
        int full = n & ~15; // 4 blocks per 512-bit vector
        if (full == 0)
        {
            return 0;
        }

        var mul = Vector512.Create(M0, (ulong)M1, M0, M1, M0, M1, M0, M1).AsUInt32();
        Span<Vector512<uint>> keys = stackalloc Vector512<uint>[Rounds];
        uint a = k0, b = k1;
        for (int r = 0; r < Rounds; r++)
        {
            keys[r] = Vector512.Create(a, (ulong)b, a, b, a, b, a, b).AsUInt32();
            a = unchecked(a + W0);
            b = unchecked(b + W1);
        }

        var (key0, key1, key2, key3, key4) = (keys[0], keys[1], keys[2], keys[3], keys[4]);
        var (key5, key6, key7, key8, key9) = (keys[5], keys[6], keys[7], keys[8], keys[9]);

        // 64-bit lanes [j, 0] per block: as words that is exactly (lo(j), hi(j), 0, 0), and the
        // 64-bit add carries into hi(j) the way the scalar ulong counter does.
        var ctr = unchecked(Vector512.Create(block, 0, block + 1, 0, block + 2, 0, block + 3, 0));
        var step = Vector512.Create(4UL, 0, 4, 0, 4, 0, 4, 0);
        for (int i = 0; i < full; i += 16)
        {
            var x = ctr.AsUInt32();
            x = Round512(x, mul, key0);
            x = Round512(x, mul, key1);
            x = Round512(x, mul, key2);
            x = Round512(x, mul, key3);
            x = Round512(x, mul, key4);
            x = Round512(x, mul, key5);
            x = Round512(x, mul, key6);
            x = Round512(x, mul, key7);
            x = Round512(x, mul, key8);
            x = Round512(x, mul, key9);
            x.Store(p + i);
            ctr += step;
        }

        return full;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Round512(Vector512<uint> x, Vector512<uint> mul, Vector512<uint> key)
    {
        var prod = Avx512F.Multiply(x, mul).AsUInt32();
        return Avx512F.Shuffle(prod, ReverseWords) ^ (x.AsUInt64() >>> 32).AsUInt32() ^ key;
    }

    private static unsafe int Words256(uint* p, int n, uint k0, uint k1, ulong block)
    {
        int full = n & ~7; // 2 blocks per 256-bit vector
        if (full == 0)
        {
            return 0;
        }

        var mul = Vector256.Create(M0, (ulong)M1, M0, M1).AsUInt32();
        Span<Vector256<uint>> keys = stackalloc Vector256<uint>[Rounds];
        uint a = k0, b = k1;
        for (int r = 0; r < Rounds; r++)
        {
            keys[r] = Vector256.Create(a, (ulong)b, a, b).AsUInt32();
            a = unchecked(a + W0);
            b = unchecked(b + W1);
        }

        var (key0, key1, key2, key3, key4) = (keys[0], keys[1], keys[2], keys[3], keys[4]);
        var (key5, key6, key7, key8, key9) = (keys[5], keys[6], keys[7], keys[8], keys[9]);
        var ctr = unchecked(Vector256.Create(block, 0, block + 1, 0));
        var step = Vector256.Create(2UL, 0, 2, 0);
        for (int i = 0; i < full; i += 8)
        {
            var x = ctr.AsUInt32();
            x = Round256(x, mul, key0);
            x = Round256(x, mul, key1);
            x = Round256(x, mul, key2);
            x = Round256(x, mul, key3);
            x = Round256(x, mul, key4);
            x = Round256(x, mul, key5);
            x = Round256(x, mul, key6);
            x = Round256(x, mul, key7);
            x = Round256(x, mul, key8);
            x = Round256(x, mul, key9);
            x.Store(p + i);
            ctr += step;
        }

        return full;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round256(Vector256<uint> x, Vector256<uint> mul, Vector256<uint> key)
    {
        var prod = Avx2.Multiply(x, mul).AsUInt32();
        return Avx2.Shuffle(prod, ReverseWords) ^ (x.AsUInt64() >>> 32).AsUInt32() ^ key;
    }
}
