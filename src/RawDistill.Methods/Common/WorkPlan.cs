namespace RawDistill.Methods.Common;

using System.Globalization;

/// <summary>
/// The long work a command is about to do, printed before it starts: "plan: train teacher 100
/// epochs on 8 000 images (~36 min), then distill 200 KRR-ST steps (~1.5 min), then evaluate 3
/// sets × 3 seeds (~2.5 min); about 40 min in all on the 2-core reference VM (…)". A new dataset
/// costs a teacher first, and a user should know that before the first half hour, not after it.
/// </summary>
public sealed class WorkPlan
{
    readonly List<(string What, double Seconds)> _phases = [];

    /// <summary>Adds a phase: what it does, in a few words, and its estimate (<see cref="CostModel"/>).</summary>
    public WorkPlan Add(string what, double seconds)
    {
        _phases.Add((what, seconds));
        return this;
    }

    /// <summary>The phases added.</summary>
    public IReadOnlyList<(string What, double Seconds)> Phases => _phases;

    /// <summary>Sum of the estimates.</summary>
    public double TotalSeconds => _phases.Sum(p => p.Seconds);

    /// <summary>The plan line; <paramref name="gpu"/> says the figures are CPU ones.</summary>
    public string ToText(bool gpu = false)
    {
        if (_phases.Count == 0) return "";
        string steps = string.Join(", then ", _phases.Select(p => $"{p.What} (~{Duration(p.Seconds)})"));
        string total = _phases.Count > 1 ? $"; about {Duration(TotalSeconds)} in all" : "";
        return $"plan: {steps}{total} — estimated from runs on {CostModel.ReferenceMachine} (benchmarks/results/)" +
            (gpu ? "; a GPU is faster" : "") + "; the progress ETAs below measure this machine";
    }

    /// <summary>"8 000" (a thin space would not survive every terminal).</summary>
    public static string Count(long n) => n.ToString("#,0", CultureInfo.InvariantCulture).Replace(',', ' ');

    /// <summary>A rough duration: "20 s", "4 min", "1.5 h".</summary>
    public static string Duration(double seconds) =>
        seconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(5, Math.Round(seconds / 5) * 5):F0} s")
        : seconds < 600 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds / 30) / 2:0.#} min")
        : seconds < 5400 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds / 60):F0} min")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds / 1800) / 2:0.#} h");
}
