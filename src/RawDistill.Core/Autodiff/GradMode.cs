namespace RawDistill.Autodiff;

/// <summary>
/// Whether operations record their backward rules. On by default; turn it off for
/// evaluation and for in-place updates with <c>using (GradMode.NoGrad()) { ... }</c>.
/// </summary>
public static class GradMode
{
    [ThreadStatic] static bool _disabled;

    /// <summary>True while operations are being recorded.</summary>
    public static bool IsEnabled => !_disabled;

    /// <summary>Stops recording until the returned handle is disposed.</summary>
    public static Restore NoGrad() => Set(false);

    /// <summary>Sets recording on or off until the returned handle is disposed.</summary>
    public static Restore Set(bool enabled)
    {
        var r = new Restore(_disabled);
        _disabled = !enabled;
        return r;
    }

    /// <summary>Restores the previous mode when disposed.</summary>
    public readonly struct Restore : IDisposable
    {
        readonly bool _previousDisabled;

        internal Restore(bool previousDisabled) => _previousDisabled = previousDisabled;

        public void Dispose() => _disabled = _previousDisabled;
    }
}
