namespace RawDistill;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;

// Normalization layers, composed from differentiable ops so their gradients (and the
// gradients of those gradients) come from the rules of the pieces:
//   x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β,
// with μ, σ² (biased) taken over the batch (batch norm) or over each group (group norm).
public static partial class Ops
{
    /// <summary>
    /// Batch normalization of [N, C] or [N, C, H, W] over every axis but C.
    /// Training: batch statistics, and (when running stats are given) in-place update
    /// running ← (1 − momentum)·running + momentum·stat, with the unbiased variance.
    /// Evaluation: the running statistics.
    /// <para>
    /// Training mode is the fused group norm on the channel-major view: x [N, C, S] permuted
    /// to [1, C, N·S] is one "sample" whose C groups are exactly batch norm's statistics sets,
    /// so it shares group norm's primitives, its saved statistics and its exact derivatives
    /// of every order (the permutes are linear). The composite form is
    /// <see cref="BatchNormComposite"/>.
    /// </para>
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar,
        bool training, double momentum = 0.1, double eps = 1e-5)
    {
        NeedFloat("batch_norm", x);
        if (x.Rank != 2 && x.Rank != 4) throw new ArgumentException($"batch_norm: expected [N, C] or [N, C, H, W], got {x.Describe()}");
        if (!training) return BatchNormComposite(x, gamma, beta, runningMean, runningVar, training, momentum, eps);
        int n = x.Shape[0], c = x.Shape[1];
        long spatial = x.Numel / Math.Max(1, (long)n * c);
        if ((long)n * spatial <= 1) throw new ArgumentException($"batch_norm: training needs more than one value per channel, got {x.Describe()}");
        var channelMajor = Reshape(Permute(Reshape(x, n, c, (int)spatial), 1, 0, 2), 1, c, checked(n * (int)spatial));
        var y = GroupNormCore(channelMajor, c, gamma, beta, eps, out var mean, out var rstd);
        if (runningMean != null && runningVar != null)
        {
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            long count = n * spatial;
            // biased σ² = 1/rstd² − ε; the running variance takes the unbiased one.
            var variance = Affine(Reciprocal(Mul(rstd, rstd)), 1, -eps);
            runningMean.AxpbyInPlace(1 - momentum, mean, momentum);
            runningVar.AxpbyInPlace(1 - momentum, variance, momentum * count / (count - 1));
        }
        return Reshape(Permute(Reshape(y, c, n, (int)spatial), 1, 0, 2), x.Shape);
    }

    /// <summary>Batch normalization composed of differentiable primitives (the reference; evaluation mode uses it).</summary>
    internal static Tensor BatchNormComposite(Tensor x, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar,
        bool training, double momentum = 0.1, double eps = 1e-5)
    {
        int c = x.Shape[1];
        int[] axes = x.Rank == 4 ? [0, 2, 3] : [0];
        int[] statShape = x.Rank == 4 ? [1, c, 1, 1] : [1, c];
        Tensor xhat;
        if (training)
        {
            long n = x.Numel / c;
            if (n <= 1) throw new ArgumentException($"batch_norm: training needs more than one value per channel, got {x.Describe()}");
            var mean = Mean(x, axes, keepDim: true);
            var centered = Sub(x, mean);
            var variance = Mean(Mul(centered, centered), axes, keepDim: true);
            xhat = Mul(centered, Rsqrt(Add(variance, eps)));
            if (runningMean != null && runningVar != null)
            {
                using var _ = GradMode.NoGrad();
                using var m = Reshape(Detach(mean), c);
                using var v = Reshape(Detach(variance), c);
                runningMean.AxpbyInPlace(1 - momentum, m, momentum);
                runningVar.AxpbyInPlace(1 - momentum, v, momentum * n / (n - 1));
            }
        }
        else
        {
            if (runningMean == null || runningVar == null) throw new ArgumentException("batch_norm: evaluation mode needs running statistics");
            var mean = Reshape(runningMean, statShape);
            var invStd = Rsqrt(Add(Reshape(runningVar, statShape), eps));
            xhat = Mul(Sub(x, mean), invStd);
        }
        return Affine(xhat, gamma, beta, statShape);
    }

    /// <summary>
    /// Group normalization of [N, C, ...]: statistics per sample over each group of
    /// C/groups channels (groups = C is instance norm), then a per-channel affine.
    /// One backend primitive forward, which keeps only the per-group mean and reciprocal
    /// standard deviation besides its input (the composite form records about five
    /// full-size tensors). Backward:
    ///   ∂/∂x = rstd·(g·γ − mean(g·γ) − x̂·mean(g·γ·x̂)),  ∂/∂γ = Σ g·x̂,  ∂/∂β = Σ g
    /// (means over each group, sums over samples and space), by the backend primitive when
    /// no graph is built; under createGraph ∂/∂x and ∂/∂γ are fused ops whose own gradients
    /// are those of the composite form (<see cref="GroupNormComposite"/>), so every order is exact.
    /// </summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? gamma, Tensor? beta, double eps = 1e-5) =>
        GroupNormCore(x, groups, gamma, beta, eps, out _, out _);

    /// <summary>Group norm that also hands out its per-group mean and rstd [N·G] (batch norm's running statistics come from them).</summary>
    static Tensor GroupNormCore(Tensor x, int groups, Tensor? gamma, Tensor? beta, double eps, out Tensor mean, out Tensor rstd)
    {
        NeedFloat("group_norm", x);
        if (x.Rank < 2) throw new ArgumentException($"group_norm: expected [N, C, ...], got {x.Describe()}");
        int n = x.Shape[0], c = x.Shape[1];
        if (groups <= 0 || c % groups != 0) throw new ArgumentException($"group_norm: {groups} groups do not divide {c} channels");
        foreach (var p in new[] { gamma, beta })
            if (p != null)
            {
                SameFloat("group_norm", x, p);
                if (p.Rank != 1 || p.Shape[0] != c) throw new ArgumentException($"group_norm: affine parameter {p.Describe()} must be [{c}]");
            }
        var geo = new GroupNormGeometry(n, c, x.Numel / Math.Max(1, (long)n * c), groups, eps);
        if (x.Numel == 0) throw new ArgumentException($"group_norm: {x.Describe()} has no elements");
        var y = EmptyLike(x, x.Shape);
        var mu = mean = EmptyLike(x, [geo.Blocks]);
        var rs = rstd = EmptyLike(x, [geo.Blocks]);
        x.Backend.GroupNormForward(geo, x.Storage, gamma?.Storage, beta?.Storage, y.Storage, mu.Storage, rs.Storage);
        Tensor[] inputs = [x, .. gamma == null ? Array.Empty<Tensor>() : [gamma], .. beta == null ? Array.Empty<Tensor>() : [beta]];
        int gi = gamma == null ? -1 : 1, bi = beta == null ? -1 : inputs.Length - 1;
        var paramAxes = Enumerable.Range(0, x.Rank).Where(a => a != 1).ToArray();
        return Record(y, "group_norm", inputs, (g, need) =>
        {
            var r = new Tensor?[inputs.Length];
            bool wantX = need[0], wantG = gi >= 0 && need[gi], wantB = bi >= 0 && need[bi];
            if (!GradMode.IsEnabled)
            {
                // First order only: the primitive, from the saved statistics.
                var dx = wantX ? EmptyLike(x, x.Shape) : null;
                var dg = wantG ? EmptyLike(x, [c]) : null;
                var db = wantB ? EmptyLike(x, [c]) : null;
                x.Backend.GroupNormBackward(geo, g.Storage, x.Storage, gamma?.Storage, mu.Storage, rs.Storage, dx?.Storage, dg?.Storage, db?.Storage);
                r[0] = dx;
                if (wantG) r[gi] = dg;
                if (wantB) r[bi] = db;
                return r;
            }
            if (wantX)
            {
                // Its own gradient (second order): the double-backward primitive without a graph,
                // the composite form's when a graph is built (third order and beyond).
                Tensor?[] DoubleBackward(Tensor u, GradMask n) => GroupNormDoubleBackwardPrimitive(geo, u, g, x, gamma, mu, rs, n);
                r[0] = gamma == null
                    ? Autodiff.Checkpoint.Fused("group_norm_backward_input", a => GroupNormBackwardPrimitive(geo, a[0], a[1], null, mu, rs, dx: true),
                        a => GroupNormInputGradComposite(a[0], a[1], null, groups, eps), DoubleBackward, g, x)
                    : Autodiff.Checkpoint.Fused("group_norm_backward_input", a => GroupNormBackwardPrimitive(geo, a[0], a[1], a[2], mu, rs, dx: true),
                        a => GroupNormInputGradComposite(a[0], a[1], a[2], groups, eps), DoubleBackward, g, x, gamma);
            }
            if (wantG)
                r[gi] = Autodiff.Checkpoint.Fused("group_norm_backward_weight", a => GroupNormBackwardPrimitive(geo, a[0], a[1], null, mu, rs, dx: false),
                    a => Sum(Mul(a[0], GroupNormComposite(a[1], groups, null, null, eps)), paramAxes), g, x);
            if (wantB) r[bi] = Sum(g, paramAxes);
            return r;
        });
    }

    /// <summary>dx (dx: true) or dγ (dx: false) of group norm by the backend primitive, from the forward's statistics of x.</summary>
    static Tensor GroupNormBackwardPrimitive(GroupNormGeometry geo, Tensor g, Tensor x, Tensor? gamma, Tensor mean, Tensor rstd, bool dx)
    {
        var result = EmptyLike(x, dx ? x.Shape : [geo.C]);
        x.Backend.GroupNormBackward(geo, g.Storage, x.Storage, gamma?.Storage, mean.Storage, rstd.Storage,
            dx ? result.Storage : null, dx ? null : result.Storage, null);
        return result;
    }

    /// <summary>
    /// The gradients of ∂/∂x of group norm (inputs g, x and γ when present) for its output
    /// gradient u, by the backend primitive (no graph is built on this path).
    /// </summary>
    static Tensor?[] GroupNormDoubleBackwardPrimitive(GroupNormGeometry geo, Tensor u, Tensor g, Tensor x, Tensor? gamma, Tensor mean, Tensor rstd, GradMask need)
    {
        var ddy = need[0] ? EmptyLike(x, x.Shape) : null;
        var dx = need[1] ? EmptyLike(x, x.Shape) : null;
        var dgamma = gamma != null && need[2] ? EmptyLike(x, [geo.C]) : null;
        x.Backend.GroupNormDoubleBackward(geo, u.Storage, g.Storage, x.Storage, gamma?.Storage, mean.Storage, rstd.Storage, ddy?.Storage, dx?.Storage, dgamma?.Storage);
        return gamma == null ? [ddy, dx] : [ddy, dx, dgamma];
    }

    /// <summary>
    /// ∂⟨g, GroupNorm(x)⟩/∂x written with differentiable ops (the composite forward
    /// differentiated with createGraph), so its own derivatives in g, x and γ are exact.
    /// </summary>
    static Tensor GroupNormInputGradComposite(Tensor g, Tensor x, Tensor? gamma, int groups, double eps)
    {
        var xl = x;
        if (!x.RequiresGrad)
        {
            xl = Detach(x);
            xl.RequiresGrad = true;
        }
        using (GradMode.Set(true))
            return Autograd.Grad([GroupNormComposite(xl, groups, gamma, null, eps)], [xl], [g], createGraph: true)[0];
    }

    /// <summary>Group normalization composed of differentiable primitives (the reference and the rules' second-order form).</summary>
    internal static Tensor GroupNormComposite(Tensor x, int groups, Tensor? gamma, Tensor? beta, double eps = 1e-5)
    {
        NeedFloat("group_norm", x);
        if (x.Rank < 2) throw new ArgumentException($"group_norm: expected [N, C, ...], got {x.Describe()}");
        int n = x.Shape[0], c = x.Shape[1];
        if (groups <= 0 || c % groups != 0) throw new ArgumentException($"group_norm: {groups} groups do not divide {c} channels");
        var grouped = Reshape(x, n, groups, -1);
        var mean = Mean(grouped, [2], keepDim: true);
        var centered = Sub(grouped, mean);
        var variance = Mean(Mul(centered, centered), [2], keepDim: true);
        var xhat = Reshape(Mul(centered, Rsqrt(Add(variance, eps))), x.Shape);
        var statShape = new int[x.Rank];
        Array.Fill(statShape, 1);
        statShape[1] = c;
        return Affine(xhat, gamma, beta, statShape);
    }

    /// <summary>y = γ·x̂ + β with γ, β per channel (either may be absent).</summary>
    static Tensor Affine(Tensor xhat, Tensor? gamma, Tensor? beta, int[] statShape)
    {
        var y = xhat;
        if (gamma != null) y = Mul(y, Reshape(gamma, statShape));
        if (beta != null) y = Add(y, Reshape(beta, statShape));
        return y;
    }
}
