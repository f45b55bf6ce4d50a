namespace RawDistill.Tests.Backends;

using RawDistill.Backends.Cpu;

/// <summary>The caching host allocator: reuse by size, newest first; trimming oldest first; byte accounting.</summary>
[Trait("Category", "Backend")]
public unsafe class HostMemoryPoolTests
{
    [Fact]
    public void ReusesTheNewestBlockOfASizeAndTrimsTheOldestFirst()
    {
        var pool = new HostMemoryPool(1 << 20);
        var a = pool.Rent(100);
        var b = pool.Rent(4000);
        var c = pool.Rent(5000); // two pages
        pool.Return(a, 100);
        pool.Return(c, 5000);
        pool.Return(b, 4000);
        Assert.Equal(3, pool.CachedBlocks);
        Assert.Equal(4 * 4096, pool.CachedBytes);
        Assert.True(pool.Rent(1) == b);          // newest one-page block
        Assert.Equal(3 * 4096, pool.CachedBytes);
        pool.Trim(2 * 4096);                      // drops a (the oldest), keeps c
        Assert.Equal(1, pool.CachedBlocks);
        Assert.True(pool.Rent(8000) == c);
        Assert.Equal(0, pool.CachedBytes);
        pool.Return(b, 4000);
        pool.Return(c, 5000);
        pool.Trim(0);
        Assert.Equal(0, pool.CachedBlocks);
    }

    [Fact]
    public void BudgetBoundsTheCache()
    {
        var pool = new HostMemoryPool(3 * 4096);
        var blocks = Enumerable.Range(0, 5).Select(_ => (nint)pool.Rent(64)).ToArray();
        foreach (var p in blocks) pool.Return((void*)p, 64);
        Assert.Equal(3, pool.CachedBlocks);
        // The two oldest were released; the three newest are handed out, newest first.
        Assert.True((nint)pool.Rent(64) == blocks[4]);
        Assert.True((nint)pool.Rent(64) == blocks[3]);
        Assert.True((nint)pool.Rent(64) == blocks[2]);
        Assert.Equal(0, pool.CachedBlocks);
        var big = pool.Rent(1 << 16);               // over budget: freed on return, never cached
        pool.Return(big, 1 << 16);
        Assert.Equal(0, pool.CachedBlocks);
        pool.Trim(0);
    }

    [Fact]
    public void ManyCachedBlocksStayConsistent()
    {
        var pool = new HostMemoryPool(1L << 30);
        var ptrs = Enumerable.Range(0, 5000).Select(i => (nint)pool.Rent(4096 * (1 + i % 3))).ToArray();
        for (int i = 0; i < ptrs.Length; i++) pool.Return((void*)ptrs[i], 4096 * (1 + i % 3));
        Assert.Equal(5000, pool.CachedBlocks);
        var again = new HashSet<nint>();
        for (int i = 0; i < ptrs.Length; i++) Assert.True(again.Add((nint)pool.Rent(4096 * (1 + i % 3))));
        Assert.True(again.SetEquals(ptrs));
        Assert.Equal(0, pool.CachedBytes);
        foreach (var (p, i) in ptrs.Select((p, i) => (p, i))) pool.Return((void*)p, 4096 * (1 + i % 3));
        pool.Trim(0);
        Assert.Equal(0, pool.CachedBlocks);
    }

    [Fact]
    public void ScratchIsRentedFromTheBackendPoolAndClearedWhenAsked()
    {
        const long count = 100_000; // above the 85 KB where a managed array would go to the large-object heap
        using (var dirty = HostScratch<double>.Rent(count))
            new Span<double>(dirty.Ptr, (int)count).Fill(7);
        using var clean = HostScratch<double>.Rent(count, clear: true);
        Assert.True(clean.Ptr != null);
        Assert.Equal(-1, new ReadOnlySpan<double>(clean.Ptr, (int)count).IndexOfAnyExcept(0.0));
        using var none = HostScratch<double>.RentIf(false, count);
        Assert.True(none.Ptr == null); // and its Dispose is a no-op
    }
}
