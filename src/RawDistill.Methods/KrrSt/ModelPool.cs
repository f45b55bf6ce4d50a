namespace RawDistill.Methods.KrrSt;

using RawDistill.Random;

/// <summary>
/// KRR-ST's pool of feature extractors at various training stages (krr-st.md, "The model
/// pool"). Each of the M members has a step counter t_i. At start t_i ~ Uniform{1..T_max−1}
/// and member i is trained t_i full-batch steps on the current synthetic set. Each outer
/// step uses one member picked uniformly at random; afterwards that member either takes
/// one more step (t_i += 1) or, once t_i ≥ T_max, is re-initialized (t_i ← 0 under
/// <see cref="PoolResetMode.Reset"/>, unchanged under <see cref="PoolResetMode.Legacy"/>).
/// <para>
/// The pool is generic over the member type so the rule is testable on its own; the
/// caller supplies how to create a member and how to train it one step.
/// </para>
/// </summary>
public sealed class ModelPool<TMember> : IDisposable where TMember : class, IDisposable
{
    readonly Func<int, TMember> _create;
    readonly Action<TMember> _trainStep;
    readonly TMember?[] _members;
    readonly int[] _steps;

    /// <param name="size">M, the number of members.</param>
    /// <param name="maxSteps">T_max, the steps after which a member is re-initialized (≥ 2).</param>
    /// <param name="mode">Whether re-initialization resets the step counter.</param>
    /// <param name="create">Makes a freshly initialized member; the argument counts creations (for seeding).</param>
    /// <param name="trainStep">Trains a member one full-batch step on the current synthetic set.</param>
    public ModelPool(int size, int maxSteps, PoolResetMode mode, Func<int, TMember> create, Action<TMember> trainStep)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "the pool needs at least one model");
        if (maxSteps < 2) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "T_max must be at least 2");
        Size = size;
        MaxSteps = maxSteps;
        Mode = mode;
        _create = create;
        _trainStep = trainStep;
        _members = new TMember?[size];
        _steps = new int[size];
    }

    public int Size { get; }

    public int MaxSteps { get; }

    public PoolResetMode Mode { get; }

    /// <summary>Members created so far (the initial ones included).</summary>
    public int Creations { get; private set; }

    /// <summary>t_i for each member.</summary>
    public IReadOnlyList<int> Steps => _steps;

    /// <summary>Member i (after <see cref="Initialize"/>).</summary>
    public TMember this[int i] => _members[i] ?? throw new InvalidOperationException("the model pool is not initialized");

    /// <summary>Draws t_i ~ Uniform{1..T_max−1} (or takes <paramref name="fixedSteps"/>) and trains each new member that many steps.</summary>
    public void Initialize(Generator rng, Action<int, int>? progress = null, int? fixedSteps = null)
    {
        if (fixedSteps is { } f && (f < 0 || f >= MaxSteps))
            throw new ArgumentOutOfRangeException(nameof(fixedSteps), f, $"initial steps must lie in [0, T_max = {MaxSteps})");
        for (int i = 0; i < Size; i++)
        {
            _members[i]?.Dispose();
            _members[i] = _create(Creations++);
            _steps[i] = fixedSteps ?? 1 + rng.NextInt(MaxSteps - 1);
            for (int s = 0; s < _steps[i]; s++) _trainStep(_members[i]!);
            progress?.Invoke(i, _steps[i]);
        }
    }

    /// <summary>Restores counters (and members, already restored by the caller) from a checkpoint.</summary>
    public void Restore(IReadOnlyList<TMember> members, IReadOnlyList<int> steps, int creations)
    {
        if (members.Count != Size || steps.Count != Size) throw new ArgumentException($"checkpoint has {members.Count} models and {steps.Count} counters, the pool has {Size}");
        for (int i = 0; i < Size; i++)
        {
            if (!ReferenceEquals(_members[i], members[i])) _members[i]?.Dispose();
            _members[i] = members[i];
            _steps[i] = steps[i];
        }
        Creations = creations;
    }

    /// <summary>The member used by this outer step: uniform over the pool.</summary>
    public int Pick(Generator rng) => rng.NextInt(Size);

    /// <summary>After the outer step: one more training step for member i, or its re-initialization.</summary>
    public PoolUpdate Update(int i)
    {
        if (_steps[i] >= MaxSteps)
        {
            _members[i]?.Dispose();
            _members[i] = _create(Creations++);
            if (Mode == PoolResetMode.Reset) _steps[i] = 0;
            return PoolUpdate.Reinitialized;
        }
        _trainStep(this[i]);
        _steps[i]++;
        return PoolUpdate.Trained;
    }

    public void Dispose()
    {
        for (int i = 0; i < Size; i++)
        {
            _members[i]?.Dispose();
            _members[i] = null;
        }
    }
}

/// <summary>What <see cref="ModelPool{TMember}.Update"/> did.</summary>
public enum PoolUpdate
{
    Trained,
    Reinitialized,
}
