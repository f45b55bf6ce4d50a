namespace RawDistill.Cuda.Native;

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

/// <summary>nvrtcResult values we name in code (nvrtc.h).</summary>
internal enum NvrtcResult
{
    Success = 0,
    ErrorCompilation = 6, // NVRTC_ERROR_COMPILATION
}

/// <summary>
/// NVRTC, CUDA's run-time compiler (libnvrtc.so.{13,12,11.2}). nvrtcProgram is an opaque
/// pointer. GetCUBIN/GetCUBINSize exist from NVRTC 11.1.
/// </summary>
internal static unsafe partial class Nvrtc
{
    internal const string Lib = "rawdistill-nvrtc"; // mapped by CudaLibraryResolver

    static Nvrtc() => CudaLibraryResolver.Install();

    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcVersion(out int major, out int minor);
    [LibraryImport(Lib)]
    internal static partial NvrtcResult nvrtcCreateProgram(out nint program, byte* src, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcCompileProgram(nint program, int numOptions, byte** options);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetProgramLogSize(nint program, out nuint size);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetProgramLog(nint program, byte* log);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetCUBINSize(nint program, out nuint size);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetCUBIN(nint program, byte* cubin);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetPTXSize(nint program, out nuint size);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetPTX(nint program, byte* ptx);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcDestroyProgram(ref nint program);
    [LibraryImport(Lib)] internal static partial nint nvrtcGetErrorString(NvrtcResult result);
    // From NVRTC 11.2: the architectures this NVRTC can compile for, ascending (e.g. 50, 52, ..., 90).
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetNumSupportedArchs(out int numArchs);
    [LibraryImport(Lib)] internal static partial NvrtcResult nvrtcGetSupportedArchs(int* supportedArchs);

    /// <summary>Throws a <see cref="CudaException"/> naming the call when r is not success.</summary>
    internal static void Check(NvrtcResult r, [CallerArgumentExpression(nameof(r))] string call = "")
    {
        if (r != NvrtcResult.Success) throw new CudaException($"{call} failed: {ErrorString(r)}") { Code = (int)r };
    }

    internal static string ErrorString(NvrtcResult r)
    {
        try { return Marshal.PtrToStringUTF8(nvrtcGetErrorString(r)) ?? $"nvrtcResult {(int)r}"; }
        catch (EntryPointNotFoundException) { return $"nvrtcResult {(int)r}"; }
    }
}
