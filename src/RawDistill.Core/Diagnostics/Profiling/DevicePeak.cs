namespace RawDistill.Diagnostics.Profiling;

/// <summary>
/// A device's theoretical peaks, derived from what the driver reports (never invented: any
/// missing or zero input makes the derived figure null, printed as "peak unknown").
/// <code>
/// memory bandwidth [B/s] = 2 (double data rate) · memory clock [Hz] · bus width [bits] / 8
/// FP32 [FLOP/s]          = SMs · FP32 lanes per SM · 2 (an FMA is two FLOPs) · SM clock [Hz]
/// FP64 [FLOP/s]          = SMs · FP64 lanes per SM · 2 · SM clock [Hz]
/// </code>
/// Lanes per SM are not a driver attribute: they come from <see cref="LanesPerSm"/>'s table
/// by compute capability (NVIDIA's CUDA programming guide, "Arithmetic Instructions"); an
/// architecture outside the table has an unknown compute peak. Clocks are the driver's
/// (boost) figures; CUDA 13 may report 0 or refuse them, which is handled as unknown.
/// Tensor-core peaks are not used: RawDistill runs FP32 GEMMs without TF32 by default.
/// </summary>
/// <param name="Name">Device name.</param>
/// <param name="Major">Compute capability major (0 = unknown).</param>
/// <param name="Minor">Compute capability minor.</param>
/// <param name="SmCount">CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT.</param>
/// <param name="ClockKHz">CU_DEVICE_ATTRIBUTE_CLOCK_RATE (kHz).</param>
/// <param name="MemoryClockKHz">CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE (kHz).</param>
/// <param name="BusWidthBits">CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH (bits).</param>
/// <param name="L2Bytes">CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE (bytes).</param>
public sealed record DevicePeak(string Name, int Major, int Minor, int? SmCount, int? ClockKHz, int? MemoryClockKHz, int? BusWidthBits, long? L2Bytes)
{
    /// <summary>The formulas above, as printed next to every result.</summary>
    public const string Formula =
        "bandwidth = 2 x memory clock x bus width / 8; FP32 (FP64) = SMs x FP32 (FP64) lanes/SM x 2 x SM clock";

    /// <summary>(FP32, FP64) lanes per SM for a compute capability, or null when not in the table.</summary>
    public static (int Fp32, int Fp64)? LanesPerSm(int major, int minor) => (major, minor) switch
    {
        (6, 0) => (64, 32),
        (7, 0) => (64, 32),
        (7, 5) => (64, 2),
        (8, 0) => (64, 32),
        (8, 6) or (8, 9) => (128, 2),
        (9, 0) => (128, 64),
        _ => null,
    };

    static int? Known(int? v) => v is > 0 ? v : null;

    /// <summary>Peak DRAM bandwidth in GB/s (10⁹ bytes), or null.</summary>
    public double? BandwidthGBs => Known(MemoryClockKHz) is { } mem && Known(BusWidthBits) is { } bus
        ? 2.0 * mem * 1e3 * bus / 8 / 1e9 : null;

    /// <summary>Peak FP32 rate in TFLOP/s, or null.</summary>
    public double? Fp32Tflops => Compute(l => l.Fp32);

    /// <summary>Peak FP64 rate in TFLOP/s, or null.</summary>
    public double? Fp64Tflops => Compute(l => l.Fp64);

    double? Compute(Func<(int Fp32, int Fp64), int> lanes) =>
        Known(SmCount) is { } sms && Known(ClockKHz) is { } clk && LanesPerSm(Major, Minor) is { } l
            ? sms * (double)lanes(l) * 2 * clk * 1e3 / 1e12 : null;

    /// <summary>One line: the inputs and the derived peaks ("unknown" where an input is missing).</summary>
    public string Describe()
    {
        static string Or(double? v, string unit) => v is { } x ? $"{x:F1} {unit}" : "peak unknown";
        static string I(int? v, string unit) => v is > 0 ? $"{v} {unit}" : "unreported";
        return $"{Name} (sm_{Major}{Minor}): {I(SmCount, "SMs")}, SM clock {I(ClockKHz, "kHz")}, memory clock {I(MemoryClockKHz, "kHz")}, " +
               $"bus {I(BusWidthBits, "bits")}, L2 {(L2Bytes is > 0 ? $"{L2Bytes / 1024} KiB" : "unreported")} -> " +
               $"bandwidth {Or(BandwidthGBs, "GB/s")}, FP32 {Or(Fp32Tflops, "TFLOP/s")}, FP64 {Or(Fp64Tflops, "TFLOP/s")}";
    }
}
