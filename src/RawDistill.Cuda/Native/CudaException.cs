namespace RawDistill.Cuda.Native;

/// <summary>
/// A failed CUDA driver, NVRTC or cuBLAS call. The message names the call (as written in
/// the source), the library's error name and its description.
/// </summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception for a failed call.</summary>
    public CudaException(string message) : base(message) { }

    /// <summary>Creates the exception for a failed call with an inner cause.</summary>
    public CudaException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The numeric status the library returned (0 when not from a status code).</summary>
    public int Code { get; init; }
}
