namespace RawDistill.Nn.Optim;

using System.Text.Json.Nodes;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// Stochastic gradient descent with PyTorch's semantics, through the backend's fused step:
/// g ← g + wd·p; b ← g on the first step, else μ·b + (1 − dampening)·g;
/// d ← nesterov ? g + μ·b : b; p ← p − lr·d.
/// </summary>
public sealed class Sgd : Optimizer
{
    readonly Tensor?[] _momentum;

    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
        Momentum = momentum; Dampening = dampening; WeightDecay = weightDecay; Nesterov = nesterov;
        _momentum = new Tensor?[Params.Count];
    }

    public double Momentum { get; private set; }
    public double Dampening { get; private set; }
    public double WeightDecay { get; private set; }
    public bool Nesterov { get; private set; }

    /// <inheritdoc/>
    protected override void Update(int index, Tensor param, Tensor grad)
    {
        bool first = false;
        if (Momentum != 0 && _momentum[index] == null)
        {
            _momentum[index] = NewBuffer(param);
            first = true;
        }
        param.Backend.SgdStep(param.Storage, grad.Storage, _momentum[index]?.Storage, param.Numel,
            new SgdStepArgs(LrFor(index), Momentum, Dampening, WeightDecay, Nesterov, first));
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor?[] Buffers)> Buffers() => [("momentum_buffer", _momentum)];

    /// <inheritdoc/>
    protected override void WriteScalars(JsonObject json)
    {
        json["momentum"] = Momentum;
        json["dampening"] = Dampening;
        json["weight_decay"] = WeightDecay;
        json["nesterov"] = Nesterov;
    }

    /// <inheritdoc/>
    protected override void ReadScalars(JsonObject json)
    {
        Momentum = (double)json["momentum"]!;
        Dampening = (double)json["dampening"]!;
        WeightDecay = (double)json["weight_decay"]!;
        Nesterov = (bool)json["nesterov"]!;
    }
}
