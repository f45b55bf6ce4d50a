using System.Numerics;
using System.Numerics.Tensors;

namespace RawDistill.Backends.Cpu;

/// <summary>
/// The blocked GEMM loop nest (BLIS/GotoBLAS): for each NC-wide column panel and KC-deep slice,
/// pack the KC×NC panel of op(B) once (shared, L3), then let workers pack MC×KC blocks of op(A)
/// (private, L2) and sweep MR×NR micro-tiles with <typeparamref name="TKernel"/>.
/// </summary>
/// <remarks>
/// Loop order inside a block is jr (B micro-panel) outer, ir (A micro-panel) inner, so one
/// kc×NR B micro-panel stays in L1 while the A block streams from L2. Threads split the rows
/// of C (and the columns when C is too short to split by rows); each KC slice is a barrier
/// because the next slice accumulates into the same C tiles. When C is so small that those
/// barriers would dominate, threads split k instead (<see cref="SplitKSliceWork"/>).
/// </remarks>
internal static unsafe class GemmDriver<T, TKernel>
    where T : unmanaged, INumberBase<T>
    where TKernel : IGemmMicroKernel<T>
{
    /// <summary>
    /// Below this many multiply-adds per KC slice (m·n·kc) the threads do not split C but the k
    /// dimension: the per-slice barriers would cost more than the slice's work (C = 64×64 with
    /// k = 10⁵, a convolution's weight gradient, runs 400 slices of ~10 µs each).
    /// </summary>
    internal const long SplitKSliceWork = 1L << 23;

    /// <summary>C = alpha·op(A)·op(B) + beta·C for m, n, k ≥ 1 and alpha ≠ 0 (the caller handles the rest).</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, int threads) =>
        Run(transA, m, n, k, alpha, a, lda, new StridedOperandB<T, TKernel>(transB, b, ldb), beta, c, ldc, threads);

    /// <summary>
    /// The same product with op(B) supplied by <paramref name="b"/>, which packs its micro-panels
    /// itself: a convolution packs them straight from the image (an implicit im2col) instead of
    /// writing the im2col matrix first and packing it from there.
    /// </summary>
    public static void Run<TB>(bool transA, int m, int n, int k, T alpha, T* a, nint lda, TB b, T beta, T* c, nint ldc, int threads)
        where TB : struct, IGemmOperandB<T>
    {
        if (threads > 1 && k >= 2 * TKernel.KC * threads && (long)m * n * TKernel.KC < SplitKSliceWork)
        {
            RunSplitK(transA, m, n, k, alpha, a, lda, b, beta, c, ldc, threads);
        }
        else
        {
            RunBlocked(transA, m, n, k, 0, alpha, a, lda, b, beta, c, ldc, threads);
        }
    }

    /// <summary>
    /// Each thread runs a serial GEMM over its own range of k: the first into C (with beta), the
    /// others into private m×n buffers (beta = 0) that are then added onto C in thread order, so
    /// the result is deterministic for a given thread count.
    /// </summary>
    private static void RunSplitK<TB>(bool transA, int m, int n, int k, T alpha, T* a, nint lda, TB b, T beta, T* c, nint ldc, int parts)
        where TB : struct, IGemmOperandB<T>
    {
        // Whole KC slices per part, so no part ends with a short, less efficient slice.
        int slices = (k + TKernel.KC - 1) / TKernel.KC;
        parts = Math.Min(parts, slices);
        long mn = (long)m * n;
        T* partial = (T*)GemmBufferPool.Rent((nuint)(parts - 1) * (nuint)mn * (nuint)sizeof(T), out nuint capacity);
        try
        {
            Parallel.For(0, parts, Workers(parts), t =>
            {
                int k0 = Math.Min(k, (int)((long)slices * t / parts) * TKernel.KC);
                int k1 = Math.Min(k, (int)((long)slices * (t + 1) / parts) * TKernel.KC);

                // op(A)[:, k0..] as a sub-matrix of the stored A; op(B) rows k0.. through kBase.
                T* aPart = transA ? a + (nint)k0 * lda : a + k0;
                if (t == 0)
                {
                    RunBlocked(transA, m, n, k1 - k0, k0, alpha, aPart, lda, b, beta, c, ldc, 1);
                }
                else
                {
                    RunBlocked(transA, m, n, k1 - k0, k0, alpha, aPart, lda, b, T.Zero, partial + (t - 1) * mn, n, 1);
                }
            });

            for (int i = 0; i < m; i++)
            {
                var row = new Span<T>(c + i * ldc, n);
                for (int t = 1; t < parts; t++)
                {
                    TensorPrimitives.Add(row, new ReadOnlySpan<T>(partial + (t - 1) * mn + (long)i * n, n), row);
                }
            }
        }
        finally
        {
            GemmBufferPool.Return(partial, capacity);
        }
    }

    /// <summary>The blocked loop nest over op(B) rows kBase .. kBase+k (op(A) and C as given).</summary>
    private static void RunBlocked<TB>(bool transA, int m, int n, int k, int kBase, T alpha, T* a, nint lda, TB b, T beta, T* c, nint ldc, int threads)
        where TB : struct, IGemmOperandB<T>
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int kcMax = Math.Min(TKernel.KC, k);
        int ncMax = Math.Min(TKernel.NC, RoundUp(n, nr));
        T* bPack = (T*)GemmBufferPool.Rent((nuint)kcMax * (nuint)ncMax * (nuint)sizeof(T), out nuint bCapacity);

        // The serial path packs A into one buffer; parallel workers rent their own.
        nuint aCapacity = 0;
        T* aPack = threads > 1 ? null : (T*)GemmBufferPool.Rent((nuint)Math.Min(TKernel.MC, RoundUp(m, mr)) * (nuint)kcMax * (nuint)sizeof(T), out aCapacity);
        try
        {
            for (int jc = 0; jc < n; jc += TKernel.NC)
            {
                int nc = Math.Min(TKernel.NC, n - jc);
                int nPanels = (nc + nr - 1) / nr;
                for (int pc = 0; pc < k; pc += TKernel.KC)
                {
                    int kc = Math.Min(TKernel.KC, k - pc);

                    // Later KC slices add onto what the first one wrote.
                    T betaSlice = pc == 0 ? beta : T.One;
                    var slice = new Slice(transA, m, nc, kc, jc, pc, alpha, a, lda, betaSlice, c, ldc, bPack);
                    if (threads > 1)
                    {
                        RunSliceParallel(slice, b, kBase, nPanels, threads);
                        continue;
                    }

                    b.Pack(TKernel.NR, kBase + pc, jc, kc, nc, 0, nPanels, bPack);
                    for (int i0 = 0; i0 < m; i0 += TKernel.MC)
                    {
                        slice.Compute(i0, Math.Min(TKernel.MC, m - i0), 0, nPanels, aPack);
                    }
                }
            }
        }
        finally
        {
            GemmBufferPool.Return(bPack, bCapacity);
            if (aPack != null)
            {
                GemmBufferPool.Return(aPack, aCapacity);
            }
        }
    }

    private static void RunSliceParallel<TB>(Slice s, TB b, int kBase, int nPanels, int threads)
        where TB : struct, IGemmOperandB<T>
    {
        int mr = TKernel.MR;

        // Pack the shared B panel: contiguous runs of NR panels per worker.
        int packChunks = Math.Min(threads, nPanels);
        Parallel.For(0, packChunks, Workers(threads), t =>
        {
            int q0 = (int)((long)nPanels * t / packChunks), q1 = (int)((long)nPanels * (t + 1) / packChunks);
            b.Pack(TKernel.NR, kBase + s.Pc, s.Jc, s.Kc, s.Nc, q0, q1, s.BPack);
        });

        // Work items: row blocks of at most MC rows, their count rounded up to a multiple of the
        // thread count so the split is even; when C has too few MR panels for that, also split
        // the columns (each column block re-packs its A rows, which is cheap when m is small).
        int mPanels = (s.M + mr - 1) / mr;
        int rowBlocks = Math.Min(mPanels, RoundUp((mPanels * mr + TKernel.MC - 1) / TKernel.MC, threads));
        int colBlocks = rowBlocks >= threads ? 1 : Math.Min(nPanels, (threads + rowBlocks - 1) / rowBlocks);
        int panelsPerRowBlock = (mPanels + rowBlocks - 1) / rowBlocks;
        rowBlocks = (mPanels + panelsPerRowBlock - 1) / panelsPerRowBlock;
        int rowsPerBlock = panelsPerRowBlock * mr;
        nuint aBytes = (nuint)rowsPerBlock * (nuint)s.Kc * (nuint)sizeof(T);

        Parallel.For(
            0,
            rowBlocks * colBlocks,
            Workers(threads),
            () => (Ptr: (nint)GemmBufferPool.Rent(aBytes, out nuint cap), Capacity: cap),
            (item, _, buffer) =>
            {
                int rb = item / colBlocks, cb = item % colBlocks;
                int i0 = rb * rowsPerBlock;
                int q0 = (int)((long)nPanels * cb / colBlocks), q1 = (int)((long)nPanels * (cb + 1) / colBlocks);
                s.Compute(i0, Math.Min(rowsPerBlock, s.M - i0), q0, q1, (T*)buffer.Ptr);
                return buffer;
            },
            buffer => GemmBufferPool.Return((void*)buffer.Ptr, buffer.Capacity));
    }

    /// <summary>
    /// Caps the TPL at the requested thread count: there can be more work items than threads, and
    /// without a cap a many-core machine would run them all at once (ignoring CpuGemm.MaxThreads).
    /// </summary>
    private static ParallelOptions Workers(int threads) => new() { MaxDegreeOfParallelism = threads };

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>One KC-deep slice of one NC-wide column panel: everything a worker needs.</summary>
    private readonly struct Slice(
        bool transA, int m, int nc, int kc, int jc, int pc, T alpha, T* a, nint lda, T beta, T* c, nint ldc, T* bPack)
    {
        public readonly bool TransA = transA;
        public readonly int M = m, Nc = nc, Kc = kc, Jc = jc, Pc = pc;
        public readonly T Alpha = alpha, Beta = beta;
        public readonly T* A = a, C = c, BPack = bPack;
        public readonly nint Lda = lda, Ldc = ldc;

        /// <summary>
        /// Packs rows i0 .. i0+mc of op(A) for this slice into <paramref name="aPack"/> and updates
        /// C[i0 .. i0+mc, B panels q0 .. q1).
        /// </summary>
        public void Compute(int i0, int mc, int q0, int q1, T* aPack)
        {
            int mr = TKernel.MR, nr = TKernel.NR;
            int kc = Kc;
            nint ldc = Ldc;
            T alpha = Alpha, beta = Beta;
            GemmPacking<T, TKernel>.PackA(TransA, A, Lda, i0, Pc, mc, kc, aPack);

            // Edge tiles are computed into this scratch tile, then the valid part is merged into C.
            T* edge = stackalloc T[mr * nr];
            bool betaZero = T.IsZero(beta);
            for (int q = q0; q < q1; q++)
            {
                int jr = q * nr;
                int cols = Math.Min(nr, Nc - jr);
                T* bPanel = BPack + (nint)q * kc * nr;
                T* cCol = C + (nint)i0 * ldc + Jc + jr;
                for (int ir = 0; ir < mc; ir += mr)
                {
                    int rows = Math.Min(mr, mc - ir);
                    T* aPanel = aPack + (nint)ir * kc;
                    T* cTile = cCol + ir * ldc;
                    if (rows == mr && cols == nr)
                    {
                        TKernel.Run(kc, aPanel, bPanel, cTile, ldc, alpha, beta);
                        continue;
                    }

                    TKernel.Run(kc, aPanel, bPanel, edge, nr, alpha, T.Zero);
                    for (int r = 0; r < rows; r++)
                    {
                        T* cRow = cTile + r * ldc;
                        T* eRow = edge + r * nr;
                        for (int j = 0; j < cols; j++)
                        {
                            // beta == 0: C may hold garbage (NaN), so it is written without being read.
                            cRow[j] = betaZero ? eRow[j] : eRow[j] + beta * cRow[j];
                        }
                    }
                }
            }
        }
    }
}
