namespace RawDistill.Diagnostics.Profiling;

using System.Diagnostics;
using RawDistill.Backends;

/// <summary>Times device work: Start, queue work, Stop returns the elapsed milliseconds of that work.</summary>
public interface IDeviceTimer : IDisposable
{
    /// <summary>Marks the start (a CUDA event recorded on the stream; a clock read on the CPU).</summary>
    void Start();

    /// <summary>Marks the end, waits for the work in between and returns its duration in milliseconds.</summary>
    double Stop();
}

/// <summary>
/// What the kernel profiler (<c>rawdistill bench kernels</c>) needs from a device backend
/// beyond <see cref="IBackend"/>: event timing, an L2 flush, the device's peaks and a launch
/// block-size override. Kept out of <see cref="IBackend"/> so the engine's contract stays
/// small; the CUDA backend implements it, the CPU backend does not need to.
/// </summary>
public interface IProfilingBackend
{
    /// <summary>The device's peaks, from its attributes.</summary>
    DevicePeak Peak { get; }

    /// <summary>A timer on the backend's stream (CUDA events).</summary>
    IDeviceTimer CreateTimer();

    /// <summary>Evicts cached data: writes a buffer at least twice the L2 size (queued on the stream). Returns the bytes written.</summary>
    long FlushL2();

    /// <summary>
    /// Threads per block for the launchers' own kernels (element-wise, reductions, softmax,
    /// im2col, Philox, ...); null restores the built-in default. For benchmarking only.
    /// </summary>
    int? BlockSizeOverride { get; set; }

    /// <summary>The block sizes <see cref="BlockSizeOverride"/> accepts.</summary>
    IReadOnlyList<int> BlockSizes { get; }
}

/// <summary>Timers for any backend: the backend's own when it is an <see cref="IProfilingBackend"/>, else a stopwatch around a synchronize.</summary>
public static class DeviceTiming
{
    /// <summary>A timer for <paramref name="backend"/>.</summary>
    public static IDeviceTimer CreateTimer(IBackend backend) => backend is IProfilingBackend p ? p.CreateTimer() : new StopwatchTimer(backend);

    sealed class StopwatchTimer(IBackend backend) : IDeviceTimer
    {
        long _start;

        public void Start()
        {
            backend.Synchronize();
            _start = Stopwatch.GetTimestamp();
        }

        public double Stop()
        {
            backend.Synchronize();
            return Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
        }

        public void Dispose() { }
    }
}
