namespace RawDistill.Backends;

using RawDistill.Tensors;

/// <summary>
/// The primitives an execution engine provides. A backend knows nothing about gradients:
/// autodiff is built above it out of these calls. Every buffer argument is a
/// <see cref="Storage"/> of this backend holding contiguous row-major data; unless a
/// member says otherwise, all buffers of one call share one floating dtype (f32 or f64)
/// and the output may not alias an input.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>"cpu" or "cuda:0".</summary>
    string Name { get; }

    /// <summary>True when storages live in host memory and can be read directly.</summary>
    bool IsHost { get; }

    // ---- memory -------------------------------------------------------------------

    /// <summary>Live and peak bytes of this backend's tensor storages (see <see cref="MemoryMeter"/>).</summary>
    MemoryMeter Memory { get; }

    /// <summary>Uninitialized memory for <paramref name="count"/> elements.</summary>
    Storage Allocate(DType dtype, long count);

    /// <summary>Copies host bytes into a storage, starting at element 0.</summary>
    void Upload(Storage dst, ReadOnlySpan<byte> src);

    /// <summary>Copies a storage's bytes to the host (blocks until the data is there).</summary>
    void Download(Storage src, Span<byte> dst);

    /// <summary>Sets count elements from offset to a value.</summary>
    void Fill(Storage dst, long offset, long count, double value);

    /// <summary>
    /// Copies blocks: for b in [0, blocks): dst[dstOffset + b·dstStride + j] =
    /// src[srcOffset + b·srcStride + j] for j in [0, blockLength). Same dtype; any dtype.
    /// Used by slice, concat and plain copies.
    /// </summary>
    void CopyBlocks(Storage src, long srcOffset, long srcStride, Storage dst, long dstOffset, long dstStride, long blocks, long blockLength);

    /// <summary>y = x with axes permuted: y.shape[i] = xShape[perm[i]]. Any dtype.</summary>
    void Permute(Storage x, int[] xShape, int[] perm, Storage y);

    /// <summary>Converts between dtypes (float↔float, int/byte→float, float→int truncates).</summary>
    void Cast(Storage x, Storage y, long count);

    // ---- element-wise ---------------------------------------------------------------

    /// <summary>y[i] = op(x[i]; a, b) for i in [0, count). y may alias x.</summary>
    void Unary(UnaryOp op, Storage x, Storage y, long count, double a = 0, double b = 0);

    /// <summary>
    /// y = op(a, b) over <paramref name="shape"/> where a and b are read through strides
    /// (0 on broadcast axes). y is contiguous with that shape and may alias a or b when
    /// the aliased input is not broadcast.
    /// </summary>
    void Binary(BinaryOp op, Storage a, long[] aStrides, Storage b, long[] bStrides, Storage y, int[] shape);

    /// <summary>
    /// y[i] = mask[i] ≠ 0 ? a[i] : b[i] for i in [0, count), all four in one float dtype
    /// (a NaN mask selects a, −0 selects b). It selects, never blends, so an unselected ±inf
    /// or NaN does not reach y. y may alias any input.
    /// </summary>
    void Select(Storage mask, Storage a, Storage b, Storage y, long count);

    /// <summary>
    /// Reduces x viewed as [outer, reduce, inner] over its middle axis into y [outer, inner].
    /// </summary>
    void Reduce(ReduceOp op, Storage x, int outer, int reduce, int inner, Storage y);

    /// <summary>Index (i32) of the maximum along the middle axis of [outer, reduce, inner].</summary>
    void ArgMax(Storage x, int outer, int reduce, int inner, Storage indices);

    /// <summary>Softmax (or log-softmax) over the last axis of a [rows, cols] matrix.</summary>
    void Softmax(Storage x, int rows, int cols, Storage y, bool log);

    // ---- linear algebra ------------------------------------------------------------

    /// <summary>Row-major (batched) GEMM, f32 or f64: see <see cref="GemmArgs"/>.</summary>
    void Gemm(in GemmArgs args, Storage a, Storage b, Storage c);

    /// <summary>
    /// Lower Cholesky factor L of the symmetric positive-definite n×n matrix A (reads the
    /// lower triangle; writes zeros above the diagonal). Returns −1 on success, otherwise
    /// the index of the first pivot that was not positive (L is then undefined).
    /// </summary>
    int Cholesky(Storage a, int n, Storage l);

    /// <summary>
    /// Solves T·X = B for X where T = L (transpose false) or Lᵀ (transpose true), L lower
    /// triangular n×n, B of shape n×cols. X may not alias B.
    /// </summary>
    void TriangularSolve(Storage l, int n, Storage b, int cols, Storage x, bool transpose);

    // ---- convolution and pooling (NCHW) -----------------------------------------------

    /// <summary>y = conv2d(x, w) (+ bias per output channel when bias is not null).</summary>
    void Conv2dForward(in Conv2dGeometry g, Storage x, Storage w, Storage? bias, Storage y);

    /// <summary>dx = the input gradient of conv2d for output gradient dy (overwrites dx).</summary>
    void Conv2dBackwardInput(in Conv2dGeometry g, Storage dy, Storage w, Storage dx);

    /// <summary>dw = the weight gradient of conv2d for input x and output gradient dy (overwrites dw).</summary>
    void Conv2dBackwardWeight(in Conv2dGeometry g, Storage x, Storage dy, Storage dw);

    // ---- normalization -------------------------------------------------------------

    /// <summary>
    /// Group normalization y = (x − μ)·rstd·γ + β per (sample, group) block, with
    /// μ = mean and rstd = 1/√(biased variance + eps) of the block, written to
    /// <paramref name="mean"/> and <paramref name="rstd"/> [N·G] for the backward. γ and β
    /// ([C]) may be null (no affine).
    /// </summary>
    void GroupNormForward(in GroupNormGeometry g, Storage x, Storage? gamma, Storage? beta, Storage y, Storage mean, Storage rstd);

    /// <summary>
    /// The gradients of <see cref="GroupNormForward"/> for output gradient dy, from the
    /// forward's mean and rstd: dx = rstd·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) over each
    /// block (x̂ = (x − μ)·rstd), and when not null dγ = Σ_{n,s} dy·x̂, dβ = Σ_{n,s} dy per
    /// channel. dx may be null when only the parameter gradients are wanted.
    /// </summary>
    void GroupNormBackward(in GroupNormGeometry g, Storage dy, Storage x, Storage? gamma, Storage mean, Storage rstd,
        Storage? dx, Storage? dgamma, Storage? dbeta);

    /// <summary>
    /// The vector-Jacobian product of <see cref="GroupNormBackward"/>'s dx = F(dy, x, γ) for
    /// u = ∂J/∂dx, per block with h = dy·γ, A = mean(h), B = mean(h·x̂), C = mean(u·x̂),
    /// D = mean(u·h) − mean(u)·A − B·C:
    /// ∂J/∂dy = γ·t and ∂J/∂γ = Σ_{n,s} dy·t with t = rstd·(u − mean(u) − x̂·C);
    /// ∂J/∂x = −rstd²·(x̂·(D − 2·B·C) + C·(h − A) + B·(u − mean(u))).
    /// Each output may be null (not wanted).
    /// </summary>
    void GroupNormDoubleBackward(in GroupNormGeometry g, Storage u, Storage dy, Storage x, Storage? gamma, Storage mean, Storage rstd,
        Storage? ddy, Storage? dx, Storage? dgamma);

    /// <summary>Average pooling (zero padding counts toward the divisor).</summary>
    void AvgPool2dForward(in Pool2dGeometry g, Storage x, Storage y);

    /// <summary>Adjoint of <see cref="AvgPool2dForward"/>: spreads dy back over the windows (overwrites dx).</summary>
    void AvgPool2dBackward(in Pool2dGeometry g, Storage dy, Storage dx);

    /// <summary>Max pooling; indices (i32) are flat offsets into x of each chosen element.</summary>
    void MaxPool2dForward(in Pool2dGeometry g, Storage x, Storage y, Storage indices);

    // ---- indexing ------------------------------------------------------------------

    /// <summary>y[i] = x[indices[i]] for i in [0, count); indices are i32 flat offsets.</summary>
    void GatherFlat(Storage x, Storage indices, long count, Storage y);

    /// <summary>y[indices[i]] += x[i] for i in [0, count) (y is not cleared first).</summary>
    void ScatterAddFlat(Storage x, Storage indices, long count, Storage y);

    /// <summary>y[r, :] = x[indices[r], :] for r in [0, rows); rows of rowLength elements. Any dtype.</summary>
    void GatherRows(Storage x, int rowLength, Storage indices, int rows, Storage y);

    /// <summary>y[indices[r], :] += x[r, :] (y is not cleared first).</summary>
    void ScatterAddRows(Storage x, int rowLength, Storage indices, int rows, Storage y);

    // ---- random numbers --------------------------------------------------------------

    /// <summary>
    /// Fills y with Philox 4x32-10 draws for key <paramref name="seed"/>, using counters
    /// starting at <paramref name="counter"/> (one counter yields four 32-bit words).
    /// Uniform draws lie in [0, 1); normal draws are standard normal (Box–Muller).
    /// Identical numbers on every backend for the same seed and counter.
    /// </summary>
    void Random(RandomDistribution distribution, Storage y, long count, ulong seed, ulong counter);

    // ---- optimizer steps (fused, in place) ---------------------------------------------

    /// <summary>
    /// One SGD step with PyTorch's semantics, in place on param (and momentum):
    /// g' = g + wd·p; buf = g' on the first step, else μ·buf + (1 − dampening)·g';
    /// d = nesterov ? g' + μ·buf : buf (d = g' when μ = 0, momentum may be null then);
    /// p ← p − lr·d.
    /// </summary>
    void SgdStep(Storage param, Storage grad, Storage? momentum, long count, in SgdStepArgs args);

    /// <summary>
    /// One AdamW step (decoupled weight decay, PyTorch semantics), in place:
    /// p ← p − lr·wd·p; m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
    /// p ← p − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε), t = args.Step (1-based).
    /// </summary>
    void AdamWStep(Storage param, Storage grad, Storage m, Storage v, long count, in AdamWStepArgs args);

    // ---- control ---------------------------------------------------------------------

    /// <summary>Waits until all queued work has finished.</summary>
    void Synchronize();
}

/// <summary>Scalars of one <see cref="IBackend.SgdStep"/>.</summary>
public readonly record struct SgdStepArgs(double Lr, double Momentum, double Dampening, double WeightDecay, bool Nesterov, bool FirstStep);

/// <summary>Scalars of one <see cref="IBackend.AdamWStep"/>.</summary>
public readonly record struct AdamWStepArgs(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, long Step);

/// <summary>Distributions <see cref="IBackend.Random"/> can draw.</summary>
public enum RandomDistribution
{
    /// <summary>Uniform on [0, 1).</summary>
    Uniform,
    /// <summary>Standard normal.</summary>
    Normal,
}
