namespace RawDistill.Nn.Optim;

/// <summary>
/// A learning-rate multiplier as a function of the 0-based step: the optimizer uses
/// lr = base_lr · Factor(step). Schedules compose: <see cref="Warmup"/> wraps another,
/// <see cref="Product"/> multiplies two.
/// </summary>
public abstract class LrSchedule
{
    /// <summary>The multiplier at a 0-based step.</summary>
    public abstract double Factor(long step);

    /// <summary>Always 1.</summary>
    public static LrSchedule Constant() => new Fn(_ => 1.0, "constant");

    /// <summary>gamma^(step / stepSize) (PyTorch StepLR).</summary>
    public static LrSchedule Step(long stepSize, double gamma) => new Fn(s => Math.Pow(gamma, s / stepSize), $"step({stepSize}, {gamma})");

    /// <summary>Linear from <paramref name="start"/> to <paramref name="end"/> over <paramref name="steps"/> steps, then constant (PyTorch LinearLR).</summary>
    public static LrSchedule Linear(double start, double end, long steps) =>
        new Fn(s => start + (end - start) * Math.Min(s, steps) / steps, $"linear({start}→{end} over {steps})");

    /// <summary>Cosine from 1 to <paramref name="minFactor"/> over <paramref name="steps"/> steps, then constant.</summary>
    public static LrSchedule Cosine(long steps, double minFactor = 0) =>
        new Fn(s => minFactor + (1 - minFactor) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(s, steps) / steps)), $"cosine({steps}, min {minFactor})");

    /// <summary>
    /// Linear warm-up: factor (step + 1)/steps for the first <paramref name="steps"/> steps,
    /// then <paramref name="then"/> (constant when null) counted from the end of the warm-up.
    /// </summary>
    public static LrSchedule Warmup(long steps, LrSchedule? then = null)
    {
        var after = then ?? Constant();
        return new Fn(s => s < steps ? (s + 1.0) / steps : after.Factor(s - steps), $"warmup({steps}) then {after}");
    }

    /// <summary>The product of two schedules.</summary>
    public static LrSchedule Product(LrSchedule a, LrSchedule b) => new Fn(s => a.Factor(s) * b.Factor(s), $"{a} × {b}");

    sealed class Fn(Func<long, double> f, string description) : LrSchedule
    {
        public override double Factor(long step) => f(step);

        public override string ToString() => description;
    }
}
