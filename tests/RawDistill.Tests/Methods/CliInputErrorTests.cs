namespace RawDistill.Tests.Methods;

using System.Buffers.Binary;
using System.Text;

/// <summary>Bad teacher files end in one error line naming the file and exit 1, not a stack trace.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CliInputErrorTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "rd-clierr-" + Guid.NewGuid().ToString("N")[..8]);

    public CliInputErrorTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] Header(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    [Fact]
    public void CorruptTeacherFilesAreOneLineErrors()
    {
        var random = new byte[4096];
        new System.Random(3).NextBytes(random);
        var oversized = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(oversized, ulong.MaxValue / 2);
        var cases = new Dictionary<string, byte[]>
        {
            ["random.safetensors"] = random,
            ["oversized-header.safetensors"] = oversized,
            ["truncated.safetensors"] = Header("""{"w":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}""", 100),
            ["empty.safetensors"] = [],
        };
        foreach (var (name, bytes) in cases)
        {
            string path = Write(name, bytes);
            string err = ToyDistillation.FailingRun(["distill", "--teacher", path, "--eval-seeds", "0", "--out", Path.Combine(_dir, "run-" + name)]);
            Assert.Contains($"error: --teacher {path}: not a readable teacher file", err);
            Assert.DoesNotContain("   at ", err);
            Assert.False(Directory.Exists(Path.Combine(_dir, "run-" + name)));
        }
    }

    [Fact]
    public void AnUnreadableCachedTeacherSaysHowToClearIt()
    {
        string cache = Path.Combine(_dir, "cache");
        Directory.CreateDirectory(cache);
        string entry = RawDistill.Methods.Ssl.TeacherCache.EntryPath(cache, RawDistill.Data.DataSpec.Parse("fashion-mnist-mini"), null, 0);
        File.WriteAllBytes(entry, new byte[10]);
        string err = ToyDistillation.FailingRun(["distill", "--cache", cache, "--eval-seeds", "0", "--out", Path.Combine(_dir, "run")]);
        Assert.Contains($"the cached teacher {entry} is unreadable", err);
        Assert.Contains($"rm '{entry}'", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void ImpossibleSizesAreRefusedBeforeAnyTeacherTrains()
    {
        var (data, _) = ToyDistillation.Create(_dir);
        string cache = Path.Combine(_dir, "cache");
        string run = Path.Combine(_dir, "run");
        Assert.Contains("-m 1000: more synthetic images than the 40 training images",
            ToyDistillation.FailingRun(["distill", "--data", data, "--cache", cache, "-m", "1000", "--out", run]));
        Assert.Contains("--real-batch 500: larger than the 40 training images",
            ToyDistillation.FailingRun(["distill", "--data", data, "--cache", cache, "-m", "6", "--real-batch", "500", "--out", run]));
        Assert.Contains("-m 1000: more synthetic images",
            ToyDistillation.FailingRun(["distill", "--method", "mkdt", "--data", data, "--cache", cache, "-m", "1000", "--out", run]));
        Assert.False(Directory.Exists(cache));   // no teacher was trained
        Assert.False(Directory.Exists(run));     // and no empty folder is left
    }
}
