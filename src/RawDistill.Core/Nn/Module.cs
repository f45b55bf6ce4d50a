namespace RawDistill.Nn;

using RawDistill.Autodiff;
using RawDistill.Tensors;

/// <summary>
/// A neural-network building block that owns named parameters and buffers, with child
/// modules, in the manner of <c>torch.nn.Module</c>. Names compose with dots into
/// PyTorch state-dict keys (<c>features.0.weight</c>, <c>bn1.running_mean</c>), and the
/// order of <see cref="NamedParameters"/> is PyTorch's (own parameters in registration
/// order, then each child's), which fixes the layout of the flat parameter vector.
/// <para>
/// Functional call: <see cref="Call{T}"/> (and the <c>Forward(x, overrides)</c> shorthand)
/// runs the module with some or all parameters (or buffers) replaced by supplied tensors
/// keyed by full name, so an inner training loop can be unrolled through the autodiff
/// graph with θ as ordinary graph tensors.
/// </para>
/// <para>
/// Memory: the module owns its tensors (they are removed from any <see cref="TensorScope"/>
/// when registered) and disposes them in <see cref="Dispose"/>.
/// </para>
/// </summary>
public abstract class Module : IDisposable
{
    readonly List<KeyValuePair<string, Tensor?>> _parameters = [];
    readonly List<KeyValuePair<string, Tensor?>> _buffers = [];
    readonly List<KeyValuePair<string, Module>> _children = [];

    // Set for the duration of a functional call: the override table and this module's key prefix.
    IReadOnlyDictionary<string, Tensor>? _overrides;
    string _overridePrefix = "";

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The computation, reading parameters through <see cref="Param"/>.</summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>Runs <see cref="Forward(Tensor)"/> with parameters (or buffers) replaced by
    /// <paramref name="overrides"/> (full state-dict names); names not present use the module's own.</summary>
    public Tensor Forward(Tensor x, IReadOnlyDictionary<string, Tensor> overrides) => Call(overrides, () => Forward(x));

    /// <summary>Runs <paramref name="body"/> (any method of this module tree) in functional mode.</summary>
    public T Call<T>(IReadOnlyDictionary<string, Tensor> overrides, Func<T> body)
    {
        var modules = NamedModules().ToList();
        foreach (var (prefix, m) in modules)
        {
            if (m._overrides != null) throw new InvalidOperationException("nested functional calls on the same module are not supported");
            m._overrides = overrides;
            m._overridePrefix = prefix.Length == 0 ? "" : prefix + ".";
        }
        try { return body(); }
        finally
        {
            foreach (var (_, m) in modules)
            {
                m._overrides = null;
                m._overridePrefix = "";
            }
        }
    }

    // ---- registration ---------------------------------------------------------------------

