namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Common;
using RawDistill.Methods.Ssl;
using RawDistill.Random;

/// <summary>The pieces methods share: the distilled-set file, the teacher-target cache.</summary>
public sealed class CommonTests
{
    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rawdistill-common-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    internal static ImageDataset Images(int n, ulong seed = 1, int size = 8, int classes = 2)
    {
        var rng = new Generator(seed);
        var px = new float[n * size * size];
        rng.FillUniform(px);
        return new ImageDataset("toy", px.Select(v => (byte)(v * 255)).ToArray(), n, 1, size, size, Enumerable.Range(0, n).Select(i => i % classes).ToArray(), classes);
    }

    [Fact]
    public void DistilledSetRoundTrips()
    {
        var dir = TempDir();
        try
        {
            var set = new DistilledSet
            {
                X = Enumerable.Range(0, 2 * 16).Select(i => i / 32f).ToArray(),
                Y = [1, 2, 3, 4, 5, 6],
                Method = DistillMethod.Mkdt,
                ConfigJson = "{\"m\":2}",
                TeacherHash = "abc",
                Normalization = new NormalizationStats([0.5], [0.25]),
                Net = new DistilledNet([4, 8], "instance", 1, 4),
                Eta = 0.0123,
                Step = 7,
                Init = "high-loss",
                InitialIndices = [5, 9],
            };
            string path = Path.Combine(dir, "d.safetensors");
            set.Save(path);
            var back = DistilledSet.Load(path);
            Assert.Equal(set.X, back.X);
            Assert.Equal(set.Y, back.Y);
            Assert.Equal(DistillMethod.Mkdt, back.Method);
            Assert.Equal(0.0123, back.Eta);
            Assert.Equal([5, 9], back.InitialIndices);
            Assert.Equal(3, back.FeatureDim);
            Assert.Equal(2, back.Count);
            Assert.Equal([4, 8], back.Net.Widths);

            // Not a distilled set: the error names the file and the format.
            string other = Path.Combine(dir, "o.safetensors");
            Safetensors.Write(other, [SafetensorsEntry.Create("a", [1], new float[] { 1 })]);
            var e = Assert.Throws<InvalidDataException>(() => DistilledSet.Load(other));
            Assert.Contains(DistilledSet.Format, e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TeacherTargetTableReadsRowsFromTheCacheFileAsFromMemory()
    {
        var dir = TempDir();
        try
        {
            string path = SaveToyTeacher(dir);
            using var teacher = Teacher.Load(path);
            var data = Images(12);
            var lines = new List<string>();
            // No cache yet: computed, written, and held in memory.
            var computed = TeacherTargets.Open(teacher, "h", data, log: lines.Add);
            Assert.Contains("computed", lines[^1]);
            // Cached: read by rows from the file.
            var fromFile = TeacherTargets.Open(teacher, "h", data, log: lines.Add);
            Assert.Contains("reusing", lines[^1]);
            int d = teacher.FeatureDim;
            var all = teacher.Embed(data);
            foreach (var table in new[] { computed, fromFile })
            {
                Assert.Equal(12, table.Count);
                Assert.Equal(d, table.Dim);
                Assert.Equal(all, table.All());
                int[] idx = [11, 0, 5, 5];
                Assert.Equal(TeacherTargets.Rows(all, d, idx), table.Rows(idx));
                Assert.Empty(table.Rows([]));
                Assert.Contains("row 12 outside [0, 12)", Assert.Throws<ArgumentOutOfRangeException>(() => table.Rows([12])).Message);
                Assert.Throws<ArgumentOutOfRangeException>(() => table.Rows([-1]));
            }
            Assert.Equal(all, TeacherTargets.Get(teacher, "h", data));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TeacherTargetTableInMemoryChecksItsShape()
    {
        var t = TeacherTargetTable.InMemory([1, 2, 3, 4, 5, 6], 3);
        Assert.Equal(2, t.Count);
        Assert.Equal([4f, 5, 6, 1, 2, 3], t.Rows([1, 0]));
        Assert.Throws<ArgumentException>(() => TeacherTargetTable.InMemory([1, 2, 3, 4], 3));
    }

    [Fact]
    public void TeacherTargetsAreCachedPerTeacherAndDataset()
    {
        var dir = TempDir();
        try
        {
            string path = SaveToyTeacher(dir);
            using var teacher = Teacher.Load(path);
            var data = Images(10);
            var lines = new List<string>();
            var a = TeacherTargets.Get(teacher, "hash1", data, log: lines.Add);
            Assert.Equal(10 * teacher.FeatureDim, a.Length);
            Assert.Equal(teacher.Embed(data), a);
            var b = TeacherTargets.Get(teacher, "hash1", data, log: lines.Add);
            Assert.Equal(a, b);
            Assert.Contains("reusing", lines[^1]);
            // Another teacher hash: recomputed, not taken from the cache.
            TeacherTargets.Get(teacher, "hash2", data, log: lines.Add);
            Assert.Contains("another teacher", lines[^2]);
            // Another dataset: another file.
            TeacherTargets.Get(teacher, "hash2", Images(10, seed: 2), log: lines.Add);
            Assert.DoesNotContain("reusing", lines[^1]);
            Assert.Equal(2, Directory.GetFiles(path + ".targets").Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A small ConvNet teacher saved as dir/teacher.safetensors; returns its path.</summary>
    static string SaveToyTeacher(string dir)
    {
        var enc = EncoderConfig.Default("convnet", 1, 8) with { Widths = [4, 6] };
        string path = Path.Combine(dir, "teacher.safetensors");
        using (var e = enc.Build(new Generator(1))) Teacher.Save(path, e, enc, new NormalizationStats([0.5], [0.3]), "toy");
        return path;
    }
}
