namespace RawDistill.Cuda.Native;

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

/// <summary>CUresult values we name in code (cuda.h, enum cudaError_enum).</summary>
internal enum CuResult
{
    Success = 0,
    ErrorOutOfMemory = 2,      // CUDA_ERROR_OUT_OF_MEMORY
    ErrorNoDevice = 100,       // CUDA_ERROR_NO_DEVICE
}

/// <summary>
/// The CUDA driver API entry points RawDistill uses (libcuda.so.1). Names are the real
/// exported symbols: cuda.h maps e.g. cuMemAlloc → cuMemAlloc_v2, cuStreamDestroy →
/// cuStreamDestroy_v2, cuDevicePrimaryCtxRelease → cuDevicePrimaryCtxRelease_v2
/// (the latter since CUDA 11.0), so we bind the _v2 symbols directly.
/// Handles (CUcontext, CUstream, CUevent, CUmodule, CUfunction) are opaque pointers;
/// CUdeviceptr is a 64-bit integer; CUdevice is an int.
/// </summary>
internal static unsafe partial class CudaDriver
{
    internal const string Lib = "rawdistill-cuda"; // mapped by CudaLibraryResolver

    static CudaDriver() => CudaLibraryResolver.Install();

    // CUdevice_attribute values (cuda.h).
    internal const int AttrClockRate = 13;                  // CU_DEVICE_ATTRIBUTE_CLOCK_RATE (kHz)
    internal const int AttrMultiprocessorCount = 16;        // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
    internal const int AttrMemoryClockRate = 36;            // CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE (kHz)
    internal const int AttrGlobalMemoryBusWidth = 37;       // CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH (bits)
    internal const int AttrL2CacheSize = 38;                // CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE (bytes)
    internal const int AttrComputeCapabilityMajor = 75;     // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    internal const int AttrComputeCapabilityMinor = 76;     // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

    internal const uint StreamNonBlocking = 0x1;            // CU_STREAM_NON_BLOCKING (CUstream_flags)
    internal const uint EventDefault = 0x0;                 // CU_EVENT_DEFAULT (CUevent_flags)

    [LibraryImport(Lib)] internal static partial CuResult cuInit(uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuDriverGetVersion(out int version);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetCount(out int count);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetName(byte* name, int len, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceTotalMem_v2(out nuint bytes, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Lib)] internal static partial CuResult cuCtxSetCurrent(nint context);

    [LibraryImport(Lib)] internal static partial CuResult cuMemAlloc_v2(out ulong dptr, nuint bytes);
    [LibraryImport(Lib)] internal static partial CuResult cuMemFree_v2(ulong dptr);
    [LibraryImport(Lib)] internal static partial CuResult cuMemcpyHtoDAsync_v2(ulong dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemcpyDtoHAsync_v2(void* dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemcpyDtoDAsync_v2(ulong dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemsetD8Async(ulong dst, byte value, nuint count, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemsetD32Async(ulong dst, uint value, nuint count, nint stream);

    [LibraryImport(Lib)] internal static partial CuResult cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamSynchronize(nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamDestroy_v2(nint stream);

    [LibraryImport(Lib)] internal static partial CuResult cuEventCreate(out nint ev, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuEventRecord(nint ev, nint stream);
    [LibraryImport(Lib)] internal static partial CuResult cuEventSynchronize(nint ev);
    [LibraryImport(Lib)] internal static partial CuResult cuEventElapsedTime(out float milliseconds, nint start, nint end);
    [LibraryImport(Lib)] internal static partial CuResult cuEventDestroy_v2(nint ev);

    [LibraryImport(Lib)] internal static partial CuResult cuModuleLoadData(out nint module, void* image);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial CuResult cuModuleGetFunction(out nint function, nint module, string name);
    [LibraryImport(Lib)] internal static partial CuResult cuModuleUnload(nint module);

    [LibraryImport(Lib)]
    internal static partial CuResult cuLaunchKernel(nint f, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    [LibraryImport(Lib)] internal static partial CuResult cuGetErrorName(CuResult error, out nint name);
    [LibraryImport(Lib)] internal static partial CuResult cuGetErrorString(CuResult error, out nint text);

    /// <summary>Throws a <see cref="CudaException"/> naming the call when r is not success.</summary>
    internal static void Check(CuResult r, [CallerArgumentExpression(nameof(r))] string call = "")
    {
        if (r != CuResult.Success) throw Error(r, call);
    }

    internal static CudaException Error(CuResult r, string call)
    {
        string name = $"CUresult {(int)r}", text = "";
        try
        {
            if (cuGetErrorName(r, out var pn) == CuResult.Success && pn != 0) name = Marshal.PtrToStringUTF8(pn) ?? name;
            if (cuGetErrorString(r, out var ps) == CuResult.Success && ps != 0) text = Marshal.PtrToStringUTF8(ps) ?? "";
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return new CudaException($"{call} failed: {name}{(text.Length > 0 ? ": " + text : "")}") { Code = (int)r };
    }
}
