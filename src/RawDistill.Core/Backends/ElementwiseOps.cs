namespace RawDistill.Backends;

/// <summary>
/// Element-wise functions of one input. Scalar parameters travel as <c>a</c>/<c>b</c>
/// in <see cref="IBackend.Unary"/>; the comment on each member says which it reads.
/// </summary>
public enum UnaryOp
{
    /// <summary>y = x · a + b (affine with scalars; covers scale, shift, negate, copy).</summary>
    Affine,
    Exp,
    Log,
    Sqrt,
    /// <summary>y = 1/√x.</summary>
    Rsqrt,
    /// <summary>y = x^a.</summary>
    Pow,
    Abs,
    /// <summary>y = sign(x) ∈ {−1, 0, 1}.</summary>
    Sign,
    Relu,
    /// <summary>y = 1 if x &gt; 0 else 0: the derivative mask of ReLU.</summary>
    Step,
    Sigmoid,
    Tanh,
    /// <summary>y = min(max(x, a), b).</summary>
    Clamp,
    /// <summary>y = 1 if a ≤ x ≤ b else 0: the derivative mask of clamp.</summary>
    InRange,
    /// <summary>y = 1/x.</summary>
    Reciprocal,
}

/// <summary>Element-wise functions of two broadcast inputs.</summary>
public enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    /// <summary>y = 1 if a == b else 0.</summary>
    Equal,
    /// <summary>y = 1 if a &gt; b else 0.</summary>
    Greater,
    /// <summary>y = 1 if a ≥ b else 0.</summary>
    GreaterEqual,
}

/// <summary>Reductions over one axis of an [outer, reduce, inner] view.</summary>
public enum ReduceOp
{
    Sum,
    Max,
    Min,
}
