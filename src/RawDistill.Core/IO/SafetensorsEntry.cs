namespace RawDistill.IO;

using System.Runtime.InteropServices;
using RawDistill.Tensors;

/// <summary>
/// One tensor in a safetensors file, as raw bytes: <paramref name="Data"/> holds the elements
/// little-endian and row-major, <c>numel(Shape) * DType.SizeOf()</c> bytes. A scalar has an
/// empty <paramref name="Shape"/> (one element); a shape containing 0 has no bytes.
/// </summary>
/// <param name="Name">Tensor name (the header key); any non-empty string except <c>__metadata__</c>.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Data">Element bytes, little-endian, row-major.</param>
public sealed record SafetensorsEntry(string Name, DType DType, int[] Shape, byte[] Data)
{
    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Shape)
            {
                n = checked(n * d);
            }

            return n;
        }
    }

    /// <summary>An F32 entry holding a copy of <paramref name="values"/>.</summary>
    public static SafetensorsEntry Create(string name, int[] shape, ReadOnlySpan<float> values) => Create(name, DType.F32, shape, values);

    /// <summary>An F64 entry holding a copy of <paramref name="values"/>.</summary>
    public static SafetensorsEntry Create(string name, int[] shape, ReadOnlySpan<double> values) => Create(name, DType.F64, shape, values);

    /// <summary>An I32 entry holding a copy of <paramref name="values"/>.</summary>
    public static SafetensorsEntry Create(string name, int[] shape, ReadOnlySpan<int> values) => Create(name, DType.I32, shape, values);

    /// <summary>A U8 entry holding a copy of <paramref name="values"/>.</summary>
    public static SafetensorsEntry Create(string name, int[] shape, ReadOnlySpan<byte> values) => Create(name, DType.U8, shape, values);

    private static SafetensorsEntry Create<T>(string name, DType dtype, int[] shape, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        // Reinterpreting the elements as bytes yields the little-endian layout the format wants
        // only on a little-endian host (every platform .NET 10 ships for).
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("SafetensorsEntry.Create assumes a little-endian host.");
        }

        return new SafetensorsEntry(name, dtype, [.. shape], MemoryMarshal.AsBytes(values).ToArray());
    }
}
