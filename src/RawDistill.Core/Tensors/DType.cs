namespace RawDistill.Tensors;

/// <summary>Element types a tensor can hold.</summary>
public enum DType
{
    /// <summary>32-bit float: the default for images, activations and weights.</summary>
    F32,
    /// <summary>64-bit float: linear algebra (Cholesky) and gradient checks.</summary>
    F64,
    /// <summary>Unsigned byte: raw images.</summary>
    U8,
    /// <summary>32-bit signed integer: indices and labels.</summary>
    I32,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F64 => 8,
        DType.U8 => 1,
        DType.I32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>True for the types gradients flow through.</summary>
    public static bool IsFloat(this DType dtype) => dtype is DType.F32 or DType.F64;

    /// <summary>The safetensors spelling (F32, F64, U8, I32).</summary>
    public static string SafetensorsName(this DType dtype) => dtype.ToString();
}
