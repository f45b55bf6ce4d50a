namespace RawDistill.Tests.IO;

using System.Text;
using RawDistill.Cuda;
using RawDistill.IO;

public class Sha256Tests
{
    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void MatchesTheFipsVectors(string text, string hex) => Assert.Equal(hex, Sha256.HashHex(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void MatchesTheFrameworkHashAtEveryPaddingBoundary()
    {
        var rng = new System.Random(7);
        foreach (int n in Enumerable.Range(0, 200).Append(1 << 20).Append(1_000_003))
        {
            var data = new byte[n];
            rng.NextBytes(data);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), Sha256.Hash(data));
        }
    }

    [Fact]
    public void TheCudaAssemblyDoesNotNeedTheCryptographyLibrary()
    {
        // System.Security.Cryptography hashes through OpenSSL on Linux; the kernel cache must not.
        var refs = typeof(KernelCache).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("System.Security.Cryptography", refs);
    }

    [Fact]
    public void KernelCacheFileNamesDependOnEveryInput()
    {
        var headers = new Dictionary<string, string> { ["common.cuh"] = "#pragma once" };
        string Name(string src = "k", string arch = "sm_90", int minor = 4, string header = "#pragma once") =>
            KernelCache.CacheFileName("copy.cu", src, new Dictionary<string, string> { ["common.cuh"] = header }, arch, (12, minor));
        var baseName = Name();
        Assert.Matches("^copy-sm_90-[0-9a-f]{32}\\.cubin$", baseName);
        Assert.Equal(baseName, KernelCache.CacheFileName("copy.cu", "k", headers, "sm_90", (12, 4)));
        Assert.NotEqual(baseName, Name(src: "k2"));
        Assert.NotEqual(baseName, Name(arch: "sm_80").Replace("sm_80", "sm_90"));
        Assert.NotEqual(baseName, Name(minor: 5));
        Assert.NotEqual(baseName, Name(header: "#pragma once\n"));
    }
}
