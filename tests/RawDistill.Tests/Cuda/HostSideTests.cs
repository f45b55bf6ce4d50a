namespace RawDistill.Tests.Cuda;

using RawDistill.Backends;
using RawDistill.Backends.Cpu;
using RawDistill.Cuda;
using RawDistill.Diagnostics;
using RawDistill.Tensors;

/// <summary>
/// Checks of the CUDA backend's host-side logic that need no GPU: descriptor layouts that
/// must match the kernels' structs, op codes the kernels switch on, broadcast coalescing,
/// pool rounding, and the Philox reference against Random123's known answers.
/// </summary>
public unsafe class HostSideTests
{
    [Fact]
    public void DescriptorLayoutsMatchTheKernelStructs()
    {
        // kernels/elementwise.cu BroadcastDesc: int rank; int shape[8]; i64 aStrides[8]; i64 bStrides[8]
        var b = new CudaBackend.BroadcastDesc();
        Assert.Equal(168, sizeof(CudaBackend.BroadcastDesc));
        Assert.Equal(4, (int)((byte*)&b.Shape[0] - (byte*)&b));
        Assert.Equal(40, (int)((byte*)&b.AStrides[0] - (byte*)&b));
        Assert.Equal(104, (int)((byte*)&b.BStrides[0] - (byte*)&b));
        // kernels/copy.cu PermuteDesc: int rank; int outShape[8]; i64 srcStrides[8]
        var p = new CudaBackend.PermuteDesc();
        Assert.Equal(104, sizeof(CudaBackend.PermuteDesc));
        Assert.Equal(40, (int)((byte*)&p.SrcStrides[0] - (byte*)&p));
        // kernels/conv.cu ConvDesc and kernels/pool.cu PoolDesc: twelve ints each
        Assert.Equal(48, sizeof(CudaBackend.ConvDesc));
        Assert.Equal(48, sizeof(CudaBackend.PoolDesc));
    }

    [Fact]
    public void OpCodesAreTheOnesTheKernelsSwitchOn()
    {
        // kernels/elementwise.cu unary_apply / binary_apply and kernels/reduce.cu use these numbers.
        UnaryOp[] unary = [UnaryOp.Affine, UnaryOp.Exp, UnaryOp.Log, UnaryOp.Sqrt, UnaryOp.Rsqrt, UnaryOp.Pow, UnaryOp.Abs, UnaryOp.Sign,
            UnaryOp.Relu, UnaryOp.Step, UnaryOp.Sigmoid, UnaryOp.Tanh, UnaryOp.Clamp, UnaryOp.InRange, UnaryOp.Reciprocal];
        Assert.Equal(Enumerable.Range(0, 15), unary.Select(o => (int)o));
        Assert.Equal(15, Enum.GetValues<UnaryOp>().Length);
        BinaryOp[] binary = [BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Max, BinaryOp.Min, BinaryOp.Equal, BinaryOp.Greater, BinaryOp.GreaterEqual];
        Assert.Equal(Enumerable.Range(0, 9), binary.Select(o => (int)o));
        Assert.Equal(9, Enum.GetValues<BinaryOp>().Length);
        Assert.Equal([0, 1, 2], new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min }.Select(o => (int)o));
    }

    [Fact]
    public void BroadcastCoalescingMergesContiguousAxes()
    {
        // [2, 3, 4] + [2, 3, 4]: one axis of 24
        var d = CudaBackend.Coalesce([2, 3, 4], [12, 4, 1], [12, 4, 1]);
        Assert.Equal(1, d.Rank);
        Assert.Equal(24, d.Shape[0]);
        // [2, 3, 4] + bias [4] (strides 0, 0, 1): [6, 4] with b strides [0, 1]
        d = CudaBackend.Coalesce([2, 3, 4], [12, 4, 1], [0, 0, 1]);
        Assert.Equal(2, d.Rank);
        Assert.Equal(6, d.Shape[0]);
        Assert.Equal(4, d.Shape[1]);
        Assert.Equal(4L, d.AStrides[0]);
        Assert.Equal(0L, d.BStrides[0]);
        Assert.Equal(1L, d.BStrides[1]);
        // per-channel [N, C, H, W] + [1, C, 1, 1]
        d = CudaBackend.Coalesce([2, 3, 5, 5], [75, 25, 5, 1], [0, 1, 0, 0]);
        Assert.Equal(3, d.Rank);
        Assert.Equal([2, 3, 25], new[] { d.Shape[0], d.Shape[1], d.Shape[2] });
        Assert.Equal([0L, 1L, 0L], new[] { d.BStrides[0], d.BStrides[1], d.BStrides[2] });
        // scalars and unit axes
        d = CudaBackend.Coalesce([], [], []);
        Assert.Equal(1, d.Rank);
        Assert.Equal(1, d.Shape[0]);
        d = CudaBackend.Coalesce([1, 7, 1], [7, 1, 1], [0, 0, 0]);
        Assert.Equal(1, d.Rank);
        Assert.Equal(7, d.Shape[0]);
    }

    [Fact]
    public void PoolRoundsUpByAtMostAnEighth()
    {
        Assert.Equal(0, DevicePool.RoundUp(0));
        Assert.Equal(512, DevicePool.RoundUp(1));
        Assert.Equal(512, DevicePool.RoundUp(512));
        Assert.Equal(4096 + 512, DevicePool.RoundUp(4097));
        foreach (long n in new long[] { 1000, 65537, 1 << 20, 3_000_001, 1L << 33 })
        {
            long r = DevicePool.RoundUp(n);
            Assert.True(r >= n && r - n <= Math.Max(512, n / 8), $"{n} → {r}");
            Assert.Equal(r, DevicePool.RoundUp(r));
        }
    }

    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void PhiloxReferenceMatchesRandom123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint e0, uint e1, uint e2, uint e3)
    {
        Assert.Equal((e0, e1, e2, e3), PhiloxSpec.Block(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void CpuBackendDrawsTheSpecStream()
    {
        // The CUDA kernel is checked against the same reference on a GPU (CudaDeviceTests).
        var cpu = CpuBackend.Instance;
        const long n = 37;
        ulong seed = 0x0123456789ABCDEFul, counter = (1ul << 32) - 3; // the counter carries into its high word
        var y = cpu.Allocate(DType.F64, n);
        cpu.Random(RandomDistribution.Uniform, y, n, seed, counter);
        Assert.Equal(PhiloxSpec.Uniform(n, seed, counter), PrimitiveParity.Read<double>(cpu, y));
        cpu.Random(RandomDistribution.Normal, y, n, seed, counter);
        var normal = PrimitiveParity.Read<double>(cpu, y);
        var spec = PhiloxSpec.Normal(n, seed, counter);
        for (int i = 0; i < n; i++) Assert.Equal(spec[i], normal[i], 1e-12);
    }
}
