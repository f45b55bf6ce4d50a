// A fake libcublas.so.12 (and .13, the same library): naive column-major BLAS with cuBLAS's
// argument checks (CUBLAS_STATUS_INVALID_VALUE = 7 for a bad size or leading dimension), so
// the emulator catches wrong transposes, swapped operands and too-small leading dimensions.
// Arguments are checked when the call is made; the arithmetic runs on the handle's stream
// (the fake driver's emu_enqueue: deferred under EMU_DEFERRED), so a handle left on the
// default stream races with the backend's own kernels as it would on a GPU.
#include <cstdlib>
#include <dlfcn.h>
#include <functional>
#include <vector>

typedef int S; // cublasStatus_t
enum { OK = 0, INVALID = 7 };
struct Handle { void* stream = nullptr; };
using EnqueueFn = void (*)(void*, std::function<void()>);

static void Enqueue(void* h, std::function<void()> work)
{
    static EnqueueFn f = nullptr;
    if (!f)
        if (void* lib = dlopen("libcuda.so.1", RTLD_NOLOAD | RTLD_LAZY)) f = (EnqueueFn)dlsym(lib, "emu_enqueue");
    if (f) f(((Handle*)h)->stream, std::move(work));
    else work();
}

extern "C" {
S cublasCreate_v2(void** h) { *h = new Handle(); return OK; }
S cublasDestroy_v2(void* h) { delete (Handle*)h; return OK; }
S cublasGetVersion_v2(void*, int* v)
{
    const char* e = std::getenv("EMU_CUBLAS_VERSION");
    *v = e && *e ? std::atoi(e) : 120402;
    return OK;
}
S cublasSetStream_v2(void* h, void* stream) { ((Handle*)h)->stream = stream; return OK; }
S cublasSetMathMode(void*, int mode) { return mode == 0 || mode == 2 || mode == 3 ? OK : INVALID; }
}

static int mx1(int a) { return a < 1 ? 1 : a; }

template <typename T>
static S gemm(int ta, int tb, int m, int n, int k, const T* alpha, const T* A, int lda, const T* B, int ldb, const T* beta, T* C, int ldc, bool run = true)
{
    if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 0 || n < 0 || k < 0) return INVALID;
    if (lda < mx1(ta == 0 ? m : k) || ldb < mx1(tb == 0 ? k : n) || ldc < mx1(m)) return INVALID;
    if (!run) return OK;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
        {
            double acc = 0;
            for (int l = 0; l < k; l++)
            {
                double a = ta == 0 ? A[i + (long)l * lda] : A[l + (long)i * lda];
                double b = tb == 0 ? B[l + (long)j * ldb] : B[j + (long)l * ldb];
                acc += a * b;
            }
            T& c = C[i + (long)j * ldc];
            c = (T)(*alpha * acc + (*beta == 0 ? 0.0 : (double)*beta * c));
        }
    return OK;
}

// Checks now, arithmetic on the handle's stream, with α and β read now (host pointer mode).
template <typename T>
static S gemmCall(void* h, int ta, int tb, int m, int n, int k, const T* al, const T* A, int lda, const T* B, int ldb, const T* be, T* C, int ldc)
{
    if (S s = gemm(ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc, false)) return s;
    T a = *al, b = *be;
    Enqueue(h, [=] { gemm(ta, tb, m, n, k, &a, A, lda, B, ldb, &b, C, ldc); });
    return OK;
}
template <typename T>
static S gemmBatchedCall(void* h, int ta, int tb, int m, int n, int k, const T* al, const T* A, int lda, long long sa,
                         const T* B, int ldb, long long sb, const T* be, T* C, int ldc, long long sc, int batch)
{
    if (batch < 0) return INVALID;
    if (S s = gemm(ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc, false)) return s;
    T a = *al, b = *be;
    Enqueue(h, [=] { for (int z = 0; z < batch; z++) gemm(ta, tb, m, n, k, &a, A + z * sa, lda, B + z * sb, ldb, &b, C + z * sc, ldc); });
    return OK;
}

