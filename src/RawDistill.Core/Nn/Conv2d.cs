namespace RawDistill.Nn;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>2-D convolution with weight [out, in/groups, k, k] and optional bias [out] (PyTorch's nn.Conv2d).</summary>
public sealed class Conv2d : Module
{
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int groups = 1, bool bias = true, Generator? rng = null)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"conv2d: groups={groups} must divide in={inChannels} and out={outChannels}");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize; Stride = stride; Padding = padding; Groups = groups;
        long fanIn = (long)inChannels / groups * kernelSize * kernelSize;
        RegisterParameter("weight", Init.FanInUniform([outChannels, inChannels / groups, kernelSize, kernelSize], fanIn, rng));
        RegisterParameter("bias", bias ? Init.FanInUniform([outChannels], fanIn, rng) : null);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int Groups { get; }

    /// <summary>The module's own weight.</summary>
    public Tensor Weight => Own("weight")!;

    /// <summary>The module's own bias, when it has one.</summary>
    public Tensor? Bias => Own("bias");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Conv2d(x, Param("weight")!, Param("bias"), Stride, Padding, Groups);
}
