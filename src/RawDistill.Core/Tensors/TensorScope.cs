namespace RawDistill.Tensors;

/// <summary>
/// Deterministic memory for tensors: every tensor created while a scope is open (on the
/// same thread) is disposed when the scope ends, unless it was kept with
/// <see cref="Tensor.Keep"/> (which hands it to the enclosing scope, or to no scope).
/// <code>
/// using (var scope = TensorScope.Begin())
/// {
///     var loss = Ops.Mse(model.Forward(x), y);   // intermediates die with the scope
///     result = loss.Detach().Keep();
/// }
/// </code>
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? _current;

    readonly TensorScope? _parent;
    readonly List<Tensor> _tensors = [];
    bool _disposed;

    TensorScope(TensorScope? parent) => _parent = parent;

    /// <summary>Opens a scope nested in the current one.</summary>
    public static TensorScope Begin()
    {
        var s = new TensorScope(_current);
        _current = s;
        return s;
    }

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => _current;

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => _tensors.Count;

    internal static void Track(Tensor t) => _current?._tensors.Add(t);

    /// <summary>
    /// Takes a tensor out of this scope's care if this scope created (or was handed) it,
    /// without disposing it; the caller then owns it. False when the scope does not hold it.
    /// </summary>
    internal bool Release(Tensor t)
    {
        int i = _tensors.LastIndexOf(t);
        if (i < 0) return false;
        _tensors.RemoveAt(i);
        return true;
    }

    internal static void Untrack(Tensor t)
    {
        for (var s = _current; s != null; s = s._parent)
        {
            int i = s._tensors.LastIndexOf(t);
            if (i >= 0)
            {
                s._tensors.RemoveAt(i);
                return;
            }
        }
    }

    internal static void KeepInParent(Tensor t)
    {
        for (var s = _current; s != null; s = s._parent)
        {
            int i = s._tensors.LastIndexOf(t);
            if (i >= 0)
            {
                s._tensors.RemoveAt(i);
                s._parent?._tensors.Add(t);
                return;
            }
        }
    }

    /// <summary>Disposes every tensor created in this scope that was not kept.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        // Check the order before marking this scope disposed: an out-of-order Dispose must
        // leave the scope intact, so that once the inner scopes have ended a later
        // Dispose still restores the thread's current scope and frees the tensors.
        if (_current != this)
            throw new InvalidOperationException("TensorScope disposed out of order: inner scopes must end before outer ones");
        _disposed = true;
        _current = _parent;
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
