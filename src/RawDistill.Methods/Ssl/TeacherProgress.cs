namespace RawDistill.Methods.Ssl;

using System.Globalization;
using RawDistill.Methods.Common;

/// <summary>
/// Barlow Twins training on the <see cref="ProgressDisplay"/>: "teacher epoch 3/10 step 12/39 ·
/// loss … · elapsed … · ETA …", with a kept line at the end of every epoch (its mean loss), so
/// the epochs stay visible after an in-place display moves on. `teacher train`, `distill` and
/// `experts` (through <see cref="TeacherCache"/>) show a teacher the same way.
/// </summary>
public sealed class TeacherProgress(Action<string>? log = null) : IDisposable
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();   // from before the first step
    ProgressDisplay? _display;
    double _epochSum;

    /// <summary>The callback to hand to <see cref="BarlowTwinsTrainer.Train"/>.</summary>
    public void Report(TrainProgress p)
    {
        long total = (long)p.Epochs * p.StepsPerEpoch, done = (long)(p.Epoch - 1) * p.StepsPerEpoch + p.Step;
        // Started at the first step, when the run's size and (on a resume) its finished epochs are known.
        _display ??= ProgressDisplay.Start("teacher epoch", total, done - 1, log, _clock.Elapsed);
        if (p.Step == 1) _epochSum = 0;
        _epochSum += p.Loss;
        bool end = p.Step == p.StepsPerEpoch;
        _display.Report(done, string.Create(CultureInfo.InvariantCulture, $"{p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch}"),
            string.Create(CultureInfo.InvariantCulture, $"loss {p.Loss:F3} lr {p.Lr:G3} {p.ImagesPerSecond:F0} img/s") +
            (end ? string.Create(CultureInfo.InvariantCulture, $"; epoch mean loss {_epochSum / p.StepsPerEpoch:F3}") : ""),
            keep: end);
    }

    /// <inheritdoc/>
    public void Dispose() => _display?.Dispose();
}
