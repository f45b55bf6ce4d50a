namespace RawDistill.Tests.Autodiff;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;
using static GradCheck;

/// <summary>
/// Second-order checks: Hessian-vector products obtained by differentiating a
/// <c>createGraph: true</c> gradient, against finite differences of that gradient
/// (<see cref="GradCheck.GradGradCheck"/>), for the ops MKDT unrolls, for every op of
/// the first-order table composed with a square, and for two unrolled SGD steps on a
/// tiny conv net, differentiated with respect to the training inputs and the step size.
/// </summary>
[Trait("Category", "SecondOrder")]
public class SecondOrderTests
{
    static Tensor R(int seed, params int[] shape) => Randn(seed, shape);

    /// <summary>
    /// The ops MKDT unrolls. Bilinear and nonlinear ops are checked as they are; ops that
    /// are linear or piecewise linear in their input (relu, pools) have a zero Hessian on
    /// their own, so they are multiplied by a second input or squared: the check then
    /// exercises the part of their backward rule that depends on the incoming gradient,
    /// which is what carries Hessian-vector products through an unrolled network.
    /// </summary>
    static readonly Dictionary<string, OpCase> Mkdt = new()
    {
        ["conv2d_pad1_bias"] = new(x => Ops.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1), () => [R(1, 2, 3, 5, 5), R(2, 4, 3, 3, 3), R(3, 4)]),
        ["conv2d_stride2_groups2"] = new(x => Ops.Conv2d(x[0], x[1], null, stride: 2, padding: 1, groups: 2), () => [R(4, 2, 4, 6, 6), R(5, 4, 2, 3, 3)]),
        ["conv2d_depthwise"] = new(x => Ops.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1, groups: 3), () => [R(6, 1, 3, 5, 5), R(7, 3, 1, 3, 3), R(8, 3)]),
        ["conv2d_1x1"] = new(x => Ops.Conv2d(x[0], x[1]), () => [R(9, 2, 3, 3, 3), R(10, 4, 3, 1, 1)]),
        ["conv2d_squared"] = new(x => Ops.Square(Ops.Conv2d(x[0], x[1], null, stride: 2, padding: 1)), () => [R(11, 1, 2, 5, 5), R(12, 3, 2, 3, 3)]),
        ["conv_backward_input"] = new(x => Ops.Conv2dBackwardInput(x[0], x[1], new Conv2dGeometry(2, 3, 6, 6, 4, 3, 3, 2, 2, 1, 1, 1)), () => [R(13, 2, 4, 3, 3), R(14, 4, 3, 3, 3)]),
        ["conv_backward_weight"] = new(x => Ops.Conv2dBackwardWeight(x[0], x[1], new Conv2dGeometry(2, 3, 6, 6, 4, 3, 3, 2, 2, 1, 1, 1)), () => [R(15, 2, 3, 6, 6), R(16, 2, 4, 3, 3)]),
        ["linear"] = new(x => Ops.Linear(x[0], x[1], x[2]), () => [R(20, 3, 4), R(21, 5, 4), R(22, 5)]),
        ["linear_squared"] = new(x => Ops.Square(Ops.Linear(x[0], x[1], x[2])), () => [R(23, 3, 4), R(24, 2, 4), R(25, 2)]),
        ["matmul_nn"] = new(x => Ops.MatMul(x[0], x[1]), () => [R(26, 3, 4), R(27, 4, 2)]),
        ["matmul_nt"] = new(x => Ops.MatMul(x[0], x[1], false, true), () => [R(28, 3, 4), R(29, 2, 4)]),
        ["matmul_tn"] = new(x => Ops.MatMul(x[0], x[1], true, false), () => [R(30, 4, 3), R(31, 4, 2)]),
        ["matmul_tt"] = new(x => Ops.MatMul(x[0], x[1], true, true), () => [R(32, 4, 3), R(33, 2, 4)]),
        ["bmm_3d_2d"] = new(x => Ops.MatMul(x[0], x[1], false, true), () => [R(34, 2, 3, 4), R(35, 2, 4)]),
        ["batch_norm_train_NC"] = new(x => Ops.BatchNorm(x[0], x[1], x[2], null, null, training: true), () => [R(40, 5, 3), R(41, 3), R(42, 3)]),
        ["batch_norm_train_NCHW"] = new(x => Ops.BatchNorm(x[0], x[1], x[2], null, null, training: true), () => [R(43, 3, 2, 2, 2), R(44, 2), R(45, 2)]),
        ["batch_norm_eval"] = new(x => Ops.Square(Ops.BatchNorm(x[0], x[1], x[2], Tensor.From([0.3, -0.2], 2), Tensor.From([0.8, 1.5], 2), training: false)),
            () => [R(46, 3, 2, 2, 2), R(47, 2), R(48, 2)]),
        ["group_norm_g2"] = new(x => Ops.GroupNorm(x[0], 2, x[1], x[2]), () => [R(50, 2, 4, 2, 2), R(51, 4), R(52, 4)]),
        ["instance_norm"] = new(x => Ops.GroupNorm(x[0], 3, x[1], x[2]), () => [R(53, 2, 3, 2, 2), R(54, 3), R(55, 3)]),
        ["relu_times_w"] = new(x => Ops.Mul(Ops.Relu(x[0]), x[1]), () => [AwayFromZero(60, [3, 4]), R(61, 3, 4)]),
        ["relu_squared"] = new(x => Ops.Square(Ops.Relu(x[0])), () => [AwayFromZero(62, [3, 4])]),
        ["relu_of_conv"] = new(x => Ops.Square(Ops.Relu(Ops.Conv2d(x[0], x[1], null, stride: 1, padding: 1))), () => [R(63, 1, 2, 4, 4), R(64, 2, 2, 3, 3)]),
        ["avg_pool_squared"] = new(x => Ops.Square(Ops.AvgPool2d(x[0], 3, 2, 1)), () => [R(70, 2, 2, 5, 5)]),
        ["avg_pool_times_w"] = new(x => Ops.Mul(Ops.AvgPool2d(x[0], 2), x[1]), () => [R(71, 1, 2, 4, 4), R(72, 1, 2, 2, 2)]),
        ["max_pool_squared"] = new(x => Ops.Square(Ops.MaxPool2d(x[0], 3, 2, 1)), () => [Distinct(73, [2, 2, 5, 5])]),
        ["max_pool_times_w"] = new(x => Ops.Mul(Ops.MaxPool2d(x[0], 2), x[1]), () => [Distinct(74, [1, 2, 4, 4]), R(75, 1, 2, 2, 2)]),
        ["global_avg_pool_squared"] = new(x => Ops.Square(Ops.GlobalAvgPool2d(x[0])), () => [R(76, 2, 3, 2, 2)]),
        ["mse"] = new(x => Ops.Mse(x[0], x[1]), () => [R(80, 3, 4), R(81, 3, 4)]),
        ["softmax"] = new(x => Ops.Softmax(x[0]), () => [R(82, 3, 5)]),
        ["log_softmax"] = new(x => Ops.LogSoftmax(x[0]), () => [R(83, 3, 5)]),
        ["softmax_3d"] = new(x => Ops.Softmax(x[0]), () => [R(84, 2, 2, 4)]),
        ["cross_entropy"] = new(x => Ops.CrossEntropy(x[0], Tensor.From([2, 0, 1], 3)), () => [R(85, 3, 4)]),
    };

    public static TheoryData<string> MkdtCases
    {
        get
        {
            var d = new TheoryData<string>();
            foreach (var k in Mkdt.Keys) d.Add(k);
            return d;
        }
    }

    [Theory]
    [MemberData(nameof(MkdtCases))]
    public void HessianVectorProductMatchesFiniteDifferences(string op)
    {
        var c = Mkdt[op];
        GradGradCheck(op, c.F, c.Inputs(), c.Wrt);
    }

    public static TheoryData<string> AllOps => OpCases.Names();

    /// <summary>
    /// Every op of the first-order table, cubed: f(x)³ has a non-zero Hessian
    /// (6f·JᵀJ + 3f²·∇²f) for every op with a non-zero Jacobian, even linear and
    /// piecewise-linear ones, and checking it runs each backward rule with an incoming
    /// gradient that depends on the inputs (under createGraph). A cube rather than a
    /// square because √x² = x would make sqrt's check vacuous.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllOps))]
    public void EveryOpCubedHasCorrectSecondOrder(string op)
    {
        var c = OpCases.All[op];
        GradGradCheck(op + "³", x =>
        {
            var y = c.F(x);
            return Ops.Mul(Ops.Mul(y, y), y);
        }, c.Inputs(), c.Wrt);
    }

    // ---- two-step unrolled SGD on a tiny conv net (the MKDT inner loop) -------------------

    const int N = 3, Cin = 2, Hw = 6, Cout = 4, Outputs = 2;
    static readonly int[] WShape = [Cout, Cin, 3, 3], BShape = [Cout], LShape = [Outputs, Cout * 4 * 4];

    static readonly double[] W0 = Randn(900, WShape, 0.3).ToArray<double>();
    static readonly double[] B0 = Randn(901, BShape, 0.1).ToArray<double>();
    static readonly double[] L0 = Randn(902, LShape, 0.2).ToArray<double>();
    static readonly double[] Yv = Randn(903, [N, Outputs]).ToArray<double>();
    static readonly double[][] Targets = [Randn(904, WShape, 0.3).ToArray<double>(), Randn(905, BShape, 0.1).ToArray<double>(), Randn(906, LShape, 0.2).ToArray<double>()];

    /// <summary>loss(θ, X, Y) = MSE(linear(flatten(relu(conv(X, W) + b)), L), Y).</summary>
    static Tensor Loss(Tensor[] theta, Tensor x, Tensor y) =>
        Ops.Mse(Ops.Linear(Ops.Flatten(Ops.Relu(Ops.Conv2d(x, theta[0], theta[1]))), theta[2]), y);

    /// <summary>
    /// θ₁ = θ₀ − η∇θ loss(θ₀, X, Y), θ₂ = θ₁ − η∇θ loss(θ₁, X, Y) (both gradients with
    /// createGraph, as MKDT does), outer = Σ‖θ₂ − θ_target‖². θ₂ depends on X only
    /// through the two gradients, so ∂outer/∂X is made entirely of second-order terms.
    /// <paramref name="w0"/> replaces the initial conv weight when given.
    /// </summary>
    static Tensor Unrolled(Tensor x, Tensor eta, Tensor? w0 = null)
    {
        var w = w0 ?? Tensor.From<double>(W0, WShape);
        if (!w.RequiresGrad)
        {
            // θ₀ must take gradients for the inner steps even when the check does not
            // differentiate with respect to it (its finite-difference evaluations).
            w = Ops.Detach(w);
            w.RequiresGrad = true;
        }
        var b = Tensor.From<double>(B0, BShape);
        var l = Tensor.From<double>(L0, LShape);
        b.RequiresGrad = true;
        l.RequiresGrad = true;
        var y = Tensor.From<double>(Yv, [N, Outputs]);
        Tensor[] theta = [w, b, l];
        // The inner gradients need a graph only when something will be differentiated
        // through them: the analytic pass. The finite-difference evaluations (no input
        // requires gradients) take the plain path, which must give the same values.
        bool createGraph = x.RequiresGrad || eta.RequiresGrad || (w0?.RequiresGrad ?? false);
        for (int step = 0; step < 2; step++)
        {
            var g = Autograd.Grad([Loss(theta, x, y)], theta, createGraph: createGraph);
            theta = theta.Select((p, i) => Ops.Sub(p, Ops.Mul(g[i], eta))).ToArray();
        }
        Tensor? outer = null;
        for (int i = 0; i < 3; i++)
        {
            var d = Ops.Sub(theta[i], Tensor.From<double>(Targets[i], theta[i].Shape));
            var term = Ops.Sum(Ops.Mul(d, d));
            outer = outer == null ? term : Ops.Add(outer, term);
        }
        return outer!;
    }

    static Tensor Inputs() => Randn(907, [N, Cin, Hw, Hw]);

    [Fact]
    public void UnrolledSgdGradientWrtInputsAndStepSize()
    {
        Check("unrolled_sgd(X, η)", xs => Unrolled(xs[0], xs[1]), [Inputs(), Tensor.Scalar(0.5, DType.F64)]);
    }

    [Fact]
    public void UnrolledSgdGradientWrtInitialWeights()
    {
        Check("unrolled_sgd(X, W₀)", xs => Unrolled(xs[0], Tensor.Scalar(0.5, DType.F64), xs[1]), [Inputs(), Tensor.From<double>(W0, WShape)]);
    }

    /// <summary>
    /// The same two unrolled steps through the layers of the ConvNet students MKDT trains:
    /// conv → norm (instance / batch, with affine parameters in θ) → relu → pool (avg / max)
    /// → linear. θ = {conv w, conv b, γ, β, linear w}.
    /// </summary>
    [Theory]
    [InlineData("instance", "avg")]
    [InlineData("batch", "avg")]
    [InlineData("batch", "max")]
    [InlineData("none", "max")]
    public void UnrolledSgdThroughConvNetLayers(string norm, string pool)
    {
        const int n = 2, cin = 2, hw = 6, cout = 3, outputs = 2;
        double[] w0 = Randn(910, [cout, cin, 3, 3], 0.4).ToArray<double>(), b0 = Randn(911, [cout], 0.1).ToArray<double>();
        double[] g0 = Uniform(912, [cout], 0.8, 1.2).ToArray<double>(), be0 = Randn(913, [cout], 0.1).ToArray<double>();
        double[] l0 = Randn(914, [outputs, cout * 3 * 3], 0.3).ToArray<double>(), yv = Randn(915, [n, outputs]).ToArray<double>();
        int[][] shapes = [[cout, cin, 3, 3], [cout], [cout], [cout], [outputs, cout * 9]];
        double[][] init = [w0, b0, g0, be0, l0];
        var targets = shapes.Select((sh, i) => Randn(920 + i, sh, 0.3).ToArray<double>()).ToArray();

        Tensor Forward(Tensor[] th, Tensor x)
        {
            var h = Ops.Conv2d(x, th[0], th[1], stride: 1, padding: 1);                 // [n, cout, 6, 6]
            h = norm switch
            {
                "instance" => Ops.GroupNorm(h, cout, th[2], th[3]),
                "batch" => Ops.BatchNorm(h, th[2], th[3], null, null, training: true),
                _ => Ops.Add(Ops.Mul(h, Ops.Reshape(th[2], 1, cout, 1, 1)), Ops.Reshape(th[3], 1, cout, 1, 1)),
            };
            h = Ops.Relu(h);
            h = pool == "avg" ? Ops.AvgPool2d(h, 2) : Ops.MaxPool2d(h, 2);             // [n, cout, 3, 3]
            return Ops.Linear(Ops.Flatten(h), th[4]);
        }

        Tensor Outer(Tensor[] xs)
        {
            var x = xs[0];
            var y = Tensor.From<double>(yv, [n, outputs]);
            var theta = init.Select((v, i) =>
            {
                var t = Tensor.From<double>(v, shapes[i]);
                t.RequiresGrad = true;
                return t;
            }).ToArray();
            for (int step = 0; step < 2; step++)
            {
                var g = Autograd.Grad([Ops.Mse(Forward(theta, x), y)], theta, createGraph: x.RequiresGrad);
                theta = theta.Select((p, i) => Ops.Sub(p, Ops.Mul(g[i], 0.3))).ToArray();
            }
            Tensor? outer = null;
            for (int i = 0; i < theta.Length; i++)
            {
                var d = Ops.Sub(theta[i], Tensor.From<double>(targets[i], shapes[i]));
                var term = Ops.Sum(Ops.Mul(d, d));
                outer = outer == null ? term : Ops.Add(outer, term);
            }
            return outer!;
        }

        // Max-pool inputs must stay clear of ties, and relu inputs clear of 0: random
        // normal inputs give both with probability ~1, and the seed is fixed.
        Check($"unrolled_sgd[{norm}, {pool}](X)", Outer, [Randn(930, [n, cin, hw, hw])]);
    }

    [Fact]
    public void UnrolledSgdSecondOrderTermsAreNotNegligible()
    {
        // Guard against a test that passes because the quantities are tiny: the
        // gradient with respect to X must be of order one.
        using var scope = TensorScope.Begin();
        var x = Inputs();
        x.RequiresGrad = true;
        var eta = Tensor.Scalar(0.5, DType.F64);
        var gx = Autograd.Grad([Unrolled(x, eta)], [x])[0].ToArray<double>();
        double norm = Math.Sqrt(gx.Sum(v => v * v));
        Assert.True(norm > 1e-2, $"‖∂outer/∂X‖ = {norm}: too small for the check to mean anything");
    }
}
