namespace RawDistill.Nn.Optim;

using System.Globalization;
using System.Text.Json.Nodes;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>
/// Base of the optimizers: a fixed list of tensors (any leaf tensors — weights, synthetic
/// images, targets, a learned learning rate), a base learning rate with an optional
/// <see cref="LrSchedule"/>, and per-tensor state. <see cref="Step()"/> reads each tensor's
/// <see cref="Tensor.Grad"/>; <see cref="Step(IReadOnlyList{Tensor?})"/> takes gradients
/// explicitly (as returned by <c>Autograd.Grad</c>). Tensors without a gradient are skipped.
/// <para>
/// State is exact to save and restore: <see cref="StateTensors"/> (named tensors) plus
/// <see cref="StateJson"/> (scalars: step counters, learning rates, hyper-parameters), or
/// both in one safetensors file with <see cref="Save"/>/<see cref="Load"/>.
/// </para>
/// </summary>
public abstract class Optimizer : IDisposable
{
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
    {
        Params = parameters.ToList();
        if (Params.Count == 0) throw new ArgumentException("optimizer got no tensors");
        if (Params.Distinct(ReferenceEqualityComparer.Instance).Count() != Params.Count) throw new ArgumentException("optimizer got the same tensor twice");
        foreach (var p in Params)
            if (!p.DType.IsFloat()) throw new ArgumentException($"cannot optimize {p.Describe()}: not floating point");
        BaseLr = lr;
        Lr = lr;
        LrScales = Enumerable.Repeat(1.0, Params.Count).ToArray();
    }

    /// <summary>
    /// Per-tensor learning-rate multipliers (default 1), in the order of <see cref="Params"/>:
    /// the effect of PyTorch parameter groups with different learning rates (e.g. Barlow
    /// Twins' LARS uses a 0.024× rate for biases and norm parameters).
    /// </summary>
    public double[] LrScales { get; }

    /// <summary>The learning rate tensor <paramref name="index"/> is updated with at this step.</summary>
    protected double LrFor(int index) => Lr * LrScales[index];

    /// <summary>The optimized tensors, in order.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>The learning rate before scheduling.</summary>
    public double BaseLr { get; set; }

    /// <summary>The learning rate of the last (or, without a schedule, the next) step.</summary>
    public double Lr { get; set; }

    /// <summary>Optional schedule: before step k, Lr ← BaseLr · Schedule.Factor(k).</summary>
    public LrSchedule? Schedule { get; set; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; private set; }

    /// <summary>One update from the tensors' own gradients.</summary>
    public void Step() => Step(Params.Select(p => p.Grad).ToList());

    /// <summary>One update with explicit gradients (null = skip that tensor).</summary>
    public void Step(IReadOnlyList<Tensor?> grads)
    {
        if (grads.Count != Params.Count) throw new ArgumentException($"{grads.Count} gradients for {Params.Count} tensors");
        if (Schedule != null) Lr = BaseLr * Schedule.Factor(StepCount);
        for (int i = 0; i < Params.Count; i++)
        {
            var g = grads[i];
            if (g == null) continue;
            if (!Shape.Equal(g.Shape, Params[i].Shape) || g.DType != Params[i].DType)
                throw new ArgumentException($"gradient {g.Describe()} does not match {Params[i].Describe()}");
            Update(i, Params[i], g);
        }
        StepCount++;
    }

