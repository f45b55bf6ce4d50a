namespace RawDistill.Cuda;

using RawDistill.Backends;
using RawDistill.Tensors;

// Philox 4x32-10 draws (kernels/random.cu; the stream is defined there and in
// RawDistill.Random.Philox, and both backends produce the same bits for uniforms).
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Random(RandomDistribution distribution, Storage y, long count, ulong seed, ulong counter)
    {
        var sfx = FloatSuffix(y.DType, "random");
        ulong py = Ptr(y, 0, count);
        var a = new KernelArgs();
        a.Add(py); a.Add(count); a.Add(seed); a.Add(counter); a.Add(distribution == RandomDistribution.Normal ? 1 : 0);
        Launch1D("random.cu", "philox_" + sfx, (count + 3) / 4, ref a);
    }
}
