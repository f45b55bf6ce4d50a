namespace RawDistill.Autodiff;

/// <summary>
/// Counts the floating-point operations run on this thread (forward ops and the ops inside
/// backward rules, by name: "conv2d_backward_weight", "mul", ...) while it is open. Tests use
/// it to show that a backward call does only the work it was asked for.
/// <code>
/// using var ops = OpCounter.Begin();
/// Autograd.Grad([loss], [x]);
/// Assert.Equal(0, ops["conv2d_backward_weight"]);
/// </code>
/// </summary>
public sealed class OpCounter : IDisposable
{
    [ThreadStatic] static OpCounter? _current;

    readonly OpCounter? _parent;
    readonly Dictionary<string, int> _counts = [];

    OpCounter(OpCounter? parent) => _parent = parent;

    /// <summary>Starts counting (nested counters each see every op run while they are open).</summary>
    public static OpCounter Begin() => _current = new OpCounter(_current);

    /// <summary>How many times an op ran (0 if never).</summary>
    public int this[string op] => _counts.TryGetValue(op, out var n) ? n : 0;

    /// <summary>Every op that ran, with its count.</summary>
    public IReadOnlyDictionary<string, int> Counts => _counts;

    internal static void Hit(string op)
    {
        for (var c = _current; c != null; c = c._parent)
            c._counts[op] = c[op] + 1;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_current != this) throw new InvalidOperationException("OpCounter disposed out of order");
        _current = _parent;
    }
}
