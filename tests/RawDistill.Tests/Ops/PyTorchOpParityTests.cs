namespace RawDistill.Tests.OpParity;

using System.Text.Json;
using RawDistill.Autodiff;
using RawDistill.IO;
using RawDistill.Tensors;
using O = RawDistill.Ops;

/// <summary>
/// Forward values and gradients of single ops against golden numbers written by PyTorch
/// 1.13 (tests/pytorch/make_fixtures.py; key conventions in tests/pytorch/README.md).
/// Each case feeds the stored upstream gradient grad_out and compares every stored
/// grad_&lt;input&gt;. f64 cases must agree to 1e-10 of the tensor's largest magnitude.
/// </summary>
[Trait("Category", "PyTorchParity")]
public sealed class PyTorchOpParityTests
{
    const double F64Tolerance = 1e-10;
    const double F32Tolerance = 1e-5;

    static SafetensorsFile Fixture(string file) => Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", file));

    static JsonElement Meta(SafetensorsFile f, string @case) => JsonDocument.Parse(f.Metadata[@case]).RootElement;

    static Tensor Leaf(SafetensorsFile f, string key)
    {
        var t = f.ReadTensor(key);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>|actual − expected| ≤ tol·max(1, max|expected|), element by element, with a message naming the key.</summary>
    static void AssertClose(SafetensorsFile f, string key, Tensor actual, double tol)
    {
        var expected = f.ReadTensor(key);
        Assert.True(Shape.Equal(expected.Shape, actual.Shape), $"{key}: shape {Shape.Format(actual.Shape)}, expected {Shape.Format(expected.Shape)}");
        var e = expected.ToDoubles();
        var a = actual.ToDoubles();
        double scale = Math.Max(1, e.Length == 0 ? 0 : e.Max(Math.Abs));
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(a[i] - e[i]) <= tol * scale, $"{key}[{i}]: got {a[i]:R}, PyTorch {e[i]:R} (|diff| {Math.Abs(a[i] - e[i]):E2} > {tol * scale:E2})");
    }

    /// <summary>Compares y, then the gradients of ⟨y, grad_out⟩ with respect to the named inputs.</summary>
    static void Check(SafetensorsFile f, string @case, Tensor y, (string name, Tensor input)[] inputs, double tol = F64Tolerance)
    {
        AssertClose(f, $"{@case}.y", y, tol);
        var gradOut = f.ReadTensor($"{@case}.grad_out");
        var grads = Autograd.Grad([y], inputs.Select(i => i.input).ToArray(), [gradOut]);
        for (int i = 0; i < inputs.Length; i++) AssertClose(f, $"{@case}.grad_{inputs[i].name}", grads[i], tol);
    }

