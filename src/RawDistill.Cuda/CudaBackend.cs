namespace RawDistill.Cuda;

using System.Text;
using RawDistill.Backends;
using RawDistill.Cuda.Native;
using RawDistill.Tensors;

/// <summary>
/// The CUDA implementation of <see cref="IBackend"/>: the device's primary context, one
/// non-blocking stream shared with cuBLAS, kernels compiled at run time by NVRTC (CUBIN for
/// the device's compute capability, cached on disk) and a caching device-memory pool.
/// Work is queued asynchronously; the host waits only where it reads a value
/// (<see cref="Download"/>, <see cref="Cholesky"/>'s pivot) or when asked
/// (<see cref="Synchronize"/>). With RAWDISTILL_SYNC=1 every launch is followed by a
/// synchronize and an error check, so a failing kernel is named at once.
/// The op families live in partial files named after their kernel files
/// (CudaBackend.Elementwise.cs ↔ kernels/elementwise.cu, ...).
/// </summary>
public sealed unsafe partial class CudaBackend : IBackend
{
    /// <summary>Environment variable: "1" synchronizes and checks after every launch.</summary>
    public const string SyncVariable = "RAWDISTILL_SYNC";

    /// <summary>Threads per block of the launchers' own kernels unless <see cref="BlockSizeOverride"/> says otherwise.</summary>
    const int DefaultBlockSize = 256;

    /// <summary>Threads per block used by this launch (the benchmark override or the default).</summary>
    uint BlockSize => (uint)(_blockSizeOverride ?? DefaultBlockSize);

    readonly nint _context;
    readonly nint _stream;
    readonly nint _cublas;
    readonly bool _syncEachLaunch;
    readonly object _moduleGate = new();
    readonly Dictionary<string, nint> _modules = [];
    readonly Dictionary<(string File, string Kernel), nint> _functions = [];
    bool _allowTf32;
    int? _blockSizeOverride;
    bool _disposed;

    /// <summary>
    /// Which backend last made its context current on this thread, by <see cref="_id"/> (0: none
    /// known). Keyed by backend instance rather than by CUcontext handle: a primary context that
    /// was released and retained again can come back under the same handle while a thread is
    /// still bound to the dead one, so a handle cache could skip a needed cuCtxSetCurrent. Every
    /// new backend has a new id, so each thread binds it once, on first use.
    /// </summary>
    [ThreadStatic] static long t_currentBackend;
    static long s_lastId;
    readonly long _id = Interlocked.Increment(ref s_lastId);

