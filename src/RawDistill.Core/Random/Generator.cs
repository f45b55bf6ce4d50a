namespace RawDistill.Random;

/// <summary>
/// A small stateful front end to <see cref="Philox"/>: a seed plus a block counter that every draw
/// advances. (<see cref="Seed"/>, <see cref="Counter"/>) is the whole state, so saving those two
/// numbers and constructing a new generator from them resumes the exact same stream.
/// </summary>
/// <remarks>
/// Every operation takes whole blocks: a fill of n elements takes <see cref="Philox.BlocksFor"/>(n)
/// counters (see <see cref="Reserve"/>), a scalar draw takes one block. Wasting the unused words of a
/// scalar draw keeps the rule "one call = a known number of counters", which is what lets a CUDA
/// kernel or another process pick up the stream at a given counter. Not thread-safe: give each
/// thread its own generator (see <see cref="Fork"/>).
/// </remarks>
public sealed class Generator
{
    // Written into counter word 2 of the fork block. Ordinary draws always run with c2 = c3 = 0, so
    // the block that derives a child seed can never coincide with a block the parent hands out.
    private const uint ForkDomain = 0x466F726B; // "Fork"

    /// <summary>Creates a generator at <paramref name="counter"/> of the stream keyed by <paramref name="seed"/>.</summary>
    public Generator(ulong seed, ulong counter = 0)
    {
        Seed = seed;
        Counter = counter;
    }

    /// <summary>The Philox key of this stream.</summary>
    public ulong Seed { get; }

    /// <summary>The next unused block counter.</summary>
    public ulong Counter { get; private set; }

    /// <summary>
    /// Reserves the counters a fill of <paramref name="count"/> elements consumes and returns the first;
    /// the caller then fills with (Seed, start) on any backend. Advances <see cref="Counter"/> by
    /// <see cref="Philox.BlocksFor"/>(count), wrapping modulo 2^64.
    /// </summary>
    public ulong Reserve(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ulong start = Counter;
        Counter = unchecked(start + (ulong)Philox.BlocksFor(count));
        return start;
    }

    /// <summary>
    /// A new generator on an independent stream: its seed is words (y0, y1) of the Philox block
    /// ((uint)streamId, (uint)(streamId &gt;&gt; 32), 0x466F726B, 0) under this generator's seed, and its
    /// counter starts at 0. It depends only on (Seed, streamId), not on how much has been drawn, so
    /// Fork(k) names the same stream wherever it is called.
    /// </summary>
    public Generator Fork(ulong streamId)
    {
        var (y0, y1, _, _) = Philox.Block((uint)streamId, (uint)(streamId >> 32), ForkDomain, 0, (uint)Seed, (uint)(Seed >> 32));
        return new Generator(y0 | ((ulong)y1 << 32));
    }

    /// <summary>One uniform value in [0, 1): element 0 of a one-element <see cref="Philox.FillUniform(Span{double}, ulong, ulong)"/> (24 bits of resolution); takes one block.</summary>
    public double NextUniform()
    {
        ulong b = Reserve(1);
        var (x0, _, _, _) = Philox.Block((uint)b, (uint)(b >> 32), 0, 0, (uint)Seed, (uint)(Seed >> 32));
        return (x0 >> 8) * (1.0 / 16777216.0);
    }

    /// <summary>
    /// A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's
    /// multiply-and-reject on 32-bit words). Takes one block per 4 words tried; a word is rejected
    /// with probability below 1/2, so almost every call takes exactly one block.
    /// </summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        uint s = (uint)maxExclusive;
        // 2^32 mod s: the count of low products that would over-represent some results.
        uint threshold = unchecked(0u - s) % s;
        while (true)
        {
            ulong b = Reserve(4);
            var (x0, x1, x2, x3) = Philox.Block((uint)b, (uint)(b >> 32), 0, 0, (uint)Seed, (uint)(Seed >> 32));
            if (TryLemire(x0, s, threshold, out int r) || TryLemire(x1, s, threshold, out r)
                || TryLemire(x2, s, threshold, out r) || TryLemire(x3, s, threshold, out r))
            {
                return r;
            }
        }
    }

    private static bool TryLemire(uint x, uint s, uint threshold, out int result)
    {
        ulong m = (ulong)x * s;
        result = (int)(m >> 32);
        return (uint)m >= threshold;
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates, one <see cref="NextInt"/> per position from the end).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A uniformly random permutation of 0 .. n − 1 (the identity, shuffled).</summary>
    public int[] Permutation(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var p = new int[n];
        for (int i = 0; i < n; i++)
        {
            p[i] = i;
        }

        Shuffle<int>(p);
        return p;
    }

    /// <summary>Reserves counters for <paramref name="y"/> and fills it with uniform [0, 1) values.</summary>
    public void FillUniform(Span<float> y) => Philox.FillUniform(y, Seed, Reserve(y.Length));

    /// <summary>Reserves counters for <paramref name="y"/> and fills it with uniform [0, 1) values.</summary>
    public void FillUniform(Span<double> y) => Philox.FillUniform(y, Seed, Reserve(y.Length));

    /// <summary>Reserves counters for <paramref name="y"/> and fills it with standard normal values.</summary>
    public void FillNormal(Span<float> y) => Philox.FillNormal(y, Seed, Reserve(y.Length));

    /// <summary>Reserves counters for <paramref name="y"/> and fills it with standard normal values.</summary>
    public void FillNormal(Span<double> y) => Philox.FillNormal(y, Seed, Reserve(y.Length));

    /// <inheritdoc/>
    public override string ToString() => $"Philox4x32-10(seed=0x{Seed:X16}, counter={Counter})";
}
