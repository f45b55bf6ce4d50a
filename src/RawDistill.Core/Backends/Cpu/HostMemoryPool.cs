namespace RawDistill.Backends.Cpu;

using System.Runtime.InteropServices;

/// <summary>
/// A caching allocator for host tensor memory. Training loops allocate the same sizes
/// every step; returning a block to the operating system and asking again costs a fresh
/// mmap and a page fault (plus kernel zeroing) per 4 KiB on first touch, which for
/// activation-sized tensors took longer than the arithmetic. Freed blocks are kept in
/// exact-size free lists (sizes are rounded up to whole pages) up to a byte budget, and
/// the least recently returned ones are released beyond it.
/// </summary>
internal sealed unsafe class HostMemoryPool
{
    const long Page = 4096;

    /// <summary>A cached block, linked into both its size's free list and the global return order.</summary>
    sealed class Block(long size, nint ptr)
    {
        public readonly long Size = size;
        public readonly nint Ptr = ptr;
        public LinkedListNode<Block>? InSize, InOrder;
    }

    // Every cached block is in two lists, so reuse (newest of a size) and trimming (oldest
    // overall) both unlink it in O(1). (Searching one list for the other's entry made every
    // Rent and Trim linear in the number of cached blocks: thousands of page-sized blocks
    // from small tensors slowed whole programs several times over.)
    readonly Dictionary<long, LinkedList<Block>> _free = [];
    readonly LinkedList<Block> _order = new();
    readonly object _gate = new();
    long _cachedBytes;

    public HostMemoryPool(long budgetBytes) => BudgetBytes = budgetBytes;

    /// <summary>The most bytes kept cached while unused.</summary>
    public long BudgetBytes { get; set; }

    /// <summary>Bytes currently cached (allocated from the OS but not in use).</summary>
    public long CachedBytes { get { lock (_gate) return _cachedBytes; } }

    /// <summary>Number of blocks currently cached.</summary>
    public int CachedBlocks { get { lock (_gate) return _order.Count; } }

    public static long RoundUp(long bytes) => Math.Max(Page, (bytes + Page - 1) / Page * Page);

    /// <summary>A 64-byte aligned block of at least <paramref name="bytes"/> bytes (a page multiple).</summary>
    public void* Rent(long bytes)
    {
        long size = RoundUp(bytes);
        lock (_gate)
        {
            if (_free.TryGetValue(size, out var list) && list.Last is { } last)
            {
                var block = last.Value;
                Unlink(block);
                return (void*)block.Ptr;
            }
        }
        var ptr = NativeMemory.AlignedAlloc((nuint)size, 64);
        if (ptr == null)
        {
            Trim(0);
            ptr = NativeMemory.AlignedAlloc((nuint)size, 64);
            if (ptr == null) throw new OutOfMemoryException($"cpu: could not allocate {bytes} bytes");
        }
        return ptr;
    }

    /// <summary>Takes a block back (size as passed to <see cref="Rent"/>).</summary>
    public void Return(void* ptr, long bytes)
    {
        long size = RoundUp(bytes);
        lock (_gate)
        {
            if (size > BudgetBytes)
            {
                NativeMemory.AlignedFree(ptr);
                return;
            }
            if (!_free.TryGetValue(size, out var list)) _free[size] = list = new LinkedList<Block>();
            var block = new Block(size, (nint)ptr);
            block.InSize = list.AddLast(block);
            block.InOrder = _order.AddLast(block);
            _cachedBytes += size;
            TrimLocked(BudgetBytes);
        }
    }

    /// <summary>Releases cached blocks until at most <paramref name="keepBytes"/> remain cached.</summary>
    public void Trim(long keepBytes)
    {
        lock (_gate) TrimLocked(keepBytes);
    }

    void TrimLocked(long keepBytes)
    {
        while (_cachedBytes > keepBytes && _order.First is { } oldest)
        {
            var block = oldest.Value;
            Unlink(block);
            NativeMemory.AlignedFree((void*)block.Ptr);
        }
    }

    /// <summary>Removes a cached block from both lists (the caller owns its memory afterwards).</summary>
    void Unlink(Block block)
    {
        _free[block.Size].Remove(block.InSize!);
        _order.Remove(block.InOrder!);
        block.InSize = block.InOrder = null;
        _cachedBytes -= block.Size;
    }
}
