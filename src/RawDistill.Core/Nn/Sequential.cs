namespace RawDistill.Nn;

using RawDistill.Tensors;

/// <summary>nn.Sequential: children named "0", "1", … applied in order.</summary>
public class Sequential : Module
{
    readonly List<Module> _layers = [];

    public Sequential(params Module[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    /// <summary>Appends a layer (named by its index).</summary>
    public Sequential Add(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The i-th layer.</summary>
    public Module this[int i] => _layers[i];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        foreach (var l in _layers) x = l.Forward(x);
        return x;
    }
}
