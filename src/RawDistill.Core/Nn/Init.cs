namespace RawDistill.Nn;

using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// PyTorch's default initializations, drawn from our seeded <see cref="Generator"/>.
/// Conv and linear weights use <c>kaiming_uniform_(a=√5)</c>: gain = √(2/(1+a²)) = √(1/3),
/// bound = gain·√3/√fan_in = 1/√fan_in; biases use uniform(−1/√fan_in, 1/√fan_in).
/// </summary>
public static class Init
{
    /// <summary>The generator layers draw from when none is given (seed 0). Set it to seed a whole model.</summary>
    [ThreadStatic] static Generator? _default;

    /// <summary>The per-thread default generator for layer initialization.</summary>
    public static Generator Default
    {
        get => _default ??= new Generator(0);
        set => _default = value;
    }

    /// <summary>uniform(−1/√fan_in, 1/√fan_in): both kaiming_uniform_(a=√5) and the default bias.</summary>
    public static Tensor FanInUniform(int[] shape, long fanIn, Generator? rng = null)
    {
        double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        return Tensor.Uniform(shape, -bound, bound, rng ?? Default);
    }

    /// <summary>kaiming_normal_(mode=fan_out, nonlinearity=relu): N(0, 2/fan_out), as torchvision's ResNet/VGG use.</summary>
    public static Tensor KaimingNormalFanOut(int[] shape, long fanOut, Generator? rng = null) =>
        Tensor.Normal(shape, 0, Math.Sqrt(2.0 / fanOut), rng ?? Default);
}
