namespace RawDistill.Backends.Cpu;

/// <summary>
/// The B operand of <see cref="GemmDriver{T, TKernel}"/>: whatever produces the NR-column
/// micro-panels the micro-kernel streams through. A stored matrix is one
/// (<see cref="StridedOperandB{T, TKernel}"/>); a convolution's im2col matrix is another that
/// never exists in memory (<see cref="Im2ColOperandB{T}"/>, <see cref="Im2ColTransposedOperandB{T}"/>).
/// </summary>
/// <remarks>A struct constraint at every use, so the JIT specializes the driver per source and the calls are direct.</remarks>
internal unsafe interface IGemmOperandB<T>
    where T : unmanaged
{
    /// <summary>
    /// Packs <paramref name="nr"/>-column panels <paramref name="panel0"/> .. <paramref name="panel1"/>
    /// (exclusive) of op(B)[p0 .. p0+kc, j0 .. j0+nc] into <paramref name="dst"/>: panel q lands at
    /// dst + q·kc·nr, nr values per k, columns past nc zero. nr is the micro-kernel's NR.
    /// </summary>
    void Pack(int nr, int p0, int j0, int kc, int nc, int panel0, int panel1, T* dst);
}

/// <summary>op(B) of a stored row-major matrix: k×n (row p at b + p·ldb) or, when transposed, n×k.</summary>
internal readonly unsafe struct StridedOperandB<T, TKernel>(bool trans, T* b, nint ldb) : IGemmOperandB<T>
    where T : unmanaged, System.Numerics.INumberBase<T>
    where TKernel : IGemmMicroKernel<T>
{
    // nr is TKernel.NR here; the packing reads the constant so the JIT can unroll its copies.
    public void Pack(int nr, int p0, int j0, int kc, int nc, int panel0, int panel1, T* dst) =>
        GemmPacking<T, TKernel>.PackB(trans, b, ldb, p0, j0, kc, nc, panel0, panel1, dst);
}
