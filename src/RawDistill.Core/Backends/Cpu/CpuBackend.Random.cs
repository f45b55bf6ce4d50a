namespace RawDistill.Backends.Cpu;

using RawDistill.Random;
using RawDistill.Tensors;

// Philox draws straight into host memory; the stream definition lives in Random/Philox.cs.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void Random(RandomDistribution distribution, Storage y, long count, ulong seed, ulong counter)
    {
        switch ((y.DType, distribution))
        {
            case (DType.F32, RandomDistribution.Uniform): Philox.FillUniform(new Span<float>(P<float>(y), checked((int)count)), seed, counter); break;
            case (DType.F32, RandomDistribution.Normal): Philox.FillNormal(new Span<float>(P<float>(y), checked((int)count)), seed, counter); break;
            case (DType.F64, RandomDistribution.Uniform): Philox.FillUniform(new Span<double>(P<double>(y), checked((int)count)), seed, counter); break;
            case (DType.F64, RandomDistribution.Normal): Philox.FillNormal(new Span<double>(P<double>(y), checked((int)count)), seed, counter); break;
            default: throw Unsupported($"random {distribution}", y.DType);
        }
    }
}