extern "C" {
S cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* al, const float* A, int lda, const float* B, int ldb, const float* be, float* C, int ldc)
{ return gemmCall(h, ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc); }
S cublasDgemm_v2(void* h, int ta, int tb, int m, int n, int k, const double* al, const double* A, int lda, const double* B, int ldb, const double* be, double* C, int ldc)
{ return gemmCall(h, ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc); }
S cublasSgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const float* al, const float* A, int lda, long long sa,
                            const float* B, int ldb, long long sb, const float* be, float* C, int ldc, long long sc, int batch)
{ return gemmBatchedCall(h, ta, tb, m, n, k, al, A, lda, sa, B, ldb, sb, be, C, ldc, sc, batch); }
S cublasDgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const double* al, const double* A, int lda, long long sa,
                            const double* B, int ldb, long long sb, const double* be, double* C, int ldc, long long sc, int batch)
{ return gemmBatchedCall(h, ta, tb, m, n, k, al, A, lda, sa, B, ldb, sb, be, C, ldc, sc, batch); }
}

// op(A)·X = α·B (left) or X·op(A) = α·B (right); A triangular (uplo 0 lower, 1 upper), read only in that triangle.
static void trsm(int side, int uplo, int trans, int diag, int m, int n, const double* alpha, const double* A, int lda, double* B, int ldb);
extern "C" S cublasDtrsm_v2(void* h, int side, int uplo, int trans, int diag, int m, int n, const double* alpha, const double* A, int lda, double* B, int ldb)
{
    if (side < 0 || side > 1 || uplo < 0 || uplo > 1 || trans < 0 || trans > 1 || diag < 0 || diag > 1 || m < 0 || n < 0) return INVALID;
    int na = side == 0 ? m : n;
    if (lda < mx1(na) || ldb < mx1(m)) return INVALID;
    double a = *alpha;
    Enqueue(h, [=] { trsm(side, uplo, trans, diag, m, n, &a, A, lda, B, ldb); });
    return OK;
}
static void trsm(int side, int uplo, int trans, int diag, int m, int n, const double* alpha, const double* A, int lda, double* B, int ldb)
{
    int na = side == 0 ? m : n;
    std::vector<double> T((size_t)na * na, 0.0); // dense op(A), column-major
    for (int j = 0; j < na; j++)
        for (int i = 0; i < na; i++)
        {
            bool inTri = uplo == 0 ? i >= j : i <= j;
            double v = inTri ? A[i + (long)j * lda] : 0.0;
            if (i == j && diag == 1) v = 1.0;
            if (trans == 0) T[i + (size_t)j * na] = v; else T[j + (size_t)i * na] = v;
        }
    bool lower = (uplo == 0) != (trans == 1); // op(A) is lower triangular
    for (long t = 0; t < (long)m * n; t++) B[(t % m) + (t / m) * ldb] *= *alpha;
    if (side == 0)
    {
        for (int c = 0; c < n; c++)
        {
            double* x = B + (long)c * ldb;
            if (lower) for (int i = 0; i < m; i++) { double s = x[i]; for (int l = 0; l < i; l++) s -= T[i + (size_t)l * na] * x[l]; x[i] = s / T[i + (size_t)i * na]; }
            else for (int i = m - 1; i >= 0; i--) { double s = x[i]; for (int l = i + 1; l < m; l++) s -= T[i + (size_t)l * na] * x[l]; x[i] = s / T[i + (size_t)i * na]; }
        }
    }
    else
    {
        // X·T = B, row r of X: x·T = b  ⇔  Tᵀ·xᵀ = bᵀ
        for (int r = 0; r < m; r++)
        {
            auto X = [&](int j) -> double& { return B[r + (long)j * ldb]; };
            if (!lower) for (int j = 0; j < n; j++) { double s = X(j); for (int l = 0; l < j; l++) s -= X(l) * T[l + (size_t)j * na]; X(j) = s / T[j + (size_t)j * na]; }
            else for (int j = n - 1; j >= 0; j--) { double s = X(j); for (int l = j + 1; l < n; l++) s -= X(l) * T[l + (size_t)j * na]; X(j) = s / T[j + (size_t)j * na]; }
        }
    }
}

