namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Methods.Ssl;
using RawDistill.Random;

/// <summary>The teacher cache: resume of an interrupted training, reuse, one trainer per entry, unreadable checkpoints.</summary>
public sealed class TeacherCacheTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "rd-teachercache-" + Guid.NewGuid().ToString("N"));

    public TeacherCacheTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static ImageDataset Images(int n, int size)
    {
        var v = new float[n * size * size];
        new Generator(11).FillUniform(v);
        return new ImageDataset("toy", v.Select(x => (byte)(x * 255)).ToArray(), n, 1, size, size);
    }

    static BarlowTwinsOptions Run(int epochs) => new() { Epochs = epochs, Batch = 8, Projector = [16, 16, 16], Seed = 3, WarmupEpochs = 1 };

    static Dictionary<string, byte[]> Tensors(string path) =>
        Safetensors.Read(path).Entries.ToDictionary(e => e.Name, e => e.Data.ToArray());

    [Fact]
    public void AnInterruptedTrainingResumesFromItsCheckpointAndLeavesNone()
    {
        var data = Images(24, 12);
        var encoder = EncoderConfig.Default("convnet", 1, 12);
        string straight = Path.Combine(_dir, "straight.safetensors");
        using (var t = new BarlowTwinsTrainer(encoder, Run(3), data.ComputeNormalization(), data.Count, "toy"))
        {
            t.Train(data);
            t.SaveTeacher(straight);
        }

        string entry = Path.Combine(_dir, "cache", "teacher-toy.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(entry)!);
        using (var t = new BarlowTwinsTrainer(encoder, Run(3), data.ComputeNormalization(), data.Count, "toy"))
            t.Train(data, entry + ".ckpt", stopAfterEpoch: 2);   // killed after epoch 2

        var log = new List<string>();
        Assert.Equal(entry, TeacherCache.GetOrTrain(entry, data, "toy", Run(3), RawDistill.Tensors.Tensor.DefaultBackend, log.Add));
        Assert.Contains(log, l => l.Contains("resuming the interrupted training", StringComparison.Ordinal) && l.Contains("2/3 epochs", StringComparison.Ordinal));
        Assert.False(File.Exists(entry + ".ckpt"));
        var a = Tensors(straight);
        var b = Tensors(entry);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var k in a.Keys) Assert.True(a[k].AsSpan().SequenceEqual(b[k]), $"{k} differs from the uninterrupted run");

        // A second call reuses the entry.
        log.Clear();
        TeacherCache.GetOrTrain(entry, data, "toy", Run(3), RawDistill.Tensors.Tensor.DefaultBackend, log.Add);
        Assert.Contains(log, l => l.Contains("reusing the cached", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUnreadableCheckpointStartsOver()
    {
        var data = Images(16, 12);
        string entry = Path.Combine(_dir, "teacher-bad.safetensors");
        File.WriteAllBytes(entry + ".ckpt", [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var log = new List<string>();
        TeacherCache.GetOrTrain(entry, data, "toy", Run(1), RawDistill.Tensors.Tensor.DefaultBackend, log.Add);
        Assert.Contains(log, l => l.Contains("cannot be read", StringComparison.Ordinal) && l.Contains("starting over", StringComparison.Ordinal));
        Assert.True(File.Exists(entry));
        Assert.False(File.Exists(entry + ".ckpt"));
    }

    [Fact]
    public async Task ASecondTrainerWaitsForTheFirst()
    {
        var data = Images(16, 12);
        string entry = Path.Combine(_dir, "teacher-busy.safetensors");
        var held = FileLock.TryAcquire(entry + ".lock");
        Assert.NotNull(held);
        Assert.Null(FileLock.TryAcquire(entry + ".lock"));
        Assert.Contains($"pid {Environment.ProcessId}", FileLock.Owner(entry + ".lock"));
        var log = new List<string>();
        var waiting = Task.Run(() => TeacherCache.GetOrTrain(entry, data, "toy", Run(1), RawDistill.Tensors.Tensor.DefaultBackend, s => { lock (log) log.Add(s); }));
        for (int i = 0; i < 100 && !log.Any(l => l.StartsWith("waiting for another process", StringComparison.Ordinal)); i++) Thread.Sleep(50);
        lock (log) Assert.Contains(log, l => l.StartsWith("waiting for another process", StringComparison.Ordinal));
        Assert.False(waiting.IsCompleted);
        Assert.False(File.Exists(entry));
        held!.Dispose();
        Assert.Equal(entry, await waiting.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.True(File.Exists(entry));
        Assert.Throws<TimeoutException>(() =>
        {
            using var again = FileLock.TryAcquire(entry + ".lock");
            using var _ = FileLock.Acquire(entry + ".lock", timeout: TimeSpan.FromMilliseconds(200));
        });
    }
}
