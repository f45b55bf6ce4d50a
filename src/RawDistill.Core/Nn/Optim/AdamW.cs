namespace RawDistill.Nn.Optim;

using System.Text.Json.Nodes;
using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// AdamW (decoupled weight decay) with PyTorch's semantics, through the backend's fused step:
/// p ← p − lr·wd·p; m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr·m̂ / (√v̂ + ε) with bias-corrected m̂, v̂ and a per-tensor step count.
/// </summary>
public sealed class AdamW : Optimizer
{
    readonly Tensor?[] _m, _v;
    readonly long[] _steps;

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
        : base(parameters, lr)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        _m = new Tensor?[Params.Count];
        _v = new Tensor?[Params.Count];
        _steps = new long[Params.Count];
    }

    public double Beta1 { get; private set; }
    public double Beta2 { get; private set; }
    public double Eps { get; set; }
    public double WeightDecay { get; private set; }

    /// <inheritdoc/>
    protected override void Update(int index, Tensor param, Tensor grad)
    {
        _m[index] ??= NewBuffer(param);
        _v[index] ??= NewBuffer(param);
        _steps[index]++;
        param.Backend.AdamWStep(param.Storage, grad.Storage, _m[index]!.Storage, _v[index]!.Storage, param.Numel,
            new AdamWStepArgs(LrFor(index), Beta1, Beta2, Eps, WeightDecay, _steps[index]));
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Tensor?[] Buffers)> Buffers() => [("exp_avg", _m), ("exp_avg_sq", _v)];

    /// <inheritdoc/>
    protected override void WriteScalars(JsonObject json)
    {
        json["beta1"] = Beta1;
        json["beta2"] = Beta2;
        json["eps"] = Eps;
        json["weight_decay"] = WeightDecay;
        json["steps"] = new JsonArray(_steps.Select(s => (JsonNode)s).ToArray());
    }

    /// <inheritdoc/>
    protected override void ReadScalars(JsonObject json)
    {
        Beta1 = (double)json["beta1"]!;
        Beta2 = (double)json["beta2"]!;
        Eps = (double)json["eps"]!;
        WeightDecay = (double)json["weight_decay"]!;
        var steps = json["steps"]!.AsArray();
        for (int i = 0; i < _steps.Length; i++) _steps[i] = (long)steps[i]!;
    }
}
