namespace RawDistill;

using RawDistill.Tensors;

// Cholesky factorization and triangular solves (the KRR inner problem), with rules
// built from the same solves and products, so they can be differentiated again.
public static partial class Ops
{
    static void Square(string op, Tensor a)
    {
        NeedFloat(op, a);
        if (a.Rank != 2 || a.Shape[0] != a.Shape[1]) throw new ArgumentException($"{op}: needs a square matrix, got {a.Describe()}");
    }

    /// <summary>
    /// Lower Cholesky factor L of a symmetric positive-definite A (reads A's lower triangle).
    /// Rule (Murray 2016; PyTorch's cholesky_backward): with Φ(X) = tril(X) with its
    /// diagonal halved, S = Φ(Lᵀ·g) symmetrized, ∂/∂A = L⁻ᵀ·S·L⁻¹ (a symmetric matrix).
    /// </summary>
    public static Tensor Cholesky(Tensor a)
    {
        Square("cholesky", a);
        int n = a.Shape[0];
        var l = EmptyLike(a, a.Shape);
        int failed = a.Backend.Cholesky(a.Storage, n, l.Storage);
        if (failed >= 0)
        {
            l.Dispose();
            throw new CholeskyException(failed, n);
        }
        return Record(l, "cholesky", [a], g =>
        {
            // S = ½(tril(X) + tril(X, −1)ᵀ) with X = Lᵀ·g: symmetric, diagonal ½·diag(X).
            var x = MatMul(l, g, transA: true);
            var s = Mul(Add(Tril(x, 0), Transpose(Tril(x, -1))), 0.5);
            var z = TriangularSolve(l, s, transpose: true);                      // L⁻ᵀ·S
            return [Transpose(TriangularSolve(l, Transpose(z), transpose: true))]; // (L⁻ᵀ·zᵀ)ᵀ = z·L⁻¹
        });
    }

    /// <summary>
    /// X = T⁻¹·B with T = L (or Lᵀ when <paramref name="transpose"/>), L lower triangular
    /// (only its lower triangle is read). Rules: ∂/∂B = T⁻ᵀ·g; ∂/∂L = tril(−∂B·Xᵀ) for
    /// T = L, and tril(−X·∂Bᵀ) for T = Lᵀ.
    /// </summary>
    public static Tensor TriangularSolve(Tensor l, Tensor b, bool transpose = false)
    {
        Square("triangular_solve", l);
        SameFloat("triangular_solve", l, b);
        if (b.Rank != 2 || b.Shape[0] != l.Shape[0]) throw new ArgumentException($"triangular_solve: right-hand side {b.Describe()} does not match {l.Describe()}");
        var x = EmptyLike(b, b.Shape);
        l.Backend.TriangularSolve(l.Storage, l.Shape[0], b.Storage, b.Shape[1], x.Storage, transpose);
        return Record(x, "triangular_solve", [l, b], (g, need) =>
        {
            var gb = TriangularSolve(l, g, !transpose);
            Tensor? gl = null;
            if (need[0])
                gl = Neg(Tril(transpose ? MatMul(x, gb, transB: true) : MatMul(gb, x, transB: true), 0));
            return [gl, need[1] ? gb : null];
        });
    }

    /// <summary>X = A⁻¹·B given A's Cholesky factor L (A = L·Lᵀ): two triangular solves.</summary>
    public static Tensor CholeskySolve(Tensor b, Tensor l) => TriangularSolve(l, TriangularSolve(l, b), transpose: true);

    /// <summary>
    /// The lower triangle of a matrix: entries on and below diagonal k (k = 0 main,
    /// −1 strictly lower); zeros elsewhere. Linear: ∂/∂x = tril(g, k).
    /// </summary>
    public static Tensor Tril(Tensor x, int k = 0)
    {
        Square("tril", x);
        int n = x.Shape[0];
        var mask = new double[(long)n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= Math.Min(n - 1, i + k); j++) mask[(long)i * n + j] = 1;
        return Mul(x, FromHost(mask, [n, n], x));
    }

    /// <summary>An identity matrix like <paramref name="like"/>'s dtype and backend (built on the host, one upload).</summary>
    public static Tensor Eye(int n, Tensor like)
    {
        var eye = new double[(long)n * n];
        for (int i = 0; i < n; i++) eye[(long)i * n + i] = 1;
        return FromHost(eye, [n, n], like);
    }

    /// <summary>Host values as a tensor with <paramref name="like"/>'s dtype and backend.</summary>
    static Tensor FromHost(double[] values, int[] shape, Tensor like)
    {
        if (like.DType == DType.F64) return Tensor.From<double>(values, shape, like.Backend);
        return Tensor.From<float>(Array.ConvertAll(values, v => (float)v), shape, like.Backend);
    }

    /// <summary>Sum of the diagonal (a gather of the n diagonal entries). ∂/∂A = g·I.</summary>
    public static Tensor Trace(Tensor a)
    {
        Square("trace", a);
        int n = a.Shape[0];
        var diagonal = new int[n];
        for (int i = 0; i < n; i++) diagonal[i] = i * (n + 1);
        // Not disposed here: the gather's backward rule reads these indices.
        var indices = Tensor.From<int>(diagonal, [n], a.Backend);
        return Sum(GatherFlat(a, indices));
    }
}

/// <summary>A matrix handed to Cholesky was not positive definite.</summary>
public sealed class CholeskyException(int pivot, int n) : Exception(
    $"Cholesky factorization failed: pivot {pivot} of the {n}×{n} matrix is not positive (the matrix is not positive definite in this precision). " +
    "Remedy: increase the ridge (regularization) added to the diagonal, or factor in float64.")
{
    /// <summary>Index of the first non-positive pivot.</summary>
    public int Pivot { get; } = pivot;
}