    /// <summary>Registers a parameter (trainable leaf; RequiresGrad is set). Null registers an absent one (e.g. bias=False).</summary>
    protected Tensor? RegisterParameter(string name, Tensor? value)
    {
        CheckName(name);
        if (value != null)
        {
            TensorScope.Untrack(value);
            value.RequiresGrad = true;
            value.Name = name;
        }
        _parameters.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a buffer (state that is not trained, e.g. running statistics).</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? value)
    {
        CheckName(name);
        if (value != null)
        {
            TensorScope.Untrack(value);
            value.Name = name;
        }
        _buffers.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a child module under a name (its keys get the prefix "name.").</summary>
    protected TModule RegisterModule<TModule>(string name, TModule module) where TModule : Module
    {
        CheckName(name);
        _children.Add(new(name, module));
        return module;
    }

    void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"invalid member name '{name}'");
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(p => p.Key == name) || _children.Any(p => p.Key == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}");
    }

    /// <summary>
    /// The tensor to compute with for a local parameter or buffer name: the functional
    /// override when one is active and supplied, else the module's own tensor (null when absent).
    /// </summary>
    protected Tensor? Param(string name)
    {
        if (_overrides != null && _overrides.TryGetValue(_overridePrefix + name, out var o)) return o;
        foreach (var p in _parameters) if (p.Key == name) return p.Value;
        foreach (var p in _buffers) if (p.Key == name) return p.Value;
        throw new KeyNotFoundException($"{GetType().Name} has no parameter or buffer '{name}'");
    }

    /// <summary>The module's own registered tensor (never an override).</summary>
    protected Tensor? Own(string name)
    {
        foreach (var p in _parameters) if (p.Key == name) return p.Value;
        foreach (var p in _buffers) if (p.Key == name) return p.Value;
        throw new KeyNotFoundException($"{GetType().Name} has no parameter or buffer '{name}'");
    }

    // ---- traversal ---------------------------------------------------------------------------

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _children;

    /// <summary>This module (name "") and every descendant, pre-order, with dotted names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name))
                yield return item;
    }

    /// <summary>Every parameter with its full name, in PyTorch's <c>named_parameters()</c> order.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters()
    {
        foreach (var (prefix, m) in NamedModules())
            foreach (var (name, t) in m._parameters)
                if (t != null) yield return (Join(prefix, name), t);
    }

    /// <summary>Every buffer with its full name.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers()
    {
        foreach (var (prefix, m) in NamedModules())
            foreach (var (name, t) in m._buffers)
                if (t != null) yield return (Join(prefix, name), t);
    }

    /// <summary>The parameters, in the fixed order of <see cref="NamedParameters"/>.</summary>
    public IReadOnlyList<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor).ToList();

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount => NamedParameters().Sum(p => p.Tensor.Numel);

    /// <summary>
    /// Parameters and buffers by full name, in PyTorch's <c>state_dict()</c> order (per
    /// module: parameters, then buffers, then children). The tensors are the module's own
    /// (not copies).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> StateDict()
    {
        var r = new List<KeyValuePair<string, Tensor>>();
        foreach (var (prefix, m) in NamedModules())
        {
            foreach (var (name, t) in m._parameters) if (t != null) r.Add(new(Join(prefix, name), t));
            foreach (var (name, t) in m._buffers) if (t != null) r.Add(new(Join(prefix, name), t));
        }
        return r;
    }

    /// <summary>One line per state-dict entry (name, shape, and "buffer" for buffers), then the parameter count.</summary>
    public string Summary()
    {
        var sb = new System.Text.StringBuilder();
        var buffers = NamedBuffers().Select(b => b.Name).ToHashSet();
        var state = StateDict();
        int width = state.Count == 0 ? 0 : state.Max(kv => kv.Key.Length);
        sb.AppendLine(GetType().Name);
        foreach (var (name, t) in state)
            sb.AppendLine($"  {name.PadRight(width)}  {Shape.Format(t.Shape)}{(buffers.Contains(name) ? "  buffer" : "")}");
        sb.Append($"  {ParameterCount:N0} parameters");
        return sb.ToString();
    }

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- modes -------------------------------------------------------------------------------

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
        return this;
    }

    /// <summary>Evaluation mode (BatchNorm uses running statistics).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in NamedParameters()) p.Grad = null;
    }

    /// <summary>Called after tensors were overwritten by a state load, so modules can refresh host-side mirrors.</summary>
    protected internal virtual void OnStateLoaded() { }

    internal void NotifyStateLoaded()
    {
        foreach (var (_, m) in NamedModules()) m.OnStateLoaded();
    }

    // ---- flat parameter vector ----------------------------------------------------------------

    /// <summary>
    /// The parameters concatenated into one 1-D tensor in <see cref="NamedParameters"/> order
    /// (a detached copy: MKDT stores expert trajectories this way).
    /// </summary>
    public Tensor FlattenParameters()
    {
        using var _ = GradMode.NoGrad();
        return Flatten(Parameters());
    }

    /// <summary>Concatenates tensors into one 1-D tensor (differentiable when gradients are recorded).</summary>
    public static Tensor Flatten(IEnumerable<Tensor> tensors)
    {
        var parts = tensors.Select(t => Ops.Reshape(t, -1)).ToArray();
        return parts.Length == 1 ? Ops.Clone(parts[0]) : Ops.Concat(parts, 0);
    }

    /// <summary>
    /// Splits a flat vector (as from <see cref="FlattenParameters"/>) into tensors shaped like
    /// the parameters, keyed by full name: the override table for a functional call. The
    /// split is differentiable, so gradients flow back into <paramref name="flat"/>.
    /// </summary>
    public Dictionary<string, Tensor> UnflattenParameters(Tensor flat)
    {
        var named = NamedParameters().ToList();
        long total = named.Sum(p => p.Tensor.Numel);
        if (flat.Rank != 1 || flat.Numel != total)
            throw new ArgumentException($"flat parameter vector {flat.Describe()} does not match the {total} parameters of {GetType().Name}");
        var r = new Dictionary<string, Tensor>(named.Count);
        int offset = 0;
        foreach (var (name, p) in named)
        {
            int n = checked((int)p.Numel);
            r[name] = Ops.Reshape(Ops.Slice(flat, 0, offset, n), p.Shape);
            offset += n;
        }
        return r;
    }

    /// <summary>Copies a flat vector into the parameters, in place (no gradient tracking).</summary>
    public void LoadFlatParameters(Tensor flat)
    {
        using var scope = TensorScope.Begin();
        using var _ = GradMode.NoGrad();
        var pieces = UnflattenParameters(flat);
        foreach (var (name, p) in NamedParameters()) p.CopyFrom(pieces[name]);
    }

    // ---- conversion ----------------------------------------------------------------------------

    /// <summary>Moves every parameter and buffer to another backend (e.g. CUDA), in place; returns this.</summary>
    public Module To(Backends.IBackend backend) => Convert(t => t.Backend == backend ? null : t.To(backend));

    /// <summary>
    /// Converts the floating-point parameters and buffers to another dtype (e.g. f64 for
    /// gradient checks), in place; integer buffers are kept. Returns this.
    /// </summary>
    public Module To(DType dtype) => Convert(t => !t.DType.IsFloat() || t.DType == dtype ? null : Ops.Cast(t, dtype));

    Module Convert(Func<Tensor, Tensor?> convert)
    {
        using var _ = GradMode.NoGrad();
        foreach (var (_, m) in NamedModules())
        {
            foreach (var (list, isParam) in new[] { (m._parameters, true), (m._buffers, false) })
            {
                for (int i = 0; i < list.Count; i++)
                {
                    var (name, t) = list[i];
                    if (t == null) continue;
                    var c = convert(t);
                    if (c == null || ReferenceEquals(c, t)) continue;
                    TensorScope.Untrack(c);
                    c.Name = name;
                    if (isParam) c.RequiresGrad = true;
                    t.Dispose();
                    list[i] = new(name, c);
                }
            }
        }
        return this;
    }

    // ---- lifetime ------------------------------------------------------------------------------

    /// <summary>Disposes every parameter, buffer and child.</summary>
    public void Dispose()
    {
        foreach (var (_, t) in _parameters) t?.Dispose();
        foreach (var (_, t) in _buffers) t?.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
        GC.SuppressFinalize(this);
    }
}
