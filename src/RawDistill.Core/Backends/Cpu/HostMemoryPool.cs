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
    readonly Dictionary<long, Stack<nint>> _free = [];
    readonly LinkedList<(long size, nint ptr)> _order = new();
    readonly object _gate = new();
    long _cachedBytes;

    public HostMemoryPool(long budgetBytes) => BudgetBytes = budgetBytes;

    /// <summary>The most bytes kept cached while unused.</summary>
    public long BudgetBytes { get; set; }

    /// <summary>Bytes currently cached (allocated from the OS but not in use).</summary>
    public long CachedBytes { get { lock (_gate) return _cachedBytes; } }

    public static long RoundUp(long bytes) => Math.Max(Page, (bytes + Page - 1) / Page * Page);

    /// <summary>A 64-byte aligned block of at least <paramref name="bytes"/> bytes (a page multiple).</summary>
    public void* Rent(long bytes)
    {
        long size = RoundUp(bytes);
        lock (_gate)
        {
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                nint p = stack.Pop();
                _order.Remove((size, p));
                _cachedBytes -= size;
                return (void*)p;
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
            if (!_free.TryGetValue(size, out var stack)) _free[size] = stack = new Stack<nint>();
            stack.Push((nint)ptr);
            _order.AddLast((size, (nint)ptr));
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
            var (size, ptr) = oldest.Value;
            _order.RemoveFirst();
            var stack = _free[size];
            // The oldest entry of this size sits at the bottom of its stack; rebuild without it.
            var rest = stack.Where(p => p != ptr).Reverse().ToArray();
            stack.Clear();
            foreach (var p in rest) stack.Push(p);
            NativeMemory.AlignedFree((void*)ptr);
            _cachedBytes -= size;
        }
    }
}
