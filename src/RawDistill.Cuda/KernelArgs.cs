namespace RawDistill.Cuda;

using System.Runtime.CompilerServices;

/// <summary>
/// The parameter block of one cuLaunchKernel call, built on the caller's stack: each
/// argument's bytes sit at an 8-byte aligned offset, and the launcher passes the driver
/// an array of pointers to them (kernelParams). Values must match the kernel's parameter
/// types exactly (the C# type of each Add is the CUDA type: long = long long, int = int,
/// double = double, ulong = a device pointer or u64, and descriptor structs by value).
/// </summary>
internal unsafe struct KernelArgs
{
    const int Capacity = 1024, MaxArgs = 24;
    fixed byte _data[Capacity];
    fixed int _offsets[MaxArgs];
    int _count, _used;

    public readonly int Count => _count;

    public void Add<T>(T value) where T : unmanaged
    {
        if (_count == MaxArgs || _used + sizeof(T) > Capacity) throw new InvalidOperationException("too many kernel arguments");
        fixed (byte* d = _data) Unsafe.WriteUnaligned(d + _used, value);
        _offsets[_count++] = _used;
        _used += (sizeof(T) + 7) & ~7;
    }

    /// <summary>Fills ptrs[i] with the address of argument i; data must be this struct's pinned buffer.</summary>
    public readonly void Pointers(byte* data, void** ptrs)
    {
        for (int i = 0; i < _count; i++) ptrs[i] = data + _offsets[i];
    }

    public static byte* Data(ref KernelArgs args)
    {
        // KernelArgs lives on the caller's stack (never boxed), so its address is stable.
        return (byte*)Unsafe.AsPointer(ref args._data[0]);
    }
}
