namespace RawDistill.Cuda.Native;

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

/// <summary>cublasStatus_t (cublas_api.h).</summary>
internal enum CublasStatus
{
    Success = 0,
    NotInitialized = 1,
    AllocFailed = 3,
    InvalidValue = 7,
    ArchMismatch = 8,
    MappingError = 11,
    ExecutionFailed = 13,
    InternalError = 14,
    NotSupported = 15,
    LicenseError = 16,
}

/// <summary>cublasOperation_t (cublas_api.h): CUBLAS_OP_N = 0, CUBLAS_OP_T = 1.</summary>
internal enum CublasOp { N = 0, T = 1 }

/// <summary>cublasFillMode_t (cublas_api.h): CUBLAS_FILL_MODE_LOWER = 0, CUBLAS_FILL_MODE_UPPER = 1.</summary>
internal enum CublasFill { Lower = 0, Upper = 1 }

/// <summary>cublasSideMode_t (cublas_api.h): CUBLAS_SIDE_LEFT = 0, CUBLAS_SIDE_RIGHT = 1.</summary>
internal enum CublasSide { Left = 0, Right = 1 }

/// <summary>cublasDiagType_t (cublas_api.h): CUBLAS_DIAG_NON_UNIT = 0, CUBLAS_DIAG_UNIT = 1.</summary>
internal enum CublasDiag { NonUnit = 0, Unit = 1 }

/// <summary>
/// cublasMath_t (cublas_api.h): CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2,
/// CUBLAS_TF32_TENSOR_OP_MATH = 3 (1, CUBLAS_TENSOR_OP_MATH, is deprecated).
/// </summary>
internal enum CublasMath { Default = 0, Pedantic = 2, Tf32TensorOp = 3 }

/// <summary>
/// The cuBLAS v2 entry points RawDistill uses (libcublas.so.{13,12,11}); column-major, with
/// the scalars alpha/beta passed by host pointer (the default CUBLAS_POINTER_MODE_HOST).
/// cublasHandle_t and cudaStream_t are opaque pointers (a driver CUstream is a cudaStream_t).
/// </summary>
internal static unsafe partial class Cublas
{
    internal const string Lib = "rawdistill-cublas"; // mapped by CudaLibraryResolver

    static Cublas() => CudaLibraryResolver.Install();

    [LibraryImport(Lib)] internal static partial CublasStatus cublasCreate_v2(out nint handle);
    [LibraryImport(Lib)] internal static partial CublasStatus cublasDestroy_v2(nint handle);
    [LibraryImport(Lib)] internal static partial CublasStatus cublasGetVersion_v2(nint handle, out int version);
    [LibraryImport(Lib)] internal static partial CublasStatus cublasSetStream_v2(nint handle, nint stream);
    [LibraryImport(Lib)] internal static partial CublasStatus cublasSetMathMode(nint handle, CublasMath mode);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasSgemm_v2(nint handle, CublasOp transa, CublasOp transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasDgemm_v2(nint handle, CublasOp transa, CublasOp transb, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasSgemmStridedBatched(nint handle, CublasOp transa, CublasOp transb, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasDgemmStridedBatched(nint handle, CublasOp transa, CublasOp transb, int m, int n, int k,
        double* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC, int batchCount);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasDtrsm_v2(nint handle, CublasSide side, CublasFill uplo, CublasOp trans, CublasDiag diag,
        int m, int n, double* alpha, ulong a, int lda, ulong b, int ldb);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasDsyrk_v2(nint handle, CublasFill uplo, CublasOp trans, int n, int k,
        double* alpha, ulong a, int lda, double* beta, ulong c, int ldc);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasSgeam(nint handle, CublasOp transa, CublasOp transb, int m, int n,
        float* alpha, ulong a, int lda, float* beta, ulong b, int ldb, ulong c, int ldc);

    [LibraryImport(Lib)]
    internal static partial CublasStatus cublasDgeam(nint handle, CublasOp transa, CublasOp transb, int m, int n,
        double* alpha, ulong a, int lda, double* beta, ulong b, int ldb, ulong c, int ldc);

    /// <summary>Throws a <see cref="CudaException"/> naming the call when s is not success.</summary>
    internal static void Check(CublasStatus s, [CallerArgumentExpression(nameof(s))] string call = "")
    {
        if (s != CublasStatus.Success)
            throw new CudaException($"{call} failed: CUBLAS_STATUS_{StatusName(s)} ({(int)s})") { Code = (int)s };
    }

    static string StatusName(CublasStatus s) => s switch
    {
        CublasStatus.NotInitialized => "NOT_INITIALIZED",
        CublasStatus.AllocFailed => "ALLOC_FAILED",
        CublasStatus.InvalidValue => "INVALID_VALUE",
        CublasStatus.ArchMismatch => "ARCH_MISMATCH",
        CublasStatus.MappingError => "MAPPING_ERROR",
        CublasStatus.ExecutionFailed => "EXECUTION_FAILED",
        CublasStatus.InternalError => "INTERNAL_ERROR",
        CublasStatus.NotSupported => "NOT_SUPPORTED",
        CublasStatus.LicenseError => "LICENSE_ERROR",
        _ => "UNKNOWN",
    };
}