    /// <summary>Clears every tensor's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Params) p.Grad = null;
    }

    /// <summary>Updates tensor <paramref name="index"/> in place with its gradient.</summary>
    protected abstract void Update(int index, Tensor param, Tensor grad);

    // ---- state ---------------------------------------------------------------------------------

    /// <summary>Per-tensor state buffers by name (e.g. "momentum_buffer"), null until first used.</summary>
    protected abstract IEnumerable<(string Name, Tensor?[] Buffers)> Buffers();

    /// <summary>Optimizer-specific scalars (hyper-parameters, per-tensor step counts).</summary>
    protected abstract void WriteScalars(JsonObject json);

    /// <summary>Restores what <see cref="WriteScalars"/> wrote.</summary>
    protected abstract void ReadScalars(JsonObject json);

    /// <summary>The state tensors, named <c>state.{index}.{buffer}</c> (PyTorch's layout); owned by the optimizer.</summary>
    public IReadOnlyDictionary<string, Tensor> StateTensors()
    {
        var r = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, bufs) in Buffers())
            for (int i = 0; i < bufs.Length; i++)
                if (bufs[i] is { } b) r[string.Create(CultureInfo.InvariantCulture, $"state.{i}.{name}")] = b;
        return r;
    }

    /// <summary>The scalar state as JSON.</summary>
    public string StateJson()
    {
        var json = new JsonObject
        {
            ["type"] = GetType().Name,
            ["params"] = Params.Count,
            ["step_count"] = StepCount,
            ["base_lr"] = BaseLr,
            ["lr"] = Lr,
            ["lr_scales"] = new JsonArray(LrScales.Select(v => (JsonNode)v).ToArray()),
        };
        WriteScalars(json);
        return json.ToJsonString();
    }

    /// <summary>Restores state saved by <see cref="StateTensors"/> and <see cref="StateJson"/> (copies the values).</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, string stateJson)
    {
        var json = JsonNode.Parse(stateJson)!.AsObject();
        if ((string?)json["type"] != GetType().Name) throw new InvalidOperationException($"optimizer state is for {(string?)json["type"]}, not {GetType().Name}");
        if ((int)json["params"]! != Params.Count) throw new InvalidOperationException($"optimizer state has {(int)json["params"]!} tensors, this optimizer {Params.Count}");
        StepCount = (long)json["step_count"]!;
        BaseLr = (double)json["base_lr"]!;
        Lr = (double)json["lr"]!;
        var scales = json["lr_scales"]!.AsArray();
        for (int i = 0; i < LrScales.Length; i++) LrScales[i] = (double)scales[i]!;
        ReadScalars(json);
        foreach (var (name, bufs) in Buffers())
        {
            for (int i = 0; i < bufs.Length; i++)
            {
                bufs[i]?.Dispose();
                bufs[i] = null;
                if (!tensors.TryGetValue(string.Create(CultureInfo.InvariantCulture, $"state.{i}.{name}"), out var src)) continue;
                if (!Shape.Equal(src.Shape, Params[i].Shape)) throw new InvalidOperationException($"optimizer state {name} of tensor {i} is {src.Describe()}, tensor is {Params[i].Describe()}");
                var b = NewBuffer(Params[i]);
                if (src.DType == b.DType) b.CopyFrom(src);
                else
                {
                    using var cast = Ops.Cast(src, b.DType);
                    b.CopyFrom(cast);
                }
                bufs[i] = b;
            }
        }
    }

    /// <summary>Writes the state to a safetensors file (the JSON goes to the metadata key "optimizer").</summary>
    public void Save(string path) =>
        Safetensors.Write(path, StateTensors().Select(kv => StateDictIO.ToEntry(kv.Key, kv.Value)).ToList(),
            new Dictionary<string, string> { ["optimizer"] = StateJson() });

    /// <summary>Restores the state from a file written by <see cref="Save"/>.</summary>
    public void Load(string path)
    {
        var file = Safetensors.Read(path);
        using var scope = TensorScope.Begin();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in file.Entries)
        {
            var t = Tensor.Empty(e.Shape, e.DType, Params[0].Backend);
            t.Backend.Upload(t.Storage, e.Data);
            tensors[e.Name] = t;
        }
        if (!file.Metadata.TryGetValue("optimizer", out var json)) throw new InvalidDataException($"{path}: no 'optimizer' metadata");
        LoadState(tensors, json);
    }

    /// <summary>A zero buffer shaped like a tensor, owned by the optimizer (outside any scope).</summary>
    protected static Tensor NewBuffer(Tensor like)
    {
        var b = Tensor.Zeros(like.Shape, like.DType, like.Backend);
        TensorScope.Untrack(b);
        return b;
    }

    /// <summary>Disposes the state buffers.</summary>
    public void Dispose()
    {
        foreach (var (_, bufs) in Buffers())
            for (int i = 0; i < bufs.Length; i++)
            {
                bufs[i]?.Dispose();
                bufs[i] = null;
            }
        GC.SuppressFinalize(this);
    }

}
