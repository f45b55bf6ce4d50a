namespace RawDistill;

using RawDistill.Backends;
using RawDistill.Tensors;

// Matrix products on the backend's GEMM.
public static partial class Ops
{
    /// <summary>
    /// y = op(a)·op(b) where op transposes the last two axes when asked. a and b are 2-D,
    /// or 3-D with the same batch size (a 2-D operand is shared by every batch).
    /// Rules (g = ∂L/∂y, shown for op = identity; the transposed cases follow by
    /// transposing the products): ∂/∂a = g·bᵀ, ∂/∂b = aᵀ·g.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        SameFloat("matmul", a, b);
        if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3)
            throw new ArgumentException($"matmul: operands must be 2-D or 3-D, got {a.Describe()} and {b.Describe()}");
        int batchA = a.Rank == 3 ? a.Shape[0] : 1, batchB = b.Rank == 3 ? b.Shape[0] : 1;
        if (a.Rank == 3 && b.Rank == 3 && batchA != batchB)
            throw new ArgumentException($"matmul: batch sizes differ: {a.Describe()} and {b.Describe()}");
        int batch = Math.Max(batchA, batchB);
        int ar = a.Shape[^2], ac = a.Shape[^1], br = b.Shape[^2], bc = b.Shape[^1];
        int m = transA ? ac : ar, k = transA ? ar : ac;
        int kb = transB ? bc : br, n = transB ? br : bc;
        if (k != kb)
            throw new ArgumentException($"matmul: inner sizes differ: {a.Describe()}{(transA ? "ᵀ" : "")} · {b.Describe()}{(transB ? "ᵀ" : "")}");
        int[] shape = a.Rank == 3 || b.Rank == 3 ? [batch, m, n] : [m, n];
        var y = EmptyLike(a, shape);
        if (k == 0) y.FillInPlace(0);
        else
            a.Backend.Gemm(new GemmArgs(transA, transB, m, n, k, 1.0, 0, ac, 0, bc, 0.0, 0, n,
                batch, a.Rank == 3 ? (long)ar * ac : 0, b.Rank == 3 ? (long)br * bc : 0, (long)m * n), a.Storage, b.Storage, y.Storage);
        return Record(y, "matmul", [a, b], (g, need) => [
            need[0] ? SumToRank(transA ? MatMul(b, g, transB, true) : MatMul(g, b, false, !transB), a.Rank) : null,
            need[1] ? SumToRank(transB ? MatMul(g, a, true, transA) : MatMul(a, g, !transA, false), b.Rank) : null]);
    }

    /// <summary>A 2-D operand used by every batch gets the batch-summed gradient.</summary>
    static Tensor SumToRank(Tensor g, int rank) => g.Rank == rank ? g : Sum(g, [0]);

    /// <summary>y = x·wᵀ + b for x [N, in], w [out, in], b [out] (PyTorch's Linear).</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b = null)
    {
        var y = MatMul(x, w, transB: true);
        return b == null ? y : Add(y, b);
    }
}