// C = α·op(A)·op(A)ᵀ + β·C on the uplo triangle; trans 0: A is n×k, trans 1: A is k×n.
static void syrk(int uplo, int trans, int n, int k, const double* alpha, const double* A, int lda, const double* beta, double* C, int ldc);
extern "C" S cublasDsyrk_v2(void* h, int uplo, int trans, int n, int k, const double* alpha, const double* A, int lda, const double* beta, double* C, int ldc)
{
    if (uplo < 0 || uplo > 1 || trans < 0 || trans > 1 || n < 0 || k < 0) return INVALID;
    if (lda < mx1(trans == 0 ? n : k) || ldc < mx1(n)) return INVALID;
    double a = *alpha, b = *beta;
    Enqueue(h, [=] { syrk(uplo, trans, n, k, &a, A, lda, &b, C, ldc); });
    return OK;
}
static void syrk(int uplo, int trans, int n, int k, const double* alpha, const double* A, int lda, const double* beta, double* C, int ldc)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
        {
            if (uplo == 0 ? i < j : i > j) continue;
            double acc = 0;
            for (int l = 0; l < k; l++)
            {
                double a = trans == 0 ? A[i + (long)l * lda] : A[l + (long)i * lda];
                double b = trans == 0 ? A[j + (long)l * lda] : A[l + (long)j * lda];
                acc += a * b;
            }
            double& c = C[i + (long)j * ldc];
            c = *alpha * acc + (*beta == 0 ? 0.0 : *beta * c);
        }
}

template <typename T>
static S geam(int ta, int tb, int m, int n, const T* al, const T* A, int lda, const T* be, const T* B, int ldb, T* C, int ldc, bool run = true)
{
    if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 0 || n < 0) return INVALID;
    if (lda < mx1(ta == 0 ? m : n) || ldb < mx1(tb == 0 ? m : n) || ldc < mx1(m)) return INVALID;
    if (C == A && ta != 0) return INVALID;
    if (!run) return OK;
    std::vector<T> out((size_t)m * n);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
        {
            T a = ta == 0 ? A[i + (long)j * lda] : A[j + (long)i * lda];
            T b = *be == 0 ? 0 : (tb == 0 ? B[i + (long)j * ldb] : B[j + (long)i * ldb]);
            out[i + (size_t)j * m] = *al * a + (*be == 0 ? 0 : *be * b);
        }
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) C[i + (long)j * ldc] = out[i + (size_t)j * m];
    return OK;
}
template <typename T>
static S geamCall(void* h, int ta, int tb, int m, int n, const T* al, const T* A, int lda, const T* be, const T* B, int ldb, T* C, int ldc)
{
    if (S s = geam(ta, tb, m, n, al, A, lda, be, B, ldb, C, ldc, false)) return s;
    T a = *al, b = *be;
    Enqueue(h, [=] { geam(ta, tb, m, n, &a, A, lda, &b, B, ldb, C, ldc); });
    return OK;
}
extern "C" {
S cublasSgeam(void* h, int ta, int tb, int m, int n, const float* al, const float* A, int lda, const float* be, const float* B, int ldb, float* C, int ldc)
{ return geamCall(h, ta, tb, m, n, al, A, lda, be, B, ldb, C, ldc); }
S cublasDgeam(void* h, int ta, int tb, int m, int n, const double* al, const double* A, int lda, const double* be, const double* B, int ldb, double* C, int ldc)
{ return geamCall(h, ta, tb, m, n, al, A, lda, be, B, ldb, C, ldc); }
}
