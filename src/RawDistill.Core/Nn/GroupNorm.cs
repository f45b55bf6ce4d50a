namespace RawDistill.Nn;

using RawDistill.Tensors;

/// <summary>
/// nn.GroupNorm: per-sample statistics over groups of channels, per-channel affine.
/// Instance norm (as the dataset-distillation ConvNet uses it) is groups = channels.
/// </summary>
public sealed class GroupNorm : Module
{
    public GroupNorm(int groups, int channels, double eps = 1e-5, bool affine = true)
    {
        if (groups <= 0 || channels % groups != 0) throw new ArgumentException($"group_norm: {groups} groups do not divide {channels} channels");
        Groups = groups; Channels = channels; Eps = eps;
        RegisterParameter("weight", affine ? Tensor.Ones([channels]) : null);
        RegisterParameter("bias", affine ? Tensor.Zeros([channels]) : null);
    }

    /// <summary>Instance normalization with an affine transform: GroupNorm(channels, channels).</summary>
    public static GroupNorm Instance(int channels, double eps = 1e-5) => new(channels, channels, eps);

    public int Groups { get; }
    public int Channels { get; }
    public double Eps { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.GroupNorm(x, Groups, Param("weight"), Param("bias"), Eps);
}
