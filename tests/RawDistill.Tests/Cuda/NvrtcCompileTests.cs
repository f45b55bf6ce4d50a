namespace RawDistill.Tests.Cuda;

using RawDistill.Cuda;
using RawDistill.Cuda.Native;
using Xunit.Abstractions;

/// <summary>
/// Compiles every kernel file to CUBIN for sm_80 and sm_90 through our own NVRTC binding.
/// Needs libnvrtc (CI installs Debian's libnvrtc11.2) but no GPU.
/// </summary>
[Trait("Category", "NvrtcCompile")]
public class NvrtcCompileTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in KernelSource.KernelFiles)
            foreach (var arch in new[] { "sm_80", "sm_90" })
                data.Add(file, arch);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelCompilesWithoutWarnings(string file, string arch)
    {
        var nvrtc = CudaLibraryResolver.Locate(CudaLibrary.Nvrtc);
        Assert.True(nvrtc.Found, "libnvrtc is required for this test (CI installs libnvrtc11.2).\n" + CudaLibraryResolver.Describe(nvrtc));
        var (major, minor) = NvrtcCompiler.Version();
        output.WriteLine($"NVRTC {major}.{minor} from {nvrtc.LoadedFrom}");

        var compiled = NvrtcCompiler.Compile(file, KernelSource.Read(file), KernelSource.Headers(), arch);

        Assert.True(compiled.IsCubin);
        Assert.True(compiled.Image.Length > 0);
        Assert.True(compiled.Image.AsSpan(0, 4).SequenceEqual("\x7f"u8.ToArray().Concat("ELF"u8.ToArray()).ToArray()), "a CUBIN is an ELF image");
        Assert.DoesNotContain("warning", compiled.Log, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("error", compiled.Log, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void EveryOpFamilyHasAKernelFile()
    {
        string[] expected = ["augment.cu", "conv.cu", "copy.cu", "elementwise.cu", "index.cu", "linalg.cu", "norm.cu", "optim.cu", "pool.cu", "random.cu", "reduce.cu", "softmax.cu"];
        Assert.Equal(expected, KernelSource.KernelFiles);
        Assert.Contains("common.cuh", KernelSource.HeaderFiles);
    }

    /// <summary>
    /// Every kernel is declared __launch_bounds__(MAX_BLOCK), so NVRTC keeps its register count
    /// low enough for the 1024-thread blocks of the block-size sweep (kernels/common.cuh).
    /// </summary>
    [Fact]
    public void EveryKernelDeclaresLaunchBounds()
    {
        int kernels = 0;
        foreach (var file in KernelSource.KernelFiles)
        {
            var source = KernelSource.Read(file);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(source, @"__global__\s+void\s+(\S+)"))
            {
                kernels++;
                Assert.True(m.Groups[1].Value.StartsWith("__launch_bounds__(MAX_BLOCK)", StringComparison.Ordinal),
                    $"{file}: a kernel without __launch_bounds__(MAX_BLOCK): {m.Value}");
            }
        }
        Assert.True(kernels >= 40, $"found only {kernels} kernel declarations");
        Assert.Contains("#define MAX_BLOCK 1024", KernelSource.Read("common.cuh"));
    }

    [Fact]
    public void WarningsReachTheLog()
    {
        // Proves the "no warning" assertion above can fail: NVRTC reports #177-D here.
        Assert.True(NvrtcCompiler.IsAvailable, "libnvrtc is required for this test");
        var compiled = NvrtcCompiler.Compile("warns.cu", "extern \"C\" __global__ void k(float* y) { int unused = 3; y[0] = 1.0f; }",
            new Dictionary<string, string>(), "sm_80");
        Assert.Contains("warning", compiled.Log, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void CompileErrorsNameTheFileAndCarryTheLog()
    {
        Assert.True(NvrtcCompiler.IsAvailable, "libnvrtc is required for this test");
        var e = Assert.Throws<CudaException>(() =>
            NvrtcCompiler.Compile("broken.cu", "extern \"C\" __global__ void k() { undefined_thing(); }", new Dictionary<string, string>(), "sm_80"));
        Assert.Contains("broken.cu", e.Message);
        Assert.Contains("undefined_thing", e.Message);
    }
}
