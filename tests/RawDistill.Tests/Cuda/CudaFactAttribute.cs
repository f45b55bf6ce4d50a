namespace RawDistill.Tests.Cuda;

using RawDistill.Cuda;

/// <summary>
/// A fact that needs a CUDA device. xunit 2 has no dynamic skip, so the attribute probes
/// once per process and sets Skip to "no CUDA device: &lt;reason&gt;" when none opens.
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (CudaTestDevice.Backend is null) Skip = "no CUDA device: " + CudaTestDevice.WhyNot.Split('\n')[0];
    }
}

/// <summary>The one CUDA backend the device tests share (device 0), opened on first use.</summary>
public static class CudaTestDevice
{
    static readonly Lazy<(CudaBackend? Backend, string WhyNot)> Device = new(() =>
        CudaBackend.TryCreate(0, out var b, out var why) ? (b, "") : (null, why));

    public static CudaBackend? Backend => Device.Value.Backend;

    public static string WhyNot => Device.Value.WhyNot;
}

/// <summary>Device tests run one at a time: they share one backend, stream and cuBLAS handle.</summary>
[CollectionDefinition("cuda device", DisableParallelization = true)]
public sealed class CudaDeviceCollection;
