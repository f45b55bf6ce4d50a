using System.Runtime.InteropServices;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// Process-wide pool of 64-byte-aligned native blocks for GEMM packing buffers.
/// </summary>
/// <remarks>
/// Packed panels are megabytes; allocating them per call would churn the large-object heap,
/// and managed arrays give no 64-byte alignment (one zmm load per cache line). Thread-static
/// buffers would leak whenever the thread pool retires a worker, so blocks are rented and
/// returned instead. The pool keeps at most <see cref="MaxPooled"/> blocks; a rent takes the
/// smallest block that is large enough and grows the pool only when none is free.
/// </remarks>
internal static unsafe class GemmBufferPool
{
    private const int Alignment = 64;

    // Two per worker (A block + B panel) is what a GEMM can hold at once.
    private static readonly int MaxPooled = 2 * Environment.ProcessorCount + 2;

    private static readonly List<(nint Ptr, nuint Bytes)> Free = [];

    /// <summary>Returns a block of at least <paramref name="bytes"/> bytes, 64-byte aligned, contents undefined.</summary>
    public static void* Rent(nuint bytes, out nuint capacity)
    {
        lock (Free)
        {
            int best = -1;
            for (int i = 0; i < Free.Count; i++)
            {
                if (Free[i].Bytes >= bytes && (best < 0 || Free[i].Bytes < Free[best].Bytes))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                (nint ptr, capacity) = Free[best];
                Free.RemoveAt(best);
                return (void*)ptr;
            }
        }

        capacity = bytes;
        return NativeMemory.AlignedAlloc(bytes, Alignment);
    }

    /// <summary>Gives a block from <see cref="Rent"/> back; frees the smallest block when the pool is full.</summary>
    public static void Return(void* ptr, nuint capacity)
    {
        lock (Free)
        {
            Free.Add(((nint)ptr, capacity));
            if (Free.Count <= MaxPooled)
            {
                return;
            }

            int smallest = 0;
            for (int i = 1; i < Free.Count; i++)
            {
                if (Free[i].Bytes < Free[smallest].Bytes)
                {
                    smallest = i;
                }
            }

            ptr = (void*)Free[smallest].Ptr;
            Free.RemoveAt(smallest);
        }

        NativeMemory.AlignedFree(ptr);
    }
}
