namespace RawDistill.Diagnostics.Profiling;

/// <summary>
/// Receives the phase boundaries of an instrumented step (KRR-ST outer step, Barlow Twins
/// step). Code under measurement opens phases with <see cref="PhaseScope.Begin"/>; when no
/// timer is attached (the normal case) that is one null check and nothing else.
/// </summary>
public interface IPhaseTimer
{
    /// <summary>A phase starts (phases do not nest).</summary>
    void Start(string phase);

    /// <summary>The phase started last ends.</summary>
    void Stop(string phase);
}

/// <summary>
/// <c>using (PhaseScope.Begin(timer, "gram")) { ... }</c>: brackets a phase when a timer is
/// attached; a no-op struct when the timer is null (no allocation, no clock read).
/// </summary>
public readonly struct PhaseScope : IDisposable
{
    readonly IPhaseTimer? _timer;
    readonly string _phase;

    PhaseScope(IPhaseTimer? timer, string phase)
    {
        _timer = timer;
        _phase = phase;
    }

    /// <summary>Starts <paramref name="phase"/> on <paramref name="timer"/> (if any).</summary>
    public static PhaseScope Begin(IPhaseTimer? timer, string phase)
    {
        timer?.Start(phase);
        return new PhaseScope(timer, phase);
    }

    /// <inheritdoc/>
    public void Dispose() => _timer?.Stop(_phase);
}