    CudaBackend(int ordinal, int device, nint context, nint stream, nint cublas)
    {
        Ordinal = ordinal;
        Device = device;
        _context = context;
        _stream = stream;
        _cublas = cublas;
        _syncEachLaunch = Environment.GetEnvironmentVariable(SyncVariable) == "1";
        Pool = new DevicePool(this);
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.AttrComputeCapabilityMajor, device));
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.AttrComputeCapabilityMinor, device));
        ComputeCapability = (major, minor);
        DeviceName = CudaProbe.DeviceName(device);
    }

    /// <summary>
    /// Opens device <paramref name="ordinal"/>. Never throws for a missing driver, library or
    /// device: returns false with the reason (including every library path tried).
    /// </summary>
    public static bool TryCreate(int ordinal, out CudaBackend? backend, out string whyNot)
    {
        backend = null;
        whyNot = "";
        foreach (var lib in new[] { CudaLibrary.Driver, CudaLibrary.Nvrtc, CudaLibrary.Cublas })
        {
            var loc = CudaLibraryResolver.Locate(lib);
            if (!loc.Found)
            {
                whyNot = CudaLibraryResolver.Describe(loc);
                return false;
            }
        }
        int device = 0;
        nint context = 0, stream = 0, cublas = 0;
        bool retained = false;
        try
        {
            CudaDriver.Check(CudaDriver.cuInit(0));
            CudaDriver.Check(CudaDriver.cuDeviceGetCount(out int count));
            if (ordinal < 0 || ordinal >= count)
            {
                whyNot = count == 0 ? "the driver reports no CUDA device" : $"device {ordinal} does not exist ({count} device(s))";
                return false;
            }
            CudaDriver.Check(CudaDriver.cuDeviceGet(out device, ordinal));
            CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(out context, device));
            retained = true;
            CudaDriver.Check(CudaDriver.cuCtxSetCurrent(context));
            CudaDriver.Check(CudaDriver.cuStreamCreate(out stream, CudaDriver.StreamNonBlocking));
            Cublas.Check(Cublas.cublasCreate_v2(out cublas));
            Cublas.Check(Cublas.cublasSetStream_v2(cublas, stream));
            Cublas.Check(Cublas.cublasSetMathMode(cublas, CublasMath.Default));
            backend = new CudaBackend(ordinal, device, context, stream, cublas);
            t_currentBackend = backend._id;
            return true;
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            whyNot = e.Message;
            if (cublas != 0) Cublas.cublasDestroy_v2(cublas);
            if (stream != 0) CudaDriver.cuStreamDestroy_v2(stream);
            if (retained) CudaDriver.cuDevicePrimaryCtxRelease_v2(device);
            t_currentBackend = 0;
            return false;
        }
    }

    /// <summary>Opens a device or throws an <see cref="InvalidOperationException"/> saying why CUDA is not available.</summary>
    public static CudaBackend Create(int ordinal = 0) =>
        TryCreate(ordinal, out var b, out var why) ? b! : throw new InvalidOperationException($"CUDA is not available: {why}");

    /// <summary>Device ordinal as given to <see cref="TryCreate"/>.</summary>
    public int Ordinal { get; }

    /// <summary>The CUdevice handle.</summary>
    internal int Device { get; }

    /// <summary>The device's name, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string DeviceName { get; }

    /// <summary>Compute capability (major, minor), e.g. (9, 0).</summary>
    public (int Major, int Minor) ComputeCapability { get; }

    /// <summary>The NVRTC architecture kernels are compiled for, e.g. "sm_90".</summary>
    public string Architecture => $"sm_{ComputeCapability.Major}{ComputeCapability.Minor}";

    internal DevicePool Pool { get; }

    /// <summary>Bytes of device memory held by live storages and by the pool's cache.</summary>
    public (long Live, long Cached) MemoryInUse => (Pool.LiveBytes, Pool.CachedBytes);

    /// <summary>
    /// Lets cuBLAS use TF32 tensor cores for f32 GEMMs (faster, about 10 mantissa bits).
    /// Off by default: CUBLAS_DEFAULT_MATH, under which S/DGEMM compute in full f32/f64
    /// (TF32 needs CUBLAS_TF32_TENSOR_OP_MATH), so results match the CPU backend.
    /// </summary>
    public bool AllowTf32
    {
        get => _allowTf32;
        set
        {
            MakeCurrent();
            Cublas.Check(Cublas.cublasSetMathMode(_cublas, value ? CublasMath.Tf32TensorOp : CublasMath.Default));
            _allowTf32 = value;
        }
    }

    /// <summary>cuBLAS's version number (e.g. 120402 for 12.4.2), or null when it cannot be read.</summary>
    public int? CublasVersion
    {
        get
        {
            MakeCurrent();
            return Cublas.cublasGetVersion_v2(_cublas, out int v) == CublasStatus.Success ? v : null;
        }
    }

    /// <inheritdoc/>
    public string Name => $"cuda:{Ordinal}";

    /// <inheritdoc/>
    public bool IsHost => false;

    /// <summary>Makes this backend's context current on the calling thread (cheap when it already is).</summary>
    internal void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (t_currentBackend == _id) return;
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(_context));
        t_currentBackend = _id;
    }

    // ---- memory -------------------------------------------------------------------

    /// <inheritdoc/>
    public MemoryMeter Memory { get; } = new();

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var ptr = Pool.Rent(count * dtype.SizeOf(), out long block);
        return new CudaStorage(this, dtype, count, ptr, block);
    }

    /// <inheritdoc/>
    public void Upload(Storage dst, ReadOnlySpan<byte> src)
    {
        var d = Dev(dst);
        if (src.Length > dst.Bytes) throw new ArgumentException($"upload of {src.Length} bytes into a storage of {dst.Bytes} bytes");
        if (src.IsEmpty) return;
        MakeCurrent();
        // From pageable memory the driver stages the bytes before returning, so the span
        // may be reused as soon as this call returns.
        fixed (byte* p = src) CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync_v2(d.Pointer, p, (nuint)src.Length, _stream));
        AfterLaunch("cuMemcpyHtoDAsync_v2");
    }

    /// <inheritdoc/>
    public void Download(Storage src, Span<byte> dst)
    {
        var s = Dev(src);
        if (dst.Length > src.Bytes) throw new ArgumentException($"download of {dst.Length} bytes from a storage of {src.Bytes} bytes");
        if (dst.IsEmpty) return;
        MakeCurrent();
        fixed (byte* p = dst)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync_v2(p, s.Pointer, (nuint)dst.Length, _stream));
            CudaDriver.Check(CudaDriver.cuStreamSynchronize(_stream));
        }
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuStreamSynchronize(_stream));
    }

    /// <summary>Runs <paramref name="work"/> between two stream events and returns the GPU time in milliseconds.</summary>
    public float TimeMilliseconds(Action work)
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuEventCreate(out var start, CudaDriver.EventDefault));
        CudaDriver.Check(CudaDriver.cuEventCreate(out var end, CudaDriver.EventDefault));
        try
        {
            CudaDriver.Check(CudaDriver.cuEventRecord(start, _stream));
            work();
            MakeCurrent();
            CudaDriver.Check(CudaDriver.cuEventRecord(end, _stream));
            CudaDriver.Check(CudaDriver.cuEventSynchronize(end));
            CudaDriver.Check(CudaDriver.cuEventElapsedTime(out float ms, start, end));
            return ms;
        }
        finally
        {
            CudaDriver.cuEventDestroy_v2(start);
            CudaDriver.cuEventDestroy_v2(end);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        MakeCurrent();
        CudaDriver.cuStreamSynchronize(_stream);
        FreeFlushBuffer();
        Pool.Dispose();
        lock (_moduleGate)
        {
            foreach (var m in _modules.Values) CudaDriver.cuModuleUnload(m);
            _modules.Clear();
            _functions.Clear();
        }
        Cublas.cublasDestroy_v2(_cublas);
        CudaDriver.cuStreamDestroy_v2(_stream);
        CudaDriver.cuDevicePrimaryCtxRelease_v2(Device);
        _disposed = true;
        t_currentBackend = 0;
    }

    // ---- helpers shared by the partial files ------------------------------------------

    /// <summary>The storage as this backend's device memory (throws for a foreign or released one).</summary>
    CudaStorage Dev(Storage s)
    {
        if (s is not CudaStorage c || !ReferenceEquals(s.Backend, this))
            throw new ArgumentException($"storage belongs to {s.Backend.Name}, not {Name}");
        if (s.IsReleased) throw new ObjectDisposedException(nameof(Storage), "storage was already released");
        return c;
    }

    /// <summary>Device address of element <paramref name="offset"/>, after checking that [offset, offset + count) lies inside.</summary>
    ulong Ptr(Storage s, long offset = 0, long count = -1, DType? dtype = null)
    {
        var c = Dev(s);
        if (dtype is { } t && s.DType != t) throw new ArgumentException($"expected a {t} storage, got {s.DType}");
        if (count < 0) count = s.Count - offset;
        if (offset < 0 || count < 0 || offset + count > s.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"elements [{offset}, {offset + count}) are outside a storage of {s.Count}");
        return c.Pointer + (ulong)(offset * s.DType.SizeOf());
    }

    static string FloatSuffix(DType t, string op) => t switch
    {
        DType.F32 => "f32",
        DType.F64 => "f64",
        _ => throw new NotSupportedException($"{op} needs an f32 or f64 storage, got {t}"),
    };

    static string WidthSuffix(DType t) => t.SizeOf() switch
    {
        1 => "b1",
        4 => "b4",
        8 => "b8",
        _ => throw new NotSupportedException($"element width of {t}"),
    };

    static void SameDType(string op, DType expected, params Storage?[] others)
    {
        foreach (var s in others)
            if (s is not null && s.DType != expected)
                throw new ArgumentException($"{op}: every storage must be {expected}, got {s.DType}");
    }

    nint Function(string file, string kernel)
    {
        lock (_moduleGate)
        {
            if (_functions.TryGetValue((file, kernel), out var f)) return f;
            if (!_modules.TryGetValue(file, out var module))
            {
                var image = KernelCache.GetOrCompile(file, Architecture);
                fixed (byte* p = image) CudaDriver.Check(CudaDriver.cuModuleLoadData(out module, p));
                _modules[file] = module;
            }
            var r = CudaDriver.cuModuleGetFunction(out f, module, kernel);
            if (r != CuResult.Success) throw CudaDriver.Error(r, $"cuModuleGetFunction({file}: {kernel})");
            _functions[(file, kernel)] = f;
            return f;
        }
    }

    /// <summary>Grid size for a grid-stride kernel over n items (n &gt; 0).</summary>
    uint GridFor(long n) => (uint)Math.Clamp((n + BlockSize - 1) / BlockSize, 1, 1 << 20);

    /// <summary>Launches a grid-stride kernel over n items (nothing when n is 0).</summary>
    void Launch1D(string file, string kernel, long n, ref KernelArgs args)
    {
        if (n <= 0) return;
        Launch(file, kernel, GridFor(n), BlockSize, ref args);
    }

    void Launch(string file, string kernel, uint grid, uint block, ref KernelArgs args)
    {
        MakeCurrent();
        var f = Function(file, kernel);
        void** ptrs = stackalloc void*[Math.Max(1, args.Count)];
        args.Pointers(KernelArgs.Data(ref args), ptrs);
        var r = CudaDriver.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, _stream, ptrs, null);
        if (r != CuResult.Success) throw CudaDriver.Error(r, $"cuLaunchKernel({file}: {kernel}, grid {grid}, block {block})");
        AfterLaunch(kernel);
    }

    /// <summary>Under RAWDISTILL_SYNC=1: waits for the stream and reports an error against the named work.</summary>
    void AfterLaunch(string what)
    {
        if (!_syncEachLaunch) return;
        var r = CudaDriver.cuStreamSynchronize(_stream);
        if (r != CuResult.Success) throw CudaDriver.Error(r, $"{what} (checked by {SyncVariable}=1)");
    }

    /// <summary>A one-line summary: device, capability, memory.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Name).Append(": ").Append(DeviceName).Append(", sm_").Append(ComputeCapability.Major).Append(ComputeCapability.Minor);
        return sb.ToString();
    }
}
