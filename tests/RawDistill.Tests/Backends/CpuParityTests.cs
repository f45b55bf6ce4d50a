namespace RawDistill.Tests.Backends;

using RawDistill.Backends.Cpu;
using RawDistill.Diagnostics;
using RawDistill.Tensors;

/// <summary>
/// The selftest's parity suite on the CPU: the f32 path against the f64 reference. (The
/// same cases run against CUDA in the CUDA test class and in `rawdistill selftest`.)
/// </summary>
[Trait("Category", "BackendParity")]
public sealed class CpuParityTests
{
    public static TheoryData<string> CaseNames()
    {
        var d = new TheoryData<string>();
        foreach (var c in ParitySuite.Cases) d.Add(c.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Float32AgreesWithFloat64(string name)
    {
        var c = ParitySuite.Cases.Single(x => x.Name == name);
        var r = ParitySuite.Run(c, CpuBackend.Instance, CpuBackend.Instance, DType.F32);
        Assert.True(r.Passed, $"{r.Name}: {r.Worst} max rel error {r.MaxRelError:E2} (tolerance {ParitySuite.Tolerance(DType.F32):E0}) {r.Error}");
        Assert.True(r.MaxRelError > 0, $"{r.Name}: f32 and f64 agree exactly, so the check did not run in f32");
    }

    [Fact]
    public void NonOpChecksPassAndPhiloxUniformsAreBitIdentical()
    {
        var results = BackendChecks.Run(CpuBackend.Instance, CpuBackend.Instance, DType.F32, 0).ToList();
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Name}: {r.MaxRelError:E2} {r.Error}"));
        Assert.Equal(0, results.Single(r => r.Name == "philox uniform").MaxAbsError);
    }

    [Fact]
    public void AugmentChecksRunOnTheCpuAndAgreeExactly()
    {
        // CPU against CPU: every check runs end to end (no exception) and the kernels are deterministic.
        foreach (var check in AugmentChecks.Cases)
        {
            var r = AugmentChecks.Run(check, CpuBackend.Instance, CpuBackend.Instance, 3);
            Assert.True(r.Passed && r.Error is null, $"{r.Name}: {r.Error}");
            Assert.Equal(0, r.MaxAbsError);
        }
    }

    [Fact]
    public void AugmentComparisonRejectsWhatItsToleranceDoesNot()
    {
        float one = 0.75f, next = MathF.BitIncrement(one);
        Assert.True(AugmentChecks.Judge("same", [one, 0f], [one, 0f], 0).Passed);
        Assert.False(AugmentChecks.Judge("one ulp, exact check", [one], [next], 0).Passed);
        Assert.True(AugmentChecks.Judge("one ulp, mean-order check", [one], [next], AugmentChecks.MeanOrderTolerance).Passed);
        var far = AugmentChecks.Judge("2e-6 off", [0f, one], [0f, one + 2e-6f], AugmentChecks.MeanOrderTolerance);
        Assert.False(far.Passed);
        Assert.Equal("value 1", far.Worst);
        Assert.False(AugmentChecks.Judge("NaN", [one], [float.NaN], 1).Passed);
        Assert.False(AugmentChecks.Judge("length", [one, one], [one], 1).Passed);
    }

    [Fact]
    public void ABrokenBackendResultIsReported()
    {
        // The comparison must be able to fail: a case whose forward differs by dtype.
        var broken = new ParityCase("broken", [[4]], x => x[0].DType == DType.F32 ? Ops.Mul(x[0], 1.01) : x[0]);
        var r = ParitySuite.Run(broken, CpuBackend.Instance, CpuBackend.Instance, DType.F32);
        Assert.False(r.Passed);
    }
}
