namespace RawDistill.Tests.Autodiff;

using RawDistill.Backends;
using RawDistill.Tensors;
using static GradCheck;

/// <summary>
/// One gradient-check case: the function of the f64 inputs, a factory for the inputs
/// (fresh tensors each time), and which inputs to differentiate (null = all).
/// </summary>
public sealed record OpCase(Func<Tensor[], Tensor> F, Func<Tensor[]> Inputs, bool[]? Wrt = null);

/// <summary>
/// The table of every differentiable op (and its interesting variants) that the first-
/// and second-order gradient checks iterate over. Inputs stay away from the points where
/// an op is not differentiable (relu/abs at 0, clamp bounds, ties in max and max-pool).
/// </summary>
public static class OpCases
{
    public static readonly IReadOnlyDictionary<string, OpCase> All = Build();

    static Tensor R(int seed, params int[] shape) => Randn(seed, shape);
    static Tensor Pos(int seed, params int[] shape) => Uniform(seed, shape, 0.5, 2.0);
    static Tensor NonZero(int seed, params int[] shape) => AwayFromZero(seed, shape, 0.3, 1.5);
    static Tensor I32(int[] data, params int[] shape) => Tensor.From(data, shape);

    /// <summary>A constant in the dtype of <paramref name="like"/>, so every case also runs in f32.</summary>
    static Tensor Like(Tensor like, double[] data, params int[] shape) => Ops.Cast(Tensor.From(data, shape), like.DType);

    /// <summary>Two tensors whose values are all distinct (no ties between or within them).</summary>
    static (Tensor a, Tensor b) DistinctPair(int seed, int[] shapeA, int[] shapeB)
    {
        int na = (int)Shape.Numel(shapeA), nb = (int)Shape.Numel(shapeB);
        var all = Distinct(seed, [na + nb], 0.07).ToArray<double>();
        return (Tensor.From<double>(all.AsSpan(0, na), shapeA), Tensor.From<double>(all.AsSpan(na, nb), shapeB));
    }

    /// <summary>y = (M + Mᵀ)/2 + n·I: symmetric positive definite for M ~ N(0, 0.5²) and small n.</summary>
    internal static Tensor Spd(Tensor m)
    {
        int n = m.Shape[0];
        return Ops.Add(Ops.Mul(Ops.Add(m, Ops.Transpose(m)), 0.5), Ops.Mul(Ops.Eye(n, m), n));
    }

    /// <summary>L = tril(M) + 3·I: lower triangular, well conditioned, a function of every lower entry of M.</summary>
    internal static Tensor Lower(Tensor m) => Ops.Add(Ops.Tril(m), Ops.Mul(Ops.Eye(m.Shape[0], m), 3.0));

