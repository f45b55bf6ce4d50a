namespace RawDistill.Nn.Models;

using RawDistill.Tensors;

/// <summary>
/// An image network split into a feature extractor <see cref="Embed(Tensor)"/> (the representation
/// used by KRR-ST, MKDT and the linear probe) and an optional linear head.
/// <see cref="Module.Forward(Tensor)"/> is head(embed(x)), or embed(x) without a head.
/// </summary>
public abstract class ImageModel : Module
{
    /// <summary>The feature output [N, FeatureDim].</summary>
    public abstract Tensor Embed(Tensor x);

    /// <summary>Size of the feature vector <see cref="Embed(Tensor)"/> returns.</summary>
    public abstract int FeatureDim { get; }

    /// <summary>The linear head (null when the model was built without one).</summary>
    public Linear? Head { get; private set; }

    /// <summary>Registers the head under its PyTorch name (classifier, fc, linear…) when outputs &gt; 0.</summary>
    protected void AddHead(string name, int outputs, Random.Generator? rng)
    {
        if (outputs > 0) Head = RegisterModule(name, new Linear(FeatureDim, outputs, rng: rng));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var f = Embed(x);
        return Head == null ? f : Head.Forward(f);
    }

    /// <summary>Functional <see cref="Embed(Tensor)"/> with parameter overrides (see <see cref="Module.Call{T}"/>).</summary>
    public Tensor Embed(Tensor x, IReadOnlyDictionary<string, Tensor> overrides) => Call(overrides, () => Embed(x));
}

/// <summary>Input geometry shared by the zoo: channels (1 or 3) and square size (28, 32, 64…).</summary>
public readonly record struct ImageShape(int Channels, int Size)
{
    /// <summary>CIFAR: 3×32×32.</summary>
    public static ImageShape Cifar => new(3, 32);

    /// <summary>MNIST family: 1×28×28.</summary>
    public static ImageShape Mnist => new(1, 28);
}
