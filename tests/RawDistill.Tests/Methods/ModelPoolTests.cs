namespace RawDistill.Tests.Methods;

using RawDistill.Methods.KrrSt;
using RawDistill.Random;

/// <summary>The pool-update rule of KRR-ST in both modes, on a counting stand-in for a network.</summary>
public sealed class ModelPoolTests
{
    sealed class FakeModel(int id) : IDisposable
    {
        public int Id { get; } = id;
        public int Trained { get; set; }
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    static ModelPool<FakeModel> Pool(PoolResetMode mode, int size = 4, int maxSteps = 5) =>
        new(size, maxSteps, mode, id => new FakeModel(id), m => m.Trained++);

    [Fact]
    public void InitialCountersAreInOneToTmaxMinusOneAndMatchTheStepsTaken()
    {
        using var pool = Pool(PoolResetMode.Reset, size: 50, maxSteps: 6);
        pool.Initialize(new Generator(3));
        for (int i = 0; i < pool.Size; i++)
        {
            Assert.InRange(pool.Steps[i], 1, 5);
            Assert.Equal(pool.Steps[i], pool[i].Trained);
        }
        Assert.Equal(5, pool.Steps.Distinct().Count()); // every value 1..5 occurs among 50 draws
    }

    [Fact]
    public void FixedInitialStepsTrainEveryMemberExactlyThatOftenAndAreRangeChecked()
    {
        using var pool = Pool(PoolResetMode.Reset, size: 3, maxSteps: 5);
        pool.Initialize(new Generator(3), fixedSteps: 2);
        for (int i = 0; i < pool.Size; i++)
        {
            Assert.Equal(2, pool.Steps[i]);
            Assert.Equal(2, pool[i].Trained);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Initialize(new Generator(3), fixedSteps: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Initialize(new Generator(3), fixedSteps: -1));
    }

    [Fact]
    public void ResetModeRestartsTheCounterSoAModelTrainsAgainBeforeTheNextReset()
    {
        using var pool = Pool(PoolResetMode.Reset, size: 1, maxSteps: 3);
        pool.Initialize(new Generator(1));
        var updates = Enumerable.Range(0, 12).Select(_ => pool.Update(0)).ToList();
        // From any start: train up to T_max, re-initialize, then T_max steps, re-initialize, ...
        int firstReset = updates.IndexOf(PoolUpdate.Reinitialized);
        Assert.Equal(PoolUpdate.Reinitialized, updates[firstReset + 4]);
        Assert.All(updates.Skip(firstReset + 1).Take(3), u => Assert.Equal(PoolUpdate.Trained, u));
        Assert.True(pool.Steps[0] <= 3);
    }

    [Fact]
    public void LegacyModeReinitializesEveryTimeOnceTmaxIsReached()
    {
        using var pool = Pool(PoolResetMode.Legacy, size: 1, maxSteps: 3);
        pool.Initialize(new Generator(1));
        var updates = Enumerable.Range(0, 10).Select(_ => pool.Update(0)).ToList();
        int firstReset = updates.IndexOf(PoolUpdate.Reinitialized);
        Assert.True(firstReset >= 0);
        Assert.All(updates.Skip(firstReset), u => Assert.Equal(PoolUpdate.Reinitialized, u));
        Assert.Equal(0, pool[0].Trained); // the member in use is always a fresh network
    }

    [Fact]
    public void ReinitializationDisposesTheOldMember()
    {
        using var pool = Pool(PoolResetMode.Reset, size: 1, maxSteps: 2);
        pool.Initialize(new Generator(0));
        var first = pool[0];
        while (pool.Update(0) != PoolUpdate.Reinitialized) { }
        Assert.True(first.Disposed);
        Assert.NotSame(first, pool[0]);
    }

    [Fact]
    public void PicksAreUniformAndReproducible()
    {
        using var pool = Pool(PoolResetMode.Reset, size: 4);
        var a = Enumerable.Range(0, 4000).Select(_ => pool.Pick(new Generator(9))).ToList();
        var rng = new Generator(9);
        var picks = Enumerable.Range(0, 4000).Select(_ => pool.Pick(rng)).ToList();
        var rng2 = new Generator(9);
        Assert.Equal(picks, Enumerable.Range(0, 4000).Select(_ => pool.Pick(rng2)).ToList());
        foreach (var count in picks.GroupBy(p => p).Select(g => g.Count())) Assert.InRange(count, 850, 1150);
        Assert.Single(a.Distinct()); // a fresh generator with one seed picks the same member
    }
}
