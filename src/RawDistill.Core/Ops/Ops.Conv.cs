namespace RawDistill;

using RawDistill.Backends;
using RawDistill.Tensors;

// conv2d and its two backward operations, each a differentiable op in its own right.
// All three are bilinear, and their rules are each other (⟨·,·⟩ is the sum of products):
//   ⟨G, conv(x, w)⟩ = ⟨conv_backward_input(G, w), x⟩ = ⟨conv_backward_weight(x, G), w⟩,
// which is what makes Hessian-vector products through convolutions work.
public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as in PyTorch) of x [N, C, H, W] with
    /// w [K, C/groups, R, S] and optional bias [K].
    /// ∂/∂x = conv_backward_input(g, w), ∂/∂w = conv_backward_weight(x, g), ∂/∂b = Σ_{n,p,q} g.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int groups = 1)
        => Conv2d(x, w, bias, (stride, stride), (padding, padding), groups);

    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, (int h, int w) stride, (int h, int w) padding, int groups)
    {
        SameFloat("conv2d", x, w);
        if (x.Rank != 4 || w.Rank != 4) throw new ArgumentException($"conv2d: expected x [N,C,H,W] and w [K,C/groups,R,S], got {x.Describe()} and {w.Describe()}");
        if (w.Shape[1] * groups != x.Shape[1])
            throw new ArgumentException($"conv2d: weight {w.Describe()} with groups={groups} expects {w.Shape[1] * groups} input channels, x has {x.Shape[1]}");
        if (bias != null && (bias.Rank != 1 || bias.Shape[0] != w.Shape[0])) throw new ArgumentException($"conv2d: bias {bias.Describe()} must be [{w.Shape[0]}]");
        var geo = new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w.Shape[0], w.Shape[2], w.Shape[3], stride.h, stride.w, padding.h, padding.w, groups);
        geo.Validate();
        var y = EmptyLike(x, geo.OutputShape);
        x.Backend.Conv2dForward(geo, x.Storage, w.Storage, bias?.Storage, y.Storage);
        Tensor[] inputs = bias == null ? [x, w] : [x, w, bias];
        return Record(y, "conv2d", inputs, (g, need) =>
        {
            var gx = need[0] ? Conv2dBackwardInput(g, w, geo) : null;
            var gw = need[1] ? Conv2dBackwardWeight(x, g, geo) : null;
            if (bias == null) return [gx, gw];
            return [gx, gw, need[2] ? Sum(g, [0, 2, 3]) : null];
        });
    }

    /// <summary>
    /// The input gradient of conv2d: dx = convᵀ(dy, w). Linear in dy and w:
    /// ∂/∂dy = conv(G, w), ∂/∂w = conv_backward_weight(G, dy).
    /// </summary>
    public static Tensor Conv2dBackwardInput(Tensor dy, Tensor w, Conv2dGeometry geo)
    {
        SameFloat("conv2d_backward_input", dy, w);
        var dx = EmptyLike(dy, geo.InputShape);
        dy.Backend.Conv2dBackwardInput(geo, dy.Storage, w.Storage, dx.Storage);
        return Record(dx, "conv2d_backward_input", [dy, w], (gg, need) => [
            need[0] ? Conv2d(gg, w, null, (geo.StrideH, geo.StrideW), (geo.PadH, geo.PadW), geo.Groups) : null,
            need[1] ? Conv2dBackwardWeight(gg, dy, geo) : null]);
    }

    /// <summary>
    /// The weight gradient of conv2d: dw = Σ_n dy ⋆ x. Linear in x and dy:
    /// ∂/∂x = conv_backward_input(dy, G), ∂/∂dy = conv(x, G).
    /// </summary>
    public static Tensor Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry geo)
    {
        SameFloat("conv2d_backward_weight", x, dy);
        var dw = EmptyLike(x, geo.WeightShape);
        x.Backend.Conv2dBackwardWeight(geo, x.Storage, dy.Storage, dw.Storage);
        return Record(dw, "conv2d_backward_weight", [x, dy], (gg, need) => [
            need[0] ? Conv2dBackwardInput(dy, gg, geo) : null,
            need[1] ? Conv2d(x, gg, null, (geo.StrideH, geo.StrideW), (geo.PadH, geo.PadW), geo.Groups) : null]);
    }
}
