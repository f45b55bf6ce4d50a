namespace RawDistill.Tests.Cuda;

using RawDistill.Cuda;
using RawDistill.Cuda.Native;

public class ResolverTests
{
    [Fact]
    public void BogusOverrideFolderIsTriedFirstAndListed()
    {
        const string bogus = "/nonexistent/rawdistill-bogus-cuda-dir";
        var location = CudaLibraryResolver.Probe(CudaLibrary.Cublas, bogus);

        Assert.StartsWith(bogus, location.Attempts[0].Path);
        Assert.Equal("folder does not exist", location.Attempts[0].Error);
        if (!location.Found) Assert.Contains(bogus, CudaLibraryResolver.Describe(location));
    }

    [Fact]
    public void SearchOrderStartsWithTheOverrideThenTheToolkit()
    {
        var dirs = CudaLibraryResolver.SearchDirectories("/opt/override");
        Assert.Equal("/opt/override", dirs[0]);
        Assert.Contains("/usr/local/cuda/lib64", dirs);
        Assert.True(dirs.ToList().IndexOf("/usr/local/cuda/lib64") < dirs.ToList().IndexOf("/usr/lib/x86_64-linux-gnu"));
    }

    [Fact]
    public void EveryLibraryHasVersionedSonamesNewestFirst()
    {
        Assert.Equal("libcuda.so.1", CudaLibraryResolver.FileNames(CudaLibrary.Driver)[0]);
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"], CudaLibraryResolver.FileNames(CudaLibrary.Nvrtc));
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"], CudaLibraryResolver.FileNames(CudaLibrary.Cublas));
    }

    [Fact]
    public void AnOverrideFolderHoldingTheLibraryWins()
    {
        const string debian = "/usr/lib/x86_64-linux-gnu";
        if (!File.Exists(Path.Combine(debian, "libnvrtc.so.11.2"))) return; // only where Debian's NVRTC is installed (CI)
        var location = CudaLibraryResolver.Probe(CudaLibrary.Nvrtc, debian);
        Assert.True(location.Found);
        Assert.Equal(Path.Combine(debian, "libnvrtc.so.11.2"), location.LoadedFrom);
        Assert.Single(location.Attempts);
    }

    [Fact]
    public void TryCreateNeverThrowsAndSaysWhy()
    {
        bool ok = CudaBackend.TryCreate(0, out var backend, out var why);
        if (ok)
        {
            Assert.NotNull(backend);
            return;
        }
        Assert.Null(backend);
        Assert.False(string.IsNullOrWhiteSpace(why));
    }

    [Fact]
    public void ProbeNeverThrowsAndReportsEveryLibrary()
    {
        var report = CudaProbe.Run();
        Assert.Equal(3, report.Libraries.Count);
        Assert.NotEmpty(report.Lines());
        if (report.Libraries[1].Found) Assert.NotNull(report.NvrtcVersion);
    }

    [Fact]
    public void DoctorLinesListTheFoldersTheSonamesAndTheKernelCache()
    {
        var lines = CudaProbe.Run().Lines().ToList();
        Assert.Contains(lines, l => l.StartsWith("search folders", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/usr/local/cuda/lib64") && l.Contains("[CUDA toolkit]"));
        Assert.Contains(lines, l => l.StartsWith("nvrtc sonames tried", StringComparison.Ordinal) && l.Contains("libnvrtc.so.12"));
        Assert.Contains(lines, l => l.StartsWith("cublas sonames tried", StringComparison.Ordinal) && l.Contains("libcublas.so.13"));
        Assert.Contains(lines, l => l.StartsWith("kernel cache " + KernelCache.Directory, StringComparison.Ordinal));
        if (NvrtcCompiler.IsAvailable)
        {
            Assert.Contains(lines, l => l.StartsWith("compile  passed", StringComparison.Ordinal));
            var archs = NvrtcCompiler.SupportedArchitectures();
            if (archs is not null)
            {
                Assert.Contains(80, archs);
                Assert.Equal(archs.Order(), archs);
                Assert.Contains(lines, l => l.StartsWith("nvrtc architectures:", StringComparison.Ordinal) && l.Contains("sm_80"));
            }
        }
    }
}
