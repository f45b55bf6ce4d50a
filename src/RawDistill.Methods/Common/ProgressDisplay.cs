namespace RawDistill.Methods.Common;

using System.Diagnostics;
using System.Globalization;

/// <summary>How a <see cref="ProgressDisplay"/> shows itself.</summary>
public enum ProgressMode
{
    /// <summary>Nothing but the lines a caller marks to keep (checkpoints) and the last report.</summary>
    Quiet,
    /// <summary>One line now and then (every <see cref="ProgressDisplay.LineInterval"/>): logs, pipes, CI.</summary>
    Lines,
    /// <summary>One line redrawn in place on a terminal, ticking every second between reports.</summary>
    InPlace,
}

/// <summary>
/// The one progress display of every long phase (teacher epochs, distillation steps, MKDT expert
/// epochs, evaluation cells): "PHASE k/K · detail · elapsed 1m02s · ETA 3m10s".
/// <para>
/// The ETA leaves out the first unit of work, which carries JIT compilation and buffer warm-up
/// (a teacher's first step took several times a later one, so an ETA from it was wildly off),
/// and then uses the overall rate since: it settles from the second report on. Between reports
/// an in-place display keeps counting the elapsed time up and the ETA down, so a minute-long
/// evaluation cell is not a silent minute.
/// </para>
/// <para>
/// The CLI chooses the mode once per command (<see cref="UseConsole"/>: in place on a terminal,
/// lines when standard error is redirected, quiet with --quiet); methods start a display with
/// <see cref="Start"/> and report to it. Without <see cref="UseConsole"/> (library use, tests) a
/// display writes its lines through the caller's log, or nothing when there is none.
/// </para>
/// </summary>
public sealed class ProgressDisplay : IDisposable
{
    /// <summary>How often a line-based display prints a report.</summary>
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(10);

    sealed record ConsoleTarget(TextWriter Writer, ProgressMode Mode);

    // AsyncLocal: the console setting belongs to one command's run (and the threads it starts), not to
    // tests running beside it in the same process.
    static readonly AsyncLocal<ConsoleTarget?> Console = new();

    readonly string _phase;
    readonly long _total;
    readonly ProgressMode _mode;
    readonly Action<string> _write;        // a whole line (Lines, Quiet)
    readonly TextWriter? _terminal;        // InPlace only
    readonly Func<TimeSpan> _clock;
    readonly object _gate = new();
    readonly Timer? _ticker;
    readonly bool _keepQuiet;   // false: a quiet display without a sink, which prints nothing at all, kept lines included
    readonly TimeSpan _start;
    long _done;
    string _position = "", _detail = "";
    (long Done, TimeSpan At)? _warm;        // the first report: the ETA is measured from here
    double _secondsPerUnit = double.NaN;    // since _warm
    TimeSpan _lastReport, _lastLine = TimeSpan.MinValue, _lastDraw = TimeSpan.MinValue;
    bool _drawn, _reported, _disposed;

    /// <summary>
    /// Sets how displays started by this command write to the console: <paramref name="quiet"/>
    /// → <see cref="ProgressMode.Quiet"/>; else in place when <paramref name="terminal"/> (the CLI
    /// passes <c>!Console.IsErrorRedirected</c>: progress goes to standard error), else lines.
    /// Dispose the result to restore the previous setting.
    /// </summary>
    public static IDisposable UseConsole(TextWriter writer, bool quiet, bool terminal)
    {
        var previous = Console.Value;
        Console.Value = new ConsoleTarget(writer, quiet ? ProgressMode.Quiet : terminal ? ProgressMode.InPlace : ProgressMode.Lines);
        return new Restore(() => Console.Value = previous);
    }

    /// <summary>
    /// A display for <paramref name="total"/> units of <paramref name="phase"/>, <paramref name="done"/>
    /// of them done already (a resume): on the console when the command set one up, else
    /// line by line through <paramref name="log"/> (silent without one). <paramref name="elapsed"/>:
    /// time the phase already ran before the display could be started (its size was not known).
    /// </summary>
    public static ProgressDisplay Start(string phase, long total, long done = 0, Action<string>? log = null, TimeSpan elapsed = default)
    {
        var target = Console.Value;
        if (target != null)
            return new ProgressDisplay(phase, total, done, target.Mode, target.Writer.WriteLine, target.Mode == ProgressMode.InPlace ? target.Writer : null, elapsed: elapsed);
        return new ProgressDisplay(phase, total, done, log == null ? ProgressMode.Quiet : ProgressMode.Lines, log ?? (_ => { }), null, keepQuiet: log != null, elapsed: elapsed);
    }

