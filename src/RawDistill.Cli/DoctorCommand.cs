namespace RawDistill.Cli;

using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using CommandLine;
using CommandLine.Text;
using RawDistill.Cuda;
using RawDistill.Cuda.Native;

[Verb("doctor", HelpText = "Print what RawDistill finds on this machine: .NET, CPU features, backends.")]
public sealed class DoctorOptions
{
    public static IEnumerable<Example> Examples => [new Example("Check the machine", new DoctorOptions())];
}

/// <summary>Reports the runtime, the CPU's SIMD features and which backends can run.</summary>
public static class DoctorCommand
{
    public static int Run(DoctorOptions options)
    {
        Console.WriteLine($"RawDistill {typeof(DoctorCommand).Assembly.GetName().Version}");
        Console.WriteLine($".NET        {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})");
        Console.WriteLine($"OS          {RuntimeInformation.OSDescription}");
        Console.WriteLine($"CPU         {CpuModel()} — {Environment.ProcessorCount} logical cores");
        Console.WriteLine($"SIMD        {string.Join(" ", SimdFeatures())}");
        Console.WriteLine();
        Console.WriteLine("backends");
        Console.WriteLine("  cpu       available");
        var cuda = CudaProbe.Run();
        Console.WriteLine($"  cuda      {(cuda.Usable ? "available" : "not available")}");
        foreach (var line in cuda.Lines()) Console.WriteLine("    " + line);
        if (!cuda.Usable)
            Console.WriteLine($"    (set {CudaLibraryResolver.OverrideVariable} to the folders holding libcuda/libnvrtc/libcublas, colon-separated, to search them first; " +
                "for pip-installed PyTorch: the nvidia/*/lib folders of its site-packages)");
        return 0;
    }

    static IEnumerable<string> SimdFeatures()
    {
        if (Sse2.IsSupported) yield return "SSE2";
        if (Avx.IsSupported) yield return "AVX";
        if (Avx2.IsSupported) yield return "AVX2";
        if (Fma.IsSupported) yield return "FMA";
        if (Avx512F.IsSupported) yield return "AVX-512F";
        if (Avx512BW.IsSupported) yield return "AVX-512BW";
        if (Avx10v1.IsSupported) yield return "AVX10.1";
    }

    static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
