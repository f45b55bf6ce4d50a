namespace RawDistill.Nn.Models;

using RawDistill.Random;

/// <summary>
/// The SSL projector: [Linear-BatchNorm1d-ReLU] for each hidden width, then a last Linear
/// (Barlow Twins: 2048-2048-2048 at CIFAR scale, no biases). Keys as nn.Sequential:
/// <c>0.weight</c>, <c>1.running_mean</c>, …
/// </summary>
public sealed class MlpProjector : Sequential
{
    /// <param name="inputDim">Encoder feature size.</param>
    /// <param name="dims">Output width of each Linear; all but the last are followed by BN and ReLU.</param>
    /// <param name="bias">Whether the Linear layers have biases (the Barlow Twins reference uses none).</param>
    /// <param name="rng">Initialization stream.</param>
    public MlpProjector(int inputDim, int[] dims, bool bias = false, Generator? rng = null)
    {
        if (dims.Length == 0) throw new ArgumentException("projector needs at least one layer");
        int d = inputDim;
        for (int i = 0; i < dims.Length; i++)
        {
            Add(new Linear(d, dims[i], bias, rng));
            if (i < dims.Length - 1)
            {
                Add(new BatchNorm1d(dims[i]));
                Add(new ReLU());
            }
            d = dims[i];
        }
        OutputDim = d;
    }

    /// <summary>Width of the projection.</summary>
    public int OutputDim { get; }
}
