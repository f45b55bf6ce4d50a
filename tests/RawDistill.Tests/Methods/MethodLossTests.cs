namespace RawDistill.Tests.Methods;

using RawDistill.Autodiff;
using RawDistill.IO;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Tensors;

/// <summary>The KRR-ST outer loss and the Barlow Twins loss against PyTorch and against the closed forms of the design pages.</summary>
public sealed class MethodLossTests
{
    static SafetensorsFile Fixture() => Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "methods.safetensors"));

    static Tensor Leaf(SafetensorsFile f, string key)
    {
        var t = f.ReadTensor(key);
        t.RequiresGrad = true;
        return t;
    }

    static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale, $"{what}[{i}]: got {actual[i]:R}, expected {expected[i]:R}");
    }

    [Fact]
    [Trait("Category", "PyTorchParity")]
    public void KrrOuterLossAndItsGradientsMatchPyTorch()
    {
        using var scope = TensorScope.Begin();
        var f = Fixture();
        var fs = Leaf(f, "krr.fs");
        var ys = Leaf(f, "krr.ys");
        var loss = KrrOuterLoss.Compute(fs, f.ReadTensor("krr.fr"), ys, f.ReadTensor("krr.yr"));
        AssertClose(f.GetF64("krr.y"), loss.ToDoubles(), 1e-9, "loss");
        var grads = Autograd.Grad([loss], [fs, ys], [f.ReadTensor("krr.grad_out")]);
        AssertClose(f.GetF64("krr.grad_fs"), grads[0].ToDoubles(), 1e-8, "∂L/∂F_s");
        AssertClose(f.GetF64("krr.grad_ys"), grads[1].ToDoubles(), 1e-8, "∂L/∂Y_s");
    }

    [Fact]
    [Trait("Category", "GradCheck")]
    public void KrrGradientEqualsTheClosedFormOfTheDesignPage()
    {
        // krr-st.md: A = K_ss + λI, α = A⁻¹Y_s, P = K_rs α, G = 2(P − Y_r)/(B·d),
        // Z = A⁻¹(K_rsᵀ G);  ∂L/∂Y_s = Z  and  ∂L/∂F_s = (G αᵀ)ᵀ F_r − (Z αᵀ + α Zᵀ) F_s
        // (with the bias-augmented features).
        using var scope = TensorScope.Begin();
        var f = Fixture();
        var fs = Leaf(f, "krr.fs");
        var ys = Leaf(f, "krr.ys");
        var fr = f.ReadTensor("krr.fr");
        var yr = f.ReadTensor("krr.yr");
        var loss = KrrOuterLoss.Compute(fs, fr, ys, yr);
        var grads = Autograd.Grad([loss], [fs, ys]);

        using var _ = GradMode.NoGrad();
        var fsb = KrrOuterLoss.WithBiasFeature(fs);
        var frb = KrrOuterLoss.WithBiasFeature(fr);
        var kss = Ops.MatMul(fsb, fsb, transB: true);
        var krs = Ops.MatMul(frb, fsb, transB: true);
        var a = Ops.Add(kss, Ops.Mul(Ops.Eye(kss.Shape[0], kss), 1e-6 * Ops.Trace(kss).Item()));
        var l = Ops.Cholesky(a);
        var alpha = Ops.CholeskySolve(ys, l);
        var p = Ops.MatMul(krs, alpha);
        var g = Ops.Mul(Ops.Sub(p, yr), 2.0 / yr.Numel);
        var z = Ops.CholeskySolve(Ops.MatMul(krs, g, transA: true), l);
        AssertClose(z.ToDoubles(), grads[1].ToDoubles(), 1e-9, "∂L/∂Y_s vs Z");
        var gFsb = Ops.Sub(Ops.MatMul(Ops.MatMul(g, alpha, transB: true), frb, transA: true),
            Ops.MatMul(Ops.Add(Ops.MatMul(z, alpha, transB: true), Ops.MatMul(alpha, z, transB: true)), fsb));
        AssertClose(Ops.Slice(gFsb, 1, 0, fs.Shape[1]).ToDoubles(), grads[0].ToDoubles(), 1e-9, "∂L/∂F_s vs closed form");
    }

    [Fact]
    [Trait("Category", "PyTorchParity")]
    public void BarlowTwinsLossAndItsGradientsMatchPyTorch()
    {
        using var scope = TensorScope.Begin();
        var f = Fixture();
        var z1 = Leaf(f, "barlow_twins.z1");
        var z2 = Leaf(f, "barlow_twins.z2");
        var loss = BarlowTwinsLoss.Compute(z1, z2, 5e-3);
        AssertClose(f.GetF64("barlow_twins.y"), loss.ToDoubles(), 1e-10, "loss");
        var grads = Autograd.Grad([loss], [z1, z2], [f.ReadTensor("barlow_twins.grad_out")]);
        AssertClose(f.GetF64("barlow_twins.grad_z1"), grads[0].ToDoubles(), 1e-9, "∂L/∂z1");
        AssertClose(f.GetF64("barlow_twins.grad_z2"), grads[1].ToDoubles(), 1e-9, "∂L/∂z2");
    }

    [Fact]
    public void KrrRejectsMismatchedShapesWithAClearMessage()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<ArgumentException>(() => KrrOuterLoss.Compute(Tensor.Zeros([4, 3]), Tensor.Zeros([5, 2]), Tensor.Zeros([4, 2]), Tensor.Zeros([5, 2])));
        Assert.Contains("features", e.Message);
    }
}

/// <summary>Trace is used for the KRR ridge; its gradient is the identity.</summary>
public sealed class TraceTests
{
    [Fact]
    [Trait("Category", "GradCheck")]
    public void TraceGradientIsTheIdentity()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 3, 3);
        a.RequiresGrad = true;
        var t = Ops.Trace(a);
        Assert.Equal(15, t.Item());
        var g = Autograd.Grad([t], [a])[0];
        Assert.Equal(new double[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, g.ToDoubles());
    }
}
