namespace RawDistill.Methods.KrrSt;

using RawDistill.Diagnostics.Profiling;
using RawDistill.Tensors;

/// <summary>
/// The KRR-ST outer objective (design page krr-st.md, "One outer step"), from features:
/// <code>
/// F_s ← [F_s, 1]   F_r ← [F_r, 1]                 bias feature: K = F Fᵀ + 1 1ᵀ
/// K_ss ← F_s F_sᵀ (m×m),  K_rs ← F_r F_sᵀ (B×m)
/// λ ← 1e-6 · tr(K_ss)                             a constant: no gradient flows through it
/// α ← (K_ss + λI)⁻¹ Y_s                           Cholesky, in float64
/// L ← mean over B·d of (K_rs α − Y_r)²
/// </code>
/// Gradients reach F_s (hence X_s) and Y_s through the generic autodiff; the closed form
/// in krr-st.md (∂L/∂Y_s = Z = A⁻¹ K_rsᵀ G, G = 2(P − Y_r)/(B·d)) is what it must equal.
/// </summary>
public static class KrrOuterLoss
{
    /// <summary>The ridge as a multiple of tr(K_ss) (the reference's 1e-6).</summary>
    public const double DefaultRidgeScale = 1e-6;

    /// <summary>L for synthetic features F_s [m, p], real features F_r [B, p], targets Y_s [m, d] and Y_r [B, d].</summary>
    /// <param name="fs">F_s [m, p].</param>
    /// <param name="fr">F_r [B, p].</param>
    /// <param name="ys">Y_s [m, d].</param>
    /// <param name="yr">Y_r [B, d].</param>
    /// <param name="ridgeScale">λ as a multiple of tr(K_ss).</param>
    /// <param name="phases">When given, receives the phases "gram" (K_ss, K_rs) and "solve" (α, prediction, loss).</param>
    public static Tensor Compute(Tensor fs, Tensor fr, Tensor ys, Tensor yr, double ridgeScale = DefaultRidgeScale, IPhaseTimer? phases = null)
    {
        if (fs.Rank != 2 || fr.Rank != 2 || fs.Shape[1] != fr.Shape[1])
            throw new ArgumentException($"krr: features must be [m, p] and [B, p], got {fs.Describe()} and {fr.Describe()}");
        if (ys.Rank != 2 || yr.Rank != 2 || ys.Shape[0] != fs.Shape[0] || yr.Shape[0] != fr.Shape[0] || ys.Shape[1] != yr.Shape[1])
            throw new ArgumentException($"krr: targets must be [m, d] and [B, d] matching the features, got {ys.Describe()} and {yr.Describe()}");
        Tensor kss, krs;
        using (PhaseScope.Begin(phases, "gram"))
        {
            var fsb = WithBiasFeature(fs);
            var frb = WithBiasFeature(fr);
            kss = Ops.MatMul(fsb, fsb, transB: true);
            krs = Ops.MatMul(frb, fsb, transB: true);
        }
        using (PhaseScope.Begin(phases, "solve"))
        {
            var alpha = SolveRidge(kss, ys, ridgeScale);
            var p = Ops.MatMul(krs, alpha);
            return Ops.Mse(p, yr);
        }
    }

    /// <summary>
    /// α = (K + λI)⁻¹ Y with λ = ridgeScale·tr(K) held constant, factored and solved in
    /// float64 (K + λI has a condition number up to ~1/ridgeScale: marginal in float32),
    /// then cast back to Y's dtype.
    /// </summary>
    public static Tensor SolveRidge(Tensor k, Tensor y, double ridgeScale = DefaultRidgeScale)
    {
        var k64 = Ops.Cast(k, DType.F64);
        var lambda = Ops.Mul(Ops.Detach(Ops.Trace(k64)), ridgeScale);
        var a = Ops.Add(k64, Ops.Mul(Ops.Eye(k.Shape[0], k64), lambda));
        var l = Ops.Cholesky(a);
        var alpha = Ops.CholeskySolve(Ops.Cast(y, DType.F64), l);
        return Ops.Cast(alpha, y.DType);
    }

    /// <summary>[F, 1]: appends a column of ones.</summary>
    public static Tensor WithBiasFeature(Tensor f)
    {
        var ones = Tensor.Ones([f.Shape[0], 1], f.DType, f.Backend);
        return Ops.Concat([f, ones], 1);
    }
}
