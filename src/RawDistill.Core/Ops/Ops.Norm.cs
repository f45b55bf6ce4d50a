namespace RawDistill;

using RawDistill.Autodiff;
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
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar,
        bool training, double momentum = 0.1, double eps = 1e-5)
    {
        NeedFloat("batch_norm", x);
        if (x.Rank != 2 && x.Rank != 4) throw new ArgumentException($"batch_norm: expected [N, C] or [N, C, H, W], got {x.Describe()}");
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
    /// Group normalization of [N, C, H, W]: statistics per sample over each group of
    /// C/groups channels (groups = C is instance norm), then a per-channel affine.
    /// </summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? gamma, Tensor? beta, double eps = 1e-5)
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
