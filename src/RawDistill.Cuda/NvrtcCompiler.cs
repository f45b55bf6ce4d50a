namespace RawDistill.Cuda;

using System.Runtime.InteropServices;
using System.Text;
using RawDistill.Cuda.Native;

/// <summary>What NVRTC produced for one kernel file: the image (CUBIN or PTX) and the compile log.</summary>
public sealed record CompiledKernel(string FileName, string Architecture, bool IsCubin, byte[] Image, string Log);

/// <summary>Compiles kernel sources with NVRTC, through the project's own binding (no GPU needed).</summary>
public static unsafe class NvrtcCompiler
{
    /// <summary>Options shared by every compile (besides --gpu-architecture). No fast-math: results must match the CPU.</summary>
    public static IReadOnlyList<string> BaseOptions { get; } = ["--std=c++17", "-default-device"];

    /// <summary>True when libnvrtc loads.</summary>
    public static bool IsAvailable => CudaLibraryResolver.Locate(CudaLibrary.Nvrtc).Found;

    /// <summary>NVRTC's version, e.g. (12, 4).</summary>
    public static (int Major, int Minor) Version()
    {
        Nvrtc.Check(Nvrtc.nvrtcVersion(out int major, out int minor));
        return (major, minor);
    }

    /// <summary>
    /// The compute capabilities this NVRTC can compile for, ascending (e.g. [50, 52, ..., 90]), or
    /// null where NVRTC predates nvrtcGetSupportedArchs (11.2).
    /// </summary>
    public static int[]? SupportedArchitectures()
    {
        try
        {
            if (Nvrtc.nvrtcGetNumSupportedArchs(out int n) != NvrtcResult.Success || n <= 0) return null;
            var archs = new int[n];
            fixed (int* p = archs)
                if (Nvrtc.nvrtcGetSupportedArchs(p) != NvrtcResult.Success) return null;
            return archs;
        }
        catch (EntryPointNotFoundException) { return null; }
    }

    /// <summary>
    /// Compiles one source for an architecture: "sm_90" gives CUBIN, "compute_90" gives PTX.
    /// Throws a <see cref="CudaException"/> with the file name and the compile log on failure.
    /// </summary>
    public static CompiledKernel Compile(string fileName, string source, IReadOnlyDictionary<string, string> headers, string architecture)
    {
        bool cubin = architecture.StartsWith("sm_", StringComparison.Ordinal);
        var options = BaseOptions.Append("--gpu-architecture=" + architecture).ToArray();
        var allocations = new List<nint>();
        byte* Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            allocations.Add(p);
            return (byte*)p;
        }

        nint program = 0;
        try
        {
            var headerNames = headers.Keys.ToArray();
            byte** hdrSrc = stackalloc byte*[Math.Max(1, headerNames.Length)];
            byte** hdrName = stackalloc byte*[Math.Max(1, headerNames.Length)];
            for (int i = 0; i < headerNames.Length; i++)
            {
                hdrSrc[i] = Utf8(headers[headerNames[i]]);
                hdrName[i] = Utf8(headerNames[i]);
            }
            Nvrtc.Check(Nvrtc.nvrtcCreateProgram(out program, Utf8(source), Utf8(fileName), headerNames.Length, hdrSrc, hdrName));

            byte** opts = stackalloc byte*[options.Length];
            for (int i = 0; i < options.Length; i++) opts[i] = Utf8(options[i]);
            var result = Nvrtc.nvrtcCompileProgram(program, options.Length, opts);
            string log = Log(program);
            if (result != NvrtcResult.Success)
                throw new CudaException($"NVRTC could not compile kernels/{fileName} for {architecture}: {Nvrtc.ErrorString(result)}\n{log}") { Code = (int)result };

            byte[] image;
            if (cubin)
            {
                Nvrtc.Check(Nvrtc.nvrtcGetCUBINSize(program, out var size));
                image = new byte[(int)size];
                fixed (byte* p = image) Nvrtc.Check(Nvrtc.nvrtcGetCUBIN(program, p));
            }
            else
            {
                Nvrtc.Check(Nvrtc.nvrtcGetPTXSize(program, out var size));
                image = new byte[(int)size]; // includes the terminating NUL cuModuleLoadData needs
                fixed (byte* p = image) Nvrtc.Check(Nvrtc.nvrtcGetPTX(program, p));
            }
            return new CompiledKernel(fileName, architecture, cubin, image, log);
        }
        finally
        {
            if (program != 0) Nvrtc.nvrtcDestroyProgram(ref program);
            foreach (var p in allocations) Marshal.FreeCoTaskMem(p);
        }
    }

    static string Log(nint program)
    {
        if (Nvrtc.nvrtcGetProgramLogSize(program, out var size) != NvrtcResult.Success || size <= 1) return "";
        var buf = new byte[(int)size];
        fixed (byte* p = buf)
            if (Nvrtc.nvrtcGetProgramLog(program, p) != NvrtcResult.Success) return "";
        return Encoding.UTF8.GetString(buf, 0, buf.Length - 1).Trim();
    }
}
