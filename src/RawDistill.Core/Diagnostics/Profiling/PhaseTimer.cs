namespace RawDistill.Diagnostics.Profiling;

using System.Diagnostics;
using RawDistill.Backends;

/// <summary>
/// An <see cref="IPhaseTimer"/> that accumulates wall time per phase. Each boundary first
/// waits for the backend (<see cref="IBackend.Synchronize"/>, a no-op on the CPU), so a phase
/// is charged for the device work it queued, not only for the host time it took to queue it.
/// The waits themselves make an instrumented step slightly slower than an uninstrumented one
/// on a GPU (the queue drains at every boundary); benchmarks show both.
/// </summary>
public sealed class PhaseTimer(IBackend backend) : IPhaseTimer
{
    readonly Dictionary<string, double> _ms = [];
    readonly List<string> _order = [];
    readonly Stopwatch _clock = new();
    string? _open;

    /// <summary>Phases in first-seen order with their accumulated milliseconds.</summary>
    public IReadOnlyList<(string Phase, double Ms)> Phases => _order.Select(p => (p, _ms[p])).ToList();

    /// <summary>Sum of every phase, in milliseconds.</summary>
    public double TotalMs => _ms.Values.Sum();

    /// <summary>Forgets every phase.</summary>
    public void Reset()
    {
        _ms.Clear();
        _order.Clear();
        _open = null;
    }

    /// <inheritdoc/>
    public void Start(string phase)
    {
        if (_open != null) throw new InvalidOperationException($"phase '{phase}' started while '{_open}' is still open (phases do not nest)");
        backend.Synchronize();
        _open = phase;
        _clock.Restart();
    }

    /// <inheritdoc/>
    public void Stop(string phase)
    {
        if (_open != phase) throw new InvalidOperationException($"phase '{phase}' stopped, but the open phase is '{_open ?? "(none)"}'");
        backend.Synchronize();
        double ms = _clock.Elapsed.TotalMilliseconds;
        if (!_ms.TryGetValue(phase, out var sum)) _order.Add(phase);
        _ms[phase] = sum + ms;
        _open = null;
    }
}
