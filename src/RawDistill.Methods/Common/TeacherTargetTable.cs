namespace RawDistill.Methods.Common;

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>
/// The teacher's N × d targets of a dataset, read by rows. An evaluation needs only the rows of
/// its baseline subsets (m per seed), so when the targets sit in the <see cref="TeacherTargets"/>
/// cache it reads those rows from the file instead of loading all N × d floats (491 MB for the
/// full Fashion-MNIST at d = 2048); the table also wraps targets already in memory (a distillation
/// that just used them).
/// </summary>
public abstract class TeacherTargetTable
{
    TeacherTargetTable(int count, int dim)
    {
        Count = count;
        Dim = dim;
    }

    /// <summary>N, the number of images.</summary>
    public int Count { get; }

    /// <summary>d, the feature dimension.</summary>
    public int Dim { get; }

    /// <summary>The rows at <paramref name="indices"/>, in that order, m × d row-major.</summary>
    public abstract float[] Rows(ReadOnlySpan<int> indices);

    /// <summary>Every row, N × d (the whole table in memory: k-means and the full-data baseline need it).</summary>
    public abstract float[] All();

    /// <summary>Targets held in memory.</summary>
    public static TeacherTargetTable InMemory(float[] targets, int dim)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        if (targets.Length % dim != 0) throw new ArgumentException($"teacher targets: {targets.Length} values are not rows of {dim}");
        return new Memory(targets, dim);
    }

    /// <summary>
    /// The F32 N × d tensor <paramref name="name"/> of a safetensors file, read by rows when
    /// asked (the file is checked to hold it; its rows are read on each call).
    /// </summary>
    public static TeacherTargetTable FromFile(string path, string name)
    {
        var header = Safetensors.ReadHeader(path);
        if (header.Find(name) is not { DType: DType.F32, Shape: [var n, var d] } t)
            throw new InvalidDataException($"{path}: no F32 N × d tensor named '{name}'");
        return new File(path, name, n, d, t.FileOffset);
    }

    void CheckIndices(ReadOnlySpan<int> indices)
    {
        foreach (int i in indices)
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"teacher targets: row {i} outside [0, {Count})");
    }

    sealed class Memory(float[] targets, int dim) : TeacherTargetTable(targets.Length / dim, dim)
    {
        public override float[] Rows(ReadOnlySpan<int> indices)
        {
            CheckIndices(indices);
            return TeacherTargets.Rows(targets, Dim, indices);
        }

        public override float[] All() => targets;
    }

    sealed class File(string path, string name, int count, int dim, long offset) : TeacherTargetTable(count, dim)
    {
        public override float[] Rows(ReadOnlySpan<int> indices)
        {
            CheckIndices(indices);
            var y = new float[(long)indices.Length * Dim];
            long rowBytes = (long)Dim * sizeof(float);
            using SafeFileHandle handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
            for (int i = 0; i < indices.Length; i++)
            {
                var row = MemoryMarshal.AsBytes(y.AsSpan((int)((long)i * Dim), Dim));
                if (RandomAccess.Read(handle, row, offset + indices[i] * rowBytes) != row.Length)
                    throw new InvalidDataException($"{path}: ends inside row {indices[i]} of the teacher targets (the file changed while in use?)");
            }
            return y;
        }

        public override float[] All() => Safetensors.ReadTensor<float>(path, name);
    }
}
