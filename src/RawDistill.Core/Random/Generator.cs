namespace RawDistill.Random;

// TEMPORARY minimal generator (Seed + Counter) replaced by the full version from its own branch.
public sealed class Generator(ulong seed, ulong counter = 0)
{
    public ulong Seed { get; } = seed;
    public ulong Counter { get; private set; } = counter;

    public ulong Reserve(long count)
    {
        ulong start = Counter;
        Counter += (ulong)Philox.BlocksFor(count);
        return start;
    }
}
