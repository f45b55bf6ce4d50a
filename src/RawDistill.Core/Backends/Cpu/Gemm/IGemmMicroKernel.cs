namespace RawDistill.Backends.Cpu;

/// <summary>
/// A register-blocked GEMM micro-kernel: computes one MR×NR tile of C from a packed
/// A micro-panel (kc×MR, MR values per k) and a packed B micro-panel (kc×NR, NR values per k).
/// </summary>
/// <remarks>
/// Implementations are structs so that <see cref="GemmDriver{T, TKernel}"/> is specialized
/// per kernel by the JIT and the call to <see cref="Run"/> is direct (and usually inlined).
/// The cache-blocking sizes live next to the tile shape because they are derived from it.
/// </remarks>
internal unsafe interface IGemmMicroKernel<T>
    where T : unmanaged
{
    /// <summary>Rows of the C tile (A values broadcast per k step).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the C tile (B values loaded as vectors per k step).</summary>
    static abstract int NR { get; }

    /// <summary>Depth of a packed panel: the kc×NR B micro-panel should stay in L1.</summary>
    static abstract int KC { get; }

    /// <summary>Rows of a packed A block: the MC×KC block should stay in L2. A multiple of MR.</summary>
    static abstract int MC { get; }

    /// <summary>Columns of a packed B panel: the KC×NC panel is shared by all threads (L3). A multiple of NR.</summary>
    static abstract int NC { get; }

    /// <summary>Whether this machine can run the kernel.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>
    /// C[r, j] = alpha·Σ_p a[p·MR + r]·b[p·NR + j] + beta·C[r, j] for the full MR×NR tile
    /// at <paramref name="c"/> (row stride <paramref name="ldc"/>). beta == 0 must not read C.
    /// </summary>
    static abstract void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta);
}