    static Dictionary<string, OpCase> Build()
    {
        var c = new Dictionary<string, OpCase>();
        void Add(string name, Func<Tensor[], Tensor> f, Func<Tensor[]> inputs, bool[]? wrt = null) => c.Add(name, new OpCase(f, inputs, wrt));

        // ---- element-wise unary ----------------------------------------------------------------
        Add("affine", x => Ops.Affine(x[0], 1.7, -0.3), () => [R(1, 3, 4)]);
        Add("neg", x => Ops.Neg(x[0]), () => [R(2, 3, 4)]);
        Add("add_scalar", x => Ops.Add(x[0], 2.5), () => [R(3, 3, 4)]);
        Add("mul_scalar", x => Ops.Mul(x[0], -1.3), () => [R(4, 3, 4)]);
        Add("exp", x => Ops.Exp(x[0]), () => [Randn(5, [3, 4], 0.7)]);
        Add("log", x => Ops.Log(x[0]), () => [Pos(6, 3, 4)]);
        Add("sqrt", x => Ops.Sqrt(x[0]), () => [Pos(7, 3, 4)]);
        Add("rsqrt", x => Ops.Rsqrt(x[0]), () => [Pos(8, 3, 4)]);
        Add("pow_2", x => Ops.Pow(x[0], 2), () => [R(9, 3, 4)]);
        Add("pow_3", x => Ops.Pow(x[0], 3), () => [R(10, 3, 4)]);
        Add("pow_0.5", x => Ops.Pow(x[0], 0.5), () => [Pos(11, 3, 4)]);
        Add("pow_-1.5", x => Ops.Pow(x[0], -1.5), () => [Pos(12, 3, 4)]);
        Add("square", x => Ops.Square(x[0]), () => [R(13, 3, 4)]);
        Add("abs", x => Ops.Abs(x[0]), () => [NonZero(14, 3, 4)]);
        Add("relu", x => Ops.Relu(x[0]), () => [NonZero(15, 3, 4)]);
        Add("sigmoid", x => Ops.Sigmoid(x[0]), () => [R(16, 3, 4)]);
        Add("tanh", x => Ops.Tanh(x[0]), () => [R(17, 3, 4)]);
        Add("clamp", x => Ops.Clamp(x[0], -0.5, 0.5), () => [AwayFrom(18, [4, 5], [-0.5, 0.5], 0.05)]);
        Add("reciprocal", x => Ops.Reciprocal(x[0]), () => [NonZero(19, 3, 4)]);
        Add("operators", x => (x[0] + x[1]) * x[0] - x[1] / (x[0] * x[0] + 1.0) + 2.0 * (-x[1]) - 0.5 / 2.0 * x[0],
            () => [R(20, 3, 4), R(21, 3, 4)]);

        // ---- element-wise binary, with broadcasting -------------------------------------------
        (string name, int[] a, int[] b)[] layouts =
        [
            ("same", [3, 4], [3, 4]),
            ("bcast_234_31", [2, 3, 4], [3, 1]),
            ("bcast_31_234", [3, 1], [2, 3, 4]),
            ("bcast_NCHW_1C11", [2, 3, 4, 4], [1, 3, 1, 1]),
            ("bcast_scalar", [2, 3], []),
            ("bcast_14_31", [1, 4], [3, 1]),
        ];
        int s = 100;
        foreach (var (ln, la, lb) in layouts)
        {
            int sa = s++, sb = s++;
            Add($"add_{ln}", x => Ops.Add(x[0], x[1]), () => [R(sa, la), R(sb, lb)]);
            Add($"sub_{ln}", x => Ops.Sub(x[0], x[1]), () => [R(sa, la), R(sb, lb)]);
            Add($"mul_{ln}", x => Ops.Mul(x[0], x[1]), () => [R(sa, la), R(sb, lb)]);
            Add($"div_{ln}", x => Ops.Div(x[0], x[1]), () => [R(sa, la), NonZero(sb, lb)]);
            Add($"maximum_{ln}", x => Ops.Maximum(x[0], x[1]), () => { var (a, b) = DistinctPair(sa, la, lb); return [a, b]; });
            Add($"minimum_{ln}", x => Ops.Minimum(x[0], x[1]), () => { var (a, b) = DistinctPair(sb, la, lb); return [a, b]; });
        }
        Add("where", x => Ops.Where(Like(x[0], [1.0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1], 3, 4), x[0], x[1]), () => [R(30, 3, 4), R(31, 3, 4)]);
        Add("where_bcast", x => Ops.Where(Like(x[0], [1.0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1], 3, 4), x[0], x[1]), () => [R(32, 3, 4), R(33, 1, 4)]);

        // ---- reductions ----------------------------------------------------------------------
        Add("sum_all", x => Ops.Sum(x[0]), () => [R(40, 2, 3, 4)]);
        Add("sum_last", x => Ops.Sum(x[0], [-1]), () => [R(41, 2, 3, 4)]);
        Add("sum_0_2", x => Ops.Sum(x[0], [0, 2]), () => [R(42, 2, 3, 4)]);
        Add("sum_0_2_keep", x => Ops.Sum(x[0], [0, 2], keepDim: true), () => [R(43, 2, 3, 4)]);
        Add("sum_0_1_keep", x => Ops.Sum(x[0], [0, 1], keepDim: true), () => [R(44, 2, 3, 4)]);
        Add("sum_1_2", x => Ops.Sum(x[0], [2, 1]), () => [R(45, 2, 3, 4)]);
        Add("sum_0_2_3_keep", x => Ops.Sum(x[0], [0, 2, 3], keepDim: true), () => [R(46, 2, 3, 2, 2)]);
        Add("sum_1_3", x => Ops.Sum(x[0], [1, 3]), () => [R(47, 2, 3, 2, 2)]);
        Add("mean_all", x => Ops.Mean(x[0]), () => [R(48, 2, 3, 4)]);
        Add("mean_0_2", x => Ops.Mean(x[0], [0, 2]), () => [R(49, 2, 3, 4)]);
        Add("mean_1_keep", x => Ops.Mean(x[0], [1], keepDim: true), () => [R(50, 2, 3, 4)]);
        Add("mean_0_2_3_keep", x => Ops.Mean(x[0], [0, 2, 3], keepDim: true), () => [R(51, 2, 3, 2, 2)]);
        Add("max_all", x => Ops.Max(x[0]), () => [Distinct(52, [2, 3, 4])]);
        Add("max_1", x => Ops.Max(x[0], [1]), () => [Distinct(53, [2, 3, 4])]);
        Add("max_0_2_keep", x => Ops.Max(x[0], [0, 2], keepDim: true), () => [Distinct(54, [2, 3, 4])]);
        Add("max_last", x => Ops.Max(x[0], [-1]), () => [Distinct(55, [3, 5])]);
        Add("var_all", x => Ops.Var(x[0]), () => [R(56, 3, 4)]);
        Add("var_0_2", x => Ops.Var(x[0], [0, 2]), () => [R(57, 2, 3, 4)]);
        Add("var_1_keep", x => Ops.Var(x[0], [1], keepDim: true), () => [R(58, 2, 3, 4)]);
        Add("sum_to", x => Ops.SumTo(x[0], [3, 1]), () => [R(59, 2, 3, 4)]);
        Add("sum_to_1C11", x => Ops.SumTo(x[0], [1, 3, 1, 1]), () => [R(60, 2, 3, 2, 2)]);
        Add("expand", x => Ops.Expand(x[0], [2, 3, 4]), () => [R(61, 3, 1)]);
        Add("expand_rank", x => Ops.Expand(x[0], [2, 3, 4]), () => [R(62, 4)]);

        // ---- layout and indexing -------------------------------------------------------------
        Add("reshape", x => Ops.Mul(Ops.Reshape(x[0], 6, 4), Ops.Reshape(x[0], 6, 4)), () => [R(70, 2, 3, 4)]);
        Add("reshape_infer", x => Ops.Reshape(x[0], -1, 3), () => [R(71, 2, 3, 2)]);
        Add("flatten", x => Ops.Flatten(x[0]), () => [R(72, 2, 3, 2, 2)]);
        Add("permute", x => Ops.Permute(x[0], 2, 0, 1), () => [R(73, 2, 3, 4)]);
        Add("permute_4d", x => Ops.Permute(x[0], 0, 2, 3, 1), () => [R(74, 2, 3, 2, 2)]);
        Add("transpose", x => Ops.Transpose(x[0]), () => [R(75, 3, 5)]);
        Add("transpose_0_2", x => Ops.Transpose(x[0], 0, 2), () => [R(76, 2, 3, 4)]);
        Add("slice_0", x => Ops.Slice(x[0], 0, 1, 2), () => [R(77, 4, 3)]);
        Add("slice_1", x => Ops.Slice(x[0], 1, 1, 3), () => [R(78, 2, 5, 3)]);
        Add("slice_last", x => Ops.Slice(x[0], -1, 2, 2), () => [R(79, 2, 3, 5)]);
        Add("concat_1", x => Ops.Concat([x[0], x[1], x[2]], 1), () => [R(80, 2, 1, 3), R(81, 2, 3, 3), R(82, 2, 2, 3)]);
        Add("concat_0", x => Ops.Concat([x[0], x[1]], 0), () => [R(83, 2, 3), R(84, 1, 3)]);
        Add("concat_last", x => Ops.Concat([x[0], x[1]], -1), () => [R(85, 2, 2), R(86, 2, 3)]);
        Add("stack", x => Ops.Stack([x[0], x[1], x[0]]), () => [R(87, 2, 3), R(88, 2, 3)]);
        Add("index_select", x => Ops.IndexSelect(x[0], I32([2, 0, 2, 3, 1], 5)), () => [R(89, 4, 3)]);
        Add("index_select_3d", x => Ops.IndexSelect(x[0], I32([1, 1, 0], 3)), () => [R(90, 2, 2, 3)]);
        Add("index_add", x => Ops.IndexAdd(x[0], I32([2, 0, 2, 3, 1], 5), 4), () => [R(91, 5, 3)]);
        Add("gather_flat", x => Ops.GatherFlat(x[0], I32([5, 0, 11, 5, 7, 2], 2, 3)), () => [R(92, 3, 4)]);
        Add("scatter_add_flat", x => Ops.ScatterAddFlat(x[0], I32([5, 0, 11, 5, 7, 2], 2, 3), [3, 4]), () => [R(93, 2, 3)]);
        Add("clone", x => Ops.Mul(Ops.Clone(x[0]), x[0]), () => [R(94, 3, 4)]);

        // ---- matrix products -----------------------------------------------------------------
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            string tag = (ta ? "t" : "n") + (tb ? "t" : "n");
            int[] a2 = ta ? [4, 3] : [3, 4], b2 = tb ? [5, 4] : [4, 5];
            Add($"matmul_{tag}", x => Ops.MatMul(x[0], x[1], ta, tb), () => [R(200, a2), R(201, b2)]);
            Add($"bmm_{tag}", x => Ops.MatMul(x[0], x[1], ta, tb), () => [R(202, [2, .. a2]), R(203, [2, .. b2])]);
            Add($"bmm_3d_2d_{tag}", x => Ops.MatMul(x[0], x[1], ta, tb), () => [R(204, [2, .. a2]), R(205, b2)]);
            Add($"bmm_2d_3d_{tag}", x => Ops.MatMul(x[0], x[1], ta, tb), () => [R(206, a2), R(207, [2, .. b2])]);
        }
        Add("linear", x => Ops.Linear(x[0], x[1], x[2]), () => [R(210, 3, 4), R(211, 5, 4), R(212, 5)]);
        Add("linear_nobias", x => Ops.Linear(x[0], x[1]), () => [R(213, 3, 4), R(214, 5, 4)]);

