namespace RawDistill.Tests.Cuda;

using RawDistill.Cuda.Native;

/// <summary>
/// Library discovery on fake file trees: CUDA 12 wheels (one folder per library) in a pyenv
/// Python, CUDA 13 wheels (nvidia/cu13/lib) in a uv-managed Python, a conda env, an unactivated
/// venv on PATH whose python3 links to a system Python, a venv that is nowhere we look, and two
/// override folders. The "libraries" are small files that are not ELF images: the tests check
/// what the search finds and tries, not what loads.
/// </summary>
public sealed class LibraryDiscoveryTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), $"rawdistill-discovery-{Guid.NewGuid():N}");
    string Home => Path.Combine(_root, "home");
    string Sys => Path.Combine(_root, "sys");

    string PyenvSp => Path.Combine(Home, ".pyenv/versions/3.11.9/lib/python3.11/site-packages");
    string UvSp => Path.Combine(Home, ".local/share/uv/python/cpython-3.12.7-linux-x86_64-gnu/lib/python3.12/site-packages");
    string CondaSp => Path.Combine(Home, "miniconda3/envs/torch/lib/python3.10/site-packages");
    string OnPathVenv => Path.Combine(_root, "venvs/onpath");
    string OffPathVenv => Path.Combine(_root, "venvs/offpath");
    string SystemSp => Path.Combine(Sys, "usr/lib/python3.12/site-packages");

    public LibraryDiscoveryTests()
    {
        // CUDA 12 wheels: nvidia-cuda-nvrtc-cu12 and nvidia-cublas-cu12 in separate folders.
        Lib(PyenvSp, "nvidia/cuda_nvrtc/lib/libnvrtc.so.12");
        Lib(PyenvSp, "nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.12.4");
        Lib(PyenvSp, "nvidia/cublas/lib/libcublas.so.12");
        Lib(PyenvSp, "nvidia/cublas/lib/libcublasLt.so.12");
        // CUDA 13 wheels: one folder.
        Lib(UvSp, "nvidia/cu13/lib/libnvrtc.so.13");
        Lib(UvSp, "nvidia/cu13/lib/libcublas.so.13");
        Lib(CondaSp, "nvidia/cublas/lib/libcublas.so.12");
        Lib(Path.Combine(OnPathVenv, "lib/python3.12/site-packages"), "nvidia/cu13/lib/libnvrtc.so.13");
        Lib(Path.Combine(OffPathVenv, "lib/python3.12/site-packages"), "nvidia/cuda_nvrtc/lib/libnvrtc.so.12");
        Lib(SystemSp, "nvidia/cublas/lib/libcublas.so.12");
        Lib(_root, "override1/libnvrtc.so.12");
        Lib(_root, "override2/libcublas.so.12");
        // The unactivated venv's python3 links to the system interpreter (as `python -m venv` makes it).
        Lib(Sys, "usr/bin/python3.12");
        Directory.CreateDirectory(Path.Combine(OnPathVenv, "bin"));
        File.CreateSymbolicLink(Path.Combine(OnPathVenv, "bin/python3"), Path.Combine(Sys, "usr/bin/python3.12"));
        Directory.CreateDirectory(Path.Combine(Sys, "usr/local/cuda-12.9/lib64"));
        Directory.CreateDirectory(Path.Combine(Sys, "usr/local/cuda-12.10/lib64"));
    }

    static void Lib(string dir, string relative)
    {
        var path = Path.Combine(dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "not an ELF image");
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    CudaSearchRoots Roots(string? overrides = null, params string[] pathDirs) => new()
    {
        OverrideDirs = CudaSearchRoots.SplitList(overrides),
        Home = Home,
        PathDirs = pathDirs,
        PyenvRoot = Path.Combine(Home, ".pyenv"),
        UvPythonDir = Path.Combine(Home, ".local/share/uv/python"),
        SystemRoot = Sys,
    };

    [Fact]
    public void Cuda12WheelsOfAPyenvPythonAreFoundInTheirOwnFolders()
    {
        var roots = Roots();
        Assert.Contains(Path.Combine(PyenvSp, "nvidia/cuda_nvrtc/lib/libnvrtc.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, roots));
        Assert.Contains(Path.Combine(PyenvSp, "nvidia/cublas/lib/libcublas.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Cublas, roots));
        var folder = Assert.Single(CudaSearchPaths.Folders(roots), f => f.Path == Path.Combine(PyenvSp, "nvidia/cublas/lib"));
        Assert.Contains("pyenv 3.11.9", folder.Source);
    }

    [Fact]
    public void Cuda13WheelsOfAUvPythonAreFoundInNvidiaCu13Lib()
    {
        var roots = Roots();
        var cu13 = Path.Combine(UvSp, "nvidia/cu13/lib");
        Assert.Contains(Path.Combine(cu13, "libnvrtc.so.13"), CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, roots));
        Assert.Contains(Path.Combine(cu13, "libcublas.so.13"), CudaSearchPaths.Candidates(CudaLibrary.Cublas, roots));
        Assert.Contains("uv Python cpython-3.12.7", CudaSearchPaths.Folders(roots).Single(f => f.Path == cu13).Source);
    }

    [Fact]
    public void ACondaEnvironmentUnderHomeIsSearched()
    {
        var folder = Assert.Single(CudaSearchPaths.Folders(Roots()), f => f.Path == Path.Combine(CondaSp, "nvidia/cublas/lib"));
        Assert.Contains("miniconda3 env torch", folder.Source);
    }

    [Fact]
    public void AnUnactivatedVenvOnPathIsSearchedAndSoIsThePythonItLinksTo()
    {
        var roots = Roots(null, Path.Combine(OnPathVenv, "bin"));
        var nvrtc = CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, roots);
        Assert.Contains(Path.Combine(OnPathVenv, "lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13"), nvrtc);
        var viaLink = CudaSearchPaths.Folders(roots).Single(f => f.Path == Path.Combine(SystemSp, "nvidia/cublas/lib"));
        Assert.Contains("python3 on PATH", viaLink.Source);
        Assert.Contains("→", viaLink.Source);
        // The venv on PATH comes before pyenv, uv and conda.
        var folders = CudaSearchPaths.Folders(roots).Select(f => f.Path).ToList();
        Assert.True(folders.IndexOf(Path.Combine(OnPathVenv, "lib/python3.12/site-packages/nvidia/cu13/lib")) < folders.IndexOf(Path.Combine(PyenvSp, "nvidia/cublas/lib")));
    }

    [Fact]
    public void AVenvNotOnPathIsFoundOnlyThroughTheOverrideOrVirtualEnv()
    {
        var offLib = Path.Combine(OffPathVenv, "lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib");
        Assert.DoesNotContain(Path.Combine(offLib, "libnvrtc.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, Roots()));
        Assert.Equal(Path.Combine(offLib, "libnvrtc.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, Roots(offLib))[0]);
        var activated = Roots() with { VirtualEnv = OffPathVenv };
        Assert.Equal(Path.Combine(offLib, "libnvrtc.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, activated)[0]);
    }

    [Fact]
    public void TwoOverrideFoldersAreSearchedFirstInTheirOrder()
    {
        string o1 = Path.Combine(_root, "override1"), o2 = Path.Combine(_root, "override2");
        var roots = Roots($"{o1}:{o2}/");
        var folders = CudaSearchPaths.Folders(roots);
        Assert.Equal([o1, o2], folders.Take(2).Select(f => f.Path));
        Assert.All(folders.Take(2), f => Assert.Equal(CudaLibraryResolver.OverrideVariable, f.Source));
        Assert.Equal(Path.Combine(o1, "libnvrtc.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Nvrtc, roots)[0]);
        Assert.Equal(Path.Combine(o2, "libcublas.so.12"), CudaSearchPaths.Candidates(CudaLibrary.Cublas, roots)[0]);
    }

    [Fact]
    public void TheOverrideVariableIsAColonSeparatedList()
    {
        Assert.Equal(["/a", "/b c", "/d"], CudaSearchRoots.SplitList("/a:: /b c :/d:"));
        Assert.Empty(CudaSearchRoots.SplitList(null));
        Assert.Empty(CudaSearchRoots.SplitList(" "));
    }

    [Fact]
    public void ToolkitsAreSearchedNewestFirstByVersionNotByText()
    {
        var folders = CudaSearchPaths.Folders(Roots()).Select(f => f.Path).ToList();
        int v10 = folders.IndexOf(Path.Combine(Sys, "usr/local/cuda-12.10/lib64")), v9 = folders.IndexOf(Path.Combine(Sys, "usr/local/cuda-12.9/lib64"));
        Assert.True(v10 >= 0 && v9 > v10, "cuda-12.10 before cuda-12.9");
    }

    [Fact]
    public void EveryFileFoundIsTriedAndTheLoadersAnswerRecorded()
    {
        var roots = Roots(Path.Combine(_root, "override1"));
        var location = CudaLibraryResolver.Probe(CudaLibrary.Nvrtc, roots);
        var fake = Path.Combine(_root, "override1", "libnvrtc.so.12");
        var attempt = Assert.Single(location.Attempts, a => a.Path == fake);
        Assert.NotNull(attempt.Error); // not an ELF image (or skipped as too new for the driver)
        Assert.Same(location.Attempts[0], attempt);
        Assert.Contains(location.Attempts, a => a.Path == Path.Combine(UvSp, "nvidia/cu13/lib/libnvrtc.so.13"));
        Assert.Equal(CudaSearchPaths.Folders(roots), location.Folders);
    }
}
