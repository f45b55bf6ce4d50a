namespace RawDistill.Tensors;

using RawDistill.Autodiff;

// Operator and method sugar over Ops, so model code reads like the math.
public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);
    public static Tensor operator +(Tensor a, double s) => Ops.Add(a, s);
    public static Tensor operator +(double s, Tensor a) => Ops.Add(a, s);
    public static Tensor operator -(Tensor a, double s) => Ops.Add(a, -s);
    public static Tensor operator -(double s, Tensor a) => Ops.Affine(a, -1, s);
    public static Tensor operator *(Tensor a, double s) => Ops.Mul(a, s);
    public static Tensor operator *(double s, Tensor a) => Ops.Mul(a, s);
    public static Tensor operator /(Tensor a, double s) => Ops.Mul(a, 1.0 / s);

    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);
    public Tensor Flatten(int startAxis = 1) => Ops.Flatten(this, startAxis);
    public Tensor Permute(params int[] perm) => Ops.Permute(this, perm);
    public Tensor Transpose(int a = -2, int b = -1) => Ops.Transpose(this, a, b);
    public Tensor Sum(int[]? axes = null, bool keepDim = false) => Ops.Sum(this, axes, keepDim);
    public Tensor Mean(int[]? axes = null, bool keepDim = false) => Ops.Mean(this, axes, keepDim);
    public Tensor MatMul(Tensor other, bool transA = false, bool transB = false) => Ops.MatMul(this, other, transA, transB);
    public Tensor Cast(DType dtype) => Ops.Cast(this, dtype);
    public Tensor Detach() => Ops.Detach(this);
    public Tensor Clone() => Ops.Clone(this);

    /// <summary>Accumulates ∂this/∂p into p.Grad for every leaf p that requires gradients.</summary>
    public void Backward(Tensor? gradOutput = null, bool createGraph = false) => Autograd.Backward(this, gradOutput, createGraph);
}