    [Theory]
    [InlineData("conv2d_s1_p1")]
    [InlineData("conv2d_s1_p1_f32")]
    [InlineData("conv2d_s2_p1_g2")]
    [InlineData("conv2d_dw")]
    [InlineData("conv2d_1x1")]
    public void Conv2dMatchesPyTorch(string @case)
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("conv2d.safetensors");
        var m = Meta(f, @case);
        var x = Leaf(f, $"{@case}.x");
        var w = Leaf(f, $"{@case}.w");
        var b = m.GetProperty("bias").GetBoolean() ? Leaf(f, $"{@case}.b") : null;
        var y = O.Conv2d(x, w, b, m.GetProperty("stride").GetInt32(), m.GetProperty("padding").GetInt32(), m.GetProperty("groups").GetInt32());
        var inputs = new List<(string, Tensor)> { ("x", x), ("w", w) };
        if (b != null) inputs.Add(("b", b));
        Check(f, @case, y, [.. inputs], x.DType == DType.F32 ? F32Tolerance : F64Tolerance);
    }

    [Theory]
    [InlineData("bn2d_train", true)]
    [InlineData("bn1d_train", true)]
    [InlineData("bn2d_eval", false)]
    public void BatchNormMatchesPyTorchIncludingRunningStatistics(string @case, bool training)
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("batchnorm.safetensors");
        var x = Leaf(f, $"{@case}.x");
        var w = Leaf(f, $"{@case}.w");
        var b = Leaf(f, $"{@case}.b");
        var runningMean = f.ReadTensor($"{@case}.running_mean_in");
        var runningVar = f.ReadTensor($"{@case}.running_var_in");
        var y = O.BatchNorm(x, w, b, runningMean, runningVar, training, momentum: 0.1, eps: 1e-5);
        Check(f, @case, y, [("x", x), ("w", w), ("b", b)]);
        AssertClose(f, $"{@case}.running_mean_out", runningMean, F64Tolerance);
        AssertClose(f, $"{@case}.running_var_out", runningVar, F64Tolerance);
    }

    [Theory]
    [InlineData("gn_g2", 2)]
    [InlineData("gn_g6", 6)]
    public void GroupNormMatchesPyTorch(string @case, int groups)
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("groupnorm.safetensors");
        var x = Leaf(f, $"{@case}.x");
        var w = Leaf(f, $"{@case}.w");
        var b = Leaf(f, $"{@case}.b");
        Check(f, @case, O.GroupNorm(x, groups, w, b, 1e-5), [("x", x), ("w", w), ("b", b)]);
    }

    [Theory]
    [InlineData("avgpool_k2_s2")]
    [InlineData("avgpool_k3_s2_p1")]
    [InlineData("maxpool_k2_s2")]
    [InlineData("maxpool_k3_s2_p1")]
    [InlineData("global_avgpool")]
    public void PoolingMatchesPyTorch(string @case)
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("pool.safetensors");
        var x = Leaf(f, $"{@case}.x");
        Tensor y = @case switch
        {
            "avgpool_k2_s2" => O.AvgPool2d(x, 2, 2),
            "avgpool_k3_s2_p1" => O.AvgPool2d(x, 3, 2, 1),
            "maxpool_k2_s2" => O.MaxPool2d(x, 2, 2),
            "maxpool_k3_s2_p1" => O.MaxPool2d(x, 3, 2, 1),
            _ => O.Reshape(O.GlobalAvgPool2d(x), x.Shape[0], x.Shape[1], 1, 1),
        };
        Check(f, @case, y, [("x", x)]);
    }

    [Fact]
    public void LossesAndSoftmaxMatchPyTorch()
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("losses.safetensors");

        var x = Leaf(f, "cross_entropy.x");
        Check(f, "cross_entropy", O.CrossEntropy(x, f.ReadTensor("cross_entropy.labels")), [("x", x)]);

        var xs = Leaf(f, "softmax.x");
        Check(f, "softmax", O.Softmax(xs), [("x", xs)]);

        var xl = Leaf(f, "log_softmax.x");
        Check(f, "log_softmax", O.LogSoftmax(xl), [("x", xl)]);

        var xm = Leaf(f, "mse.x");
        var target = Leaf(f, "mse.target");
        Check(f, "mse", O.Mse(xm, target), [("x", xm), ("target", target)]);
    }

    [Fact]
    public void CholeskyMatchesPyTorchsSymmetricGradient()
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("linalg.safetensors");
        var a = Leaf(f, "cholesky.a");
        Check(f, "cholesky", O.Cholesky(a), [("a", a)]);
    }

    [Fact]
    public void CholeskySolveMatchesPyTorchOnTheLowerTriangle()
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("linalg.safetensors");
        var b = Leaf(f, "cholesky_solve.b");
        var l = Leaf(f, "cholesky_solve.l");
        var y = O.CholeskySolve(b, l);
        AssertClose(f, "cholesky_solve.y", y, F64Tolerance);
        var grads = Autograd.Grad([y], [b, l], [f.ReadTensor("cholesky_solve.grad_out")]);
        AssertClose(f, "cholesky_solve.grad_b", grads[0], F64Tolerance);
        // Our solve reads only L's lower triangle, so its gradient is torch's tril(grad_l).
        AssertClose(f, "cholesky_solve.grad_l_tril", grads[1], F64Tolerance);
    }

    [Fact]
    public void SpdSolveThroughCholeskyMatchesPyTorchsSolveOnSymmetricDirections()
    {
        using var scope = TensorScope.Begin();
        var f = Fixture("linalg.safetensors");
        var a = Leaf(f, "solve.a");
        var b = Leaf(f, "solve.b");
        var y = O.CholeskySolve(b, O.Cholesky(a));
        AssertClose(f, "solve.y", y, F64Tolerance);
        var grads = Autograd.Grad([y], [a, b], [f.ReadTensor("solve.grad_out")]);
        AssertClose(f, "solve.grad_b", grads[1], F64Tolerance);
        // torch.linalg.solve returns the full gradient −grad_b·Xᵀ; a factorization of a
        // symmetric matrix can only see symmetric perturbations, so compare the symmetric parts.
        var torchGradA = f.ReadTensor("solve.grad_a");
        var symmetric = O.Mul(O.Add(torchGradA, O.Transpose(torchGradA)), 0.5);
        var e = symmetric.ToDoubles();
        var g = grads[0].ToDoubles();
        double scale = Math.Max(1, e.Max(Math.Abs));
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(g[i] - e[i]) <= F64Tolerance * scale, $"solve.grad_a[{i}]: got {g[i]:R}, sym(PyTorch) {e[i]:R}");
    }
}
