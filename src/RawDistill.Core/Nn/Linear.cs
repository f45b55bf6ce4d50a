namespace RawDistill.Nn;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>y = x·Wᵀ + b with W [out, in] (PyTorch's nn.Linear).</summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? rng = null)
    {
        InFeatures = inFeatures; OutFeatures = outFeatures;
        RegisterParameter("weight", Init.FanInUniform([outFeatures, inFeatures], inFeatures, rng));
        RegisterParameter("bias", bias ? Init.FanInUniform([outFeatures], inFeatures, rng) : null);
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>The module's own weight.</summary>
    public Tensor Weight => Own("weight")!;

    /// <summary>The module's own bias, when it has one.</summary>
    public Tensor? Bias => Own("bias");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Linear(x, Param("weight")!, Param("bias"));
}
