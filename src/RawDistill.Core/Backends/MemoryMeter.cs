namespace RawDistill.Backends;

/// <summary>
/// Bytes held by live tensor storages of one backend: now, and the most at any moment
/// since the last <see cref="ResetPeak"/>. Counts what tensors asked for (their
/// <c>Storage.Bytes</c>) when they are created and released, not what a caching pool keeps
/// around, so the figure is the same on every backend and comparable with PyTorch's
/// <c>torch.cuda.max_memory_allocated</c> minus its rounding. Backend scratch (im2col
/// columns, GEMM packing, reduction workspaces) is not included.
/// </summary>
public sealed class MemoryMeter
{
    long _live, _peak;

    /// <summary>Bytes held by live storages now.</summary>
    public long LiveBytes => Interlocked.Read(ref _live);

    /// <summary>The most bytes held at once since the last reset (or since start).</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    /// <summary>Starts a new peak window at the current live bytes; returns the old peak.</summary>
    public long ResetPeak() => Interlocked.Exchange(ref _peak, Interlocked.Read(ref _live));

    internal void Allocated(long bytes)
    {
        long now = Interlocked.Add(ref _live, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
    }

    internal void Released(long bytes) => Interlocked.Add(ref _live, -bytes);

    /// <summary>"live 1.2 GiB, peak 3.4 GiB".</summary>
    public override string ToString() => $"live {Format(LiveBytes)}, peak {Format(PeakBytes)}";

    /// <summary>Bytes as B/KiB/MiB/GiB with three significant digits.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (Math.Abs(v) >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? $"{bytes} B" : $"{v:0.##} {units[u]}";
    }
}
