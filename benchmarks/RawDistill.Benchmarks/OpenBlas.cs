using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RawDistill.Benchmarks;

/// <summary>
/// Minimal CBLAS binding to OpenBLAS (sgemm, dgemm and the thread/config queries), used only as the yardstick for <c>CpuGemm</c>
/// (Debian: libopenblas0-pthread provides libopenblas.so.0).
/// </summary>
/// <remarks>
/// Enum values are CBLAS's, from /usr/include/x86_64-linux-gnu/cblas.h (libblas-dev):
/// <c>CBLAS_LAYOUT {CblasRowMajor=101, CblasColMajor=102}</c>,
/// <c>CBLAS_TRANSPOSE {CblasNoTrans=111, CblasTrans=112, CblasConjTrans=113}</c>.
/// Integers are 32-bit: Debian's libopenblas0 is the LP64 build (the ILP64 one is libopenblas64).
/// </remarks>
internal static unsafe partial class OpenBlas
{
    public const string Library = "libopenblas.so.0";

    public const int CblasRowMajor = 101;
    public const int CblasNoTrans = 111;
    public const int CblasTrans = 112;

    private static readonly Lazy<bool> Available = new(() =>
    {
        if (!NativeLibrary.TryLoad(Library, out nint handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    });

    /// <summary>Whether libopenblas.so.0 can be loaded on this machine.</summary>
    public static bool IsAvailable => Available.Value;

    /// <summary>Row-major <c>cblas_sgemm</c> with the same argument order as <c>CpuGemm.Sgemm</c>.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Row-major <c>cblas_dgemm</c> with the same argument order as <c>CpuGemm.Dgemm</c>.</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc) =>
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Kernel family OpenBLAS picked for this CPU at load time (DYNAMIC_ARCH builds), e.g. "Haswell".</summary>
    public static string CoreName => Marshal.PtrToStringUTF8((nint)openblas_get_corename()) ?? "?";

    /// <summary>Build configuration string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".</summary>
    public static string Config => Marshal.PtrToStringUTF8((nint)openblas_get_config()) ?? "?";

    public static void SetThreads(int threads) => openblas_set_num_threads(threads);

    public static int GetThreads() => openblas_get_num_threads();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial void cblas_sgemm(int layout, int transA, int transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial void cblas_dgemm(int layout, int transA, int transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial void openblas_set_num_threads(int threads);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int openblas_get_num_threads();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial byte* openblas_get_corename();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial byte* openblas_get_config();
}
