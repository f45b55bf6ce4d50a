namespace RawDistill.Backends;

/// <summary>
/// Shapes of a 2-D convolution, NCHW input [N, C, H, W], weight [K, C/groups, R, S],
/// output [N, K, P, Q] with P = (H + 2·padH − R) / strideH + 1 (likewise Q).
/// </summary>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W,
    int K, int R, int S,
    int StrideH, int StrideW,
    int PadH, int PadW,
    int Groups)
{
    /// <summary>Output height.</summary>
    public int P => (H + 2 * PadH - R) / StrideH + 1;

    /// <summary>Output width.</summary>
    public int Q => (W + 2 * PadW - S) / StrideW + 1;

    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;

    /// <summary>Output channels per group.</summary>
    public int KPerGroup => K / Groups;

    public int[] InputShape => [N, C, H, W];
    public int[] WeightShape => [K, C / Groups, R, S];
    public int[] OutputShape => [N, K, P, Q];

    /// <summary>Checks the geometry and throws an error naming what is wrong.</summary>
    public void Validate()
    {
        if (Groups <= 0 || C % Groups != 0 || K % Groups != 0)
            throw new ArgumentException($"conv2d: groups={Groups} must divide in_channels={C} and out_channels={K}");
        if (StrideH <= 0 || StrideW <= 0) throw new ArgumentException("conv2d: stride must be positive");
        if (PadH < 0 || PadW < 0) throw new ArgumentException("conv2d: padding must be non-negative");
        if (P <= 0 || Q <= 0)
            throw new ArgumentException($"conv2d: kernel {R}x{S} with padding {PadH},{PadW} is larger than the input {H}x{W}");
    }
}

/// <summary>
/// Shapes of a 2-D pooling window over NCHW input: [N, C, H, W] → [N, C, P, Q].
/// Padding counts as absent for max pooling and as zeros for average pooling
/// (count_include_pad = true, PyTorch's default).
/// </summary>
public readonly record struct Pool2dGeometry(
    int N, int C, int H, int W,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadH, int PadW)
{
    public int P => (H + 2 * PadH - KernelH) / StrideH + 1;
    public int Q => (W + 2 * PadW - KernelW) / StrideW + 1;
    public int[] InputShape => [N, C, H, W];
    public int[] OutputShape => [N, C, P, Q];

    public void Validate()
    {
        if (KernelH <= 0 || KernelW <= 0 || StrideH <= 0 || StrideW <= 0)
            throw new ArgumentException("pool2d: kernel and stride must be positive");
        if (PadH * 2 > KernelH || PadW * 2 > KernelW)
            throw new ArgumentException("pool2d: padding must be at most half the kernel size");
        if (P <= 0 || Q <= 0) throw new ArgumentException($"pool2d: window {KernelH}x{KernelW} is larger than the input {H}x{W}");
    }
}

/// <summary>
/// One (possibly batched) row-major GEMM: C = α·op(A)·op(B) + β·C, with op(A) of shape
/// [M, K], op(B) [K, N] and C [M, N]. Leading dimensions are the row strides of the
/// matrices as stored (before op). Offsets and batch strides are in elements.
/// </summary>
public readonly record struct GemmArgs(
    bool TransA, bool TransB,
    int M, int N, int K,
    double Alpha,
    long OffsetA, int Lda,
    long OffsetB, int Ldb,
    double Beta,
    long OffsetC, int Ldc,
    int Batch = 1,
    long StrideA = 0, long StrideB = 0, long StrideC = 0);