        // ---- convolution ---------------------------------------------------------------------
        Add("conv_3x3_pad1_bias", x => Ops.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1), () => [R(300, 2, 3, 5, 5), R(301, 4, 3, 3, 3), R(302, 4)]);
        Add("conv_3x3_stride2_pad1_bias", x => Ops.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1), () => [R(303, 2, 3, 6, 6), R(304, 4, 3, 3, 3), R(305, 4)]);
        Add("conv_3x3_stride2_nopad", x => Ops.Conv2d(x[0], x[1], null, stride: 2), () => [R(306, 1, 2, 7, 7), R(307, 3, 2, 3, 3)]);
        Add("conv_groups2_pad1_bias", x => Ops.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1, groups: 2), () => [R(308, 2, 4, 5, 5), R(309, 6, 2, 3, 3), R(310, 6)]);
        Add("conv_depthwise", x => Ops.Conv2d(x[0], x[1], x[2], stride: 1, padding: 1, groups: 3), () => [R(311, 2, 3, 5, 5), R(312, 3, 1, 3, 3), R(313, 3)]);
        Add("conv_depthwise_x2_stride2", x => Ops.Conv2d(x[0], x[1], null, stride: 2, padding: 1, groups: 3), () => [R(314, 1, 3, 6, 6), R(315, 6, 1, 3, 3)]);
        Add("conv_1x1_bias", x => Ops.Conv2d(x[0], x[1], x[2]), () => [R(316, 2, 3, 4, 4), R(317, 5, 3, 1, 1), R(318, 5)]);
        Add("conv_rect_kernel_stride_pad", x => Ops.Conv2d(x[0], x[1], x[2], (2, 1), (1, 0), 1), () => [R(319, 1, 2, 6, 5), R(320, 3, 2, 3, 2), R(321, 3)]);
        var geo = new Conv2dGeometry(2, 3, 6, 6, 4, 3, 3, 2, 2, 1, 1, 1);
        var geoG = new Conv2dGeometry(1, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 2);
        Add("conv_backward_input", x => Ops.Conv2dBackwardInput(x[0], x[1], geo), () => [R(322, geo.OutputShape), R(323, geo.WeightShape)]);
        Add("conv_backward_input_groups", x => Ops.Conv2dBackwardInput(x[0], x[1], geoG), () => [R(324, geoG.OutputShape), R(325, geoG.WeightShape)]);
        Add("conv_backward_weight", x => Ops.Conv2dBackwardWeight(x[0], x[1], geo), () => [R(326, geo.InputShape), R(327, geo.OutputShape)]);
        Add("conv_backward_weight_groups", x => Ops.Conv2dBackwardWeight(x[0], x[1], geoG), () => [R(328, geoG.InputShape), R(329, geoG.OutputShape)]);

        // ---- pooling -------------------------------------------------------------------------
        Add("avg_pool_2", x => Ops.AvgPool2d(x[0], 2), () => [R(400, 2, 3, 4, 4)]);
        Add("avg_pool_3_s2_p1", x => Ops.AvgPool2d(x[0], 3, 2, 1), () => [R(401, 2, 2, 5, 5)]);
        Add("avg_pool_3_s1_p1", x => Ops.AvgPool2d(x[0], 3, 1, 1), () => [R(402, 1, 2, 4, 4)]);
        Add("max_pool_2", x => Ops.MaxPool2d(x[0], 2), () => [Distinct(403, [2, 3, 4, 4])]);
        Add("max_pool_3_s2_p1", x => Ops.MaxPool2d(x[0], 3, 2, 1), () => [Distinct(404, [2, 2, 5, 5])]);
        Add("max_pool_3_s1_overlap", x => Ops.MaxPool2d(x[0], 3, 1), () => [Distinct(405, [1, 2, 5, 5])]);
        Add("global_avg_pool", x => Ops.GlobalAvgPool2d(x[0]), () => [R(406, 2, 3, 3, 3)]);

        // ---- normalization -------------------------------------------------------------------
        Add("batch_norm_train_NC", x => Ops.BatchNorm(x[0], x[1], x[2], null, null, training: true), () => [R(500, 6, 4), R(501, 4), R(502, 4)]);
        Add("batch_norm_train_NCHW", x => Ops.BatchNorm(x[0], x[1], x[2], null, null, training: true), () => [R(503, 3, 2, 3, 3), R(504, 2), R(505, 2)]);
        Add("batch_norm_train_no_affine", x => Ops.BatchNorm(x[0], null, null, null, null, training: true), () => [R(506, 2, 3, 2, 2)]);
        Add("batch_norm_train_running_stats", x => Ops.BatchNorm(x[0], x[1], x[2], Tensor.Zeros([2], x[0].DType), Tensor.Ones([2], x[0].DType), training: true),
            () => [R(507, 4, 2, 2, 2), R(508, 2), R(509, 2)]);
        Add("batch_norm_eval", x => Ops.BatchNorm(x[0], x[1], x[2], Like(x[0], [0.3, -0.2, 0.1], 3), Like(x[0], [0.8, 1.5, 0.6], 3), training: false),
            () => [R(510, 4, 3, 2, 2), R(511, 3), R(512, 3)]);
        Add("group_norm_g2", x => Ops.GroupNorm(x[0], 2, x[1], x[2]), () => [R(513, 2, 4, 3, 3), R(514, 4), R(515, 4)]);
        Add("instance_norm", x => Ops.GroupNorm(x[0], 3, x[1], x[2]), () => [R(516, 2, 3, 3, 3), R(517, 3), R(518, 3)]);
        Add("layer_norm_g1", x => Ops.GroupNorm(x[0], 1, x[1], x[2]), () => [R(519, 2, 3, 2, 2), R(520, 3), R(521, 3)]);
        Add("group_norm_NC_no_affine", x => Ops.GroupNorm(x[0], 3, null, null), () => [R(522, 2, 6)]);

        // ---- softmax and losses --------------------------------------------------------------
        Add("softmax", x => Ops.Softmax(x[0]), () => [R(600, 3, 5)]);
        Add("softmax_3d", x => Ops.Softmax(x[0]), () => [R(601, 2, 3, 4)]);
        Add("log_softmax", x => Ops.LogSoftmax(x[0]), () => [R(602, 3, 5)]);
        Add("log_softmax_3d", x => Ops.LogSoftmax(x[0]), () => [R(603, 2, 3, 4)]);
        Add("cross_entropy", x => Ops.CrossEntropy(x[0], I32([1, 0, 4, 2], 4)), () => [R(604, 4, 5)]);
        Add("mse", x => Ops.Mse(x[0], x[1]), () => [R(605, 3, 4), R(606, 3, 4)]);
        Add("mse_4d", x => Ops.Mse(x[0], x[1]), () => [R(607, 2, 2, 2, 2), R(608, 2, 2, 2, 2)]);

        // ---- linear algebra ------------------------------------------------------------------
        // Cholesky reads only the lower triangle of A, but its rule returns the symmetric
        // gradient ½(G + Gᵀ) (PyTorch's convention). Perturbing a single A[i, j] would
        // measure the one-sided derivative (2G[i, j] below the diagonal, 0 above), which
        // the symmetric rule does not claim to be. Building A = (M + Mᵀ)/2 + n·I from a
        // leaf M makes every perturbation symmetric: a step in M[i, j] moves A[i, j] and
        // A[j, i] by ½ each, so the finite difference sees ½·2G[i, j] = G[i, j], which
        // is exactly what the chain rule gives through (M + Mᵀ)/2.
        Add("cholesky", x => Ops.Cholesky(Spd(x[0])), () => [Randn(700, [4, 4], 0.5)]);
        // Triangular solves read only L's lower triangle and the rule returns tril(·); L =
        // tril(M) + 3·I from a leaf M keeps every perturbation inside the lower triangle
        // (the strict upper part of M gets the exact gradient 0).
        Add("triangular_solve", x => Ops.TriangularSolve(Lower(x[0]), x[1]), () => [Randn(701, [4, 4], 0.5), R(702, 4, 3)]);
        Add("triangular_solve_transpose", x => Ops.TriangularSolve(Lower(x[0]), x[1], transpose: true), () => [Randn(703, [4, 4], 0.5), R(704, 4, 3)]);
        Add("cholesky_solve", x => Ops.CholeskySolve(x[1], Lower(x[0])), () => [Randn(705, [4, 4], 0.5), R(706, 4, 2)]);
        Add("cholesky_then_solve", x => Ops.CholeskySolve(x[1], Ops.Cholesky(Spd(x[0]))), () => [Randn(707, [4, 4], 0.5), R(708, 4, 2)]);
        Add("tril", x => Ops.Tril(x[0]), () => [R(709, 4, 4)]);
        Add("tril_strict", x => Ops.Tril(x[0], -1), () => [R(710, 4, 4)]);
        Add("tril_plus1", x => Ops.Tril(x[0], 1), () => [R(711, 4, 4)]);
        Add("trace", x => Ops.Trace(x[0]), () => [R(712, 4, 4)]);
        Add("trace_of_product", x => Ops.Trace(Ops.MatMul(x[0], x[1])), () => [R(713, 3, 4), R(714, 4, 3)]);
        return c;
    }

    /// <summary>Case names for [MemberData].</summary>
    public static TheoryData<string> Names(Func<string, bool>? where = null)
    {
        var d = new TheoryData<string>();
        foreach (var k in All.Keys)
            if (where == null || where(k)) d.Add(k);
        return d;
    }
}
