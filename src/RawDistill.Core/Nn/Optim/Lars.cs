namespace RawDistill.Nn.Optim;

using System.Text.Json.Nodes;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// LARS as in the Barlow Twins reference (facebookresearch/barlowtwins): for tensors not
/// excluded, d ← g + wd·p and d ← d·q with the trust ratio q = η·‖p‖/‖d‖ (1 when either
/// norm is 0); excluded tensors (by default those of rank 1: biases and norm parameters)
/// get neither weight decay nor adaptation. Then μ ← m·μ + d; p ← p − lr·μ (the fused SGD
/// step with dampening 0).
/// </summary>
public sealed class Lars : Optimizer
{
    readonly Tensor?[] _mu;
    readonly bool[] _excluded;

    /// <param name="parameters">Tensors to optimize.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="weightDecay">Weight decay (not applied to excluded tensors).</param>
    /// <param name="momentum">Momentum m.</param>
    /// <param name="eta">Trust coefficient η.</param>
    /// <param name="exclude">Which tensors skip weight decay and adaptation; default: rank 1 (biases, BN).</param>
    public Lars(IEnumerable<Tensor> parameters, double lr, double weightDecay = 0, double momentum = 0.9, double eta = 0.001, Func<Tensor, bool>? exclude = null)
        : base(parameters, lr)
    {
        WeightDecay = weightDecay; MomentumFactor = momentum; Eta = eta;
        _mu = new Tensor?[Params.Count];
        _excluded = Params.Select(exclude ?? (p => p.Rank == 1)).ToArray();
    }

    public double WeightDecay { get; private set; }
    public double MomentumFactor { get; private set; }
    public double Eta { get; private set; }

    /// <inheritdoc/>
    protected override void Update(int index, Tensor param, Tensor grad)
    {
        using var scope = TensorScope.Begin();
        using var _ = GradMode.NoGrad();
        var d = Ops.Detach(grad);
        if (!_excluded[index])
        {
            var p = Ops.Detach(param);
            if (WeightDecay != 0) d = Ops.Add(d, Ops.Mul(p, WeightDecay));
            double pn = Math.Sqrt(GradClip.SquaredNorm(p)), dn = Math.Sqrt(GradClip.SquaredNorm(d));
            double q = pn > 0 && dn > 0 ? Eta * pn / dn : 1;
            d = Ops.Mul(d, q);
        }
        bool first = false;
        if (_mu[index] == null)
        {
            _mu[index] = NewBuffer(param);
            first = true;
        }
        param.Backend.SgdStep(param.Storage, d.Storage, _mu[index]!.Storage, param.Numel,
            new SgdStepArgs(LrFor(index), MomentumFactor, 0, 0, false, first));
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor?[] Buffers)> Buffers() => [("mu", _mu)];

    /// <inheritdoc/>
    protected override void WriteScalars(JsonObject json)
    {
        json["weight_decay"] = WeightDecay;
        json["momentum"] = MomentumFactor;
        json["eta"] = Eta;
        json["excluded"] = new JsonArray(_excluded.Select(e => (JsonNode)e).ToArray());
    }

    /// <inheritdoc/>
    protected override void ReadScalars(JsonObject json)
    {
        WeightDecay = (double)json["weight_decay"]!;
        MomentumFactor = (double)json["momentum"]!;
        Eta = (double)json["eta"]!;
        var ex = json["excluded"]!.AsArray();
        for (int i = 0; i < _excluded.Length; i++) _excluded[i] = (bool)ex[i]!;
    }
}