    /// <summary>A display with an explicit sink and clock (tests; <see cref="Start"/> for everything else).</summary>
    internal ProgressDisplay(string phase, long total, long done, ProgressMode mode, Action<string> write, TextWriter? terminal,
        Func<TimeSpan>? clock = null, bool keepQuiet = true, bool tick = true, TimeSpan elapsed = default)
    {
        _phase = phase;
        _total = Math.Max(total, 1);
        _done = done;
        _mode = terminal == null && mode == ProgressMode.InPlace ? ProgressMode.Lines : mode;
        _write = write;
        _terminal = _mode == ProgressMode.InPlace ? terminal : null;
        _keepQuiet = keepQuiet;
        if (clock == null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }
        _clock = clock;
        _start = _clock() - elapsed;
        _lastReport = _clock();
        if (_mode == ProgressMode.InPlace && tick) _ticker = new Timer(_ => Tick(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Time since the display started.</summary>
    public TimeSpan Elapsed => _clock() - _start;

    /// <summary>Estimated time left at the last report, or null before the rate is known.</summary>
    public TimeSpan? Eta
    {
        get
        {
            lock (_gate) return EtaAt(_lastReport);
        }
    }

    /// <summary>
    /// <paramref name="done"/> of the total units are finished. <paramref name="position"/>
    /// replaces the default "k/K" (e.g. "epoch 3/10 step 12/39"); <paramref name="detail"/>
    /// follows it (loss, learning rate); <paramref name="keep"/> prints the line whatever the
    /// mode and interval (a checkpoint on disk).
    /// </summary>
    public void Report(long done, string? position = null, string? detail = null, bool keep = false)
    {
        lock (_gate)
        {
            if (_disposed) return;
            var now = _clock();
            _done = done;
            _position = position ?? string.Create(CultureInfo.InvariantCulture, $"{done}/{_total}");
            _detail = detail ?? "";
            _lastReport = now;
            _reported = true;
            if (_warm is not { } warm) _warm = (done, now);
            else if (done > warm.Done) _secondsPerUnit = (now - warm.At).TotalSeconds / (done - warm.Done);

            bool last = done >= _total;
            switch (_mode)
            {
                case ProgressMode.InPlace:
                    if (keep) WriteKept(Text(now));
                    else if (last || _lastDraw == TimeSpan.MinValue || now - _lastDraw >= TimeSpan.FromSeconds(0.1)) Draw(now);   // a terminal needs no more than ten frames a second
                    break;
                case ProgressMode.Lines:
                    if (keep || last || _lastLine == TimeSpan.MinValue || now - _lastLine >= LineInterval) WriteLine(Text(now), now);
                    break;
                case ProgressMode.Quiet:
                    if ((keep || last) && _keepQuiet) WriteLine(Text(now), now);
                    break;
            }
        }
    }

    /// <summary>A note of its own inside the phase, printed above an in-place display; none when quiet.</summary>
    public void Line(string text)
    {
        lock (_gate)
        {
            if (_mode == ProgressMode.InPlace) WriteKept(text);
            else if (_mode == ProgressMode.Lines) _write(text);
        }
    }

    /// <summary>Stops the ticking; an in-place display leaves its last state on its own line.</summary>
    public void Dispose()
    {
        _ticker?.Dispose();
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (_drawn && _terminal != null)
            {
                _terminal.Write('\n');
                _terminal.Flush();
                _drawn = false;
            }
        }
    }

    /// <summary>"1.5s", "4m05s", "2h03m".</summary>
    public static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m")
        : t.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds:D2}s")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:F1}s");

    TimeSpan? EtaAt(TimeSpan now)
    {
        if (_done >= _total) return TimeSpan.Zero;
        if (double.IsNaN(_secondsPerUnit)) return null;
        // Between reports the estimate counts down, never below zero.
        double left = _secondsPerUnit * (_total - _done) - (now - _lastReport).TotalSeconds;
        return TimeSpan.FromSeconds(Math.Max(left, 0));
    }

    string Text(TimeSpan now)
    {
        var eta = EtaAt(now);
        string etaText = _done >= _total ? "done" : eta is { } e ? "ETA " + Format(e) : "ETA …";
        return $"{_phase} {_position}{(_detail.Length > 0 ? " · " + _detail : "")} · elapsed {Format(now - _start)} · {etaText}";
    }

    void Tick()
    {
        lock (_gate)
        {
            // Also after a kept line took the status's place: the status comes back within a second.
            if (!_disposed && _reported) Draw(_clock());
        }
    }

    void Draw(TimeSpan now)
    {
        int width = TerminalWidth();
        string text = Text(now);
        if (text.Length >= width) text = text[..(width - 2)] + "…";
        // \r to the line's start, the text, then erase whatever a longer earlier text left (ESC [ K).
        _terminal!.Write("\r" + text + "\u001b[K");
        _terminal.Flush();
        _drawn = true;
        _lastDraw = now;
    }

    void WriteKept(string text)
    {
        _terminal!.Write((_drawn ? "\r\u001b[K" : "") + text + "\n");
        _terminal.Flush();
        _drawn = false;
    }

    void WriteLine(string text, TimeSpan now)
    {
        _write(text);
        _lastLine = now;
    }

    static int TerminalWidth()
    {
        try
        {
            int w = System.Console.WindowWidth;
            return w > 20 ? w : 100;
        }
        catch (IOException)
        {
            return 100;
        }
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
