namespace RawDistill.Tests;

using RawDistill.Tensors;

public class ShapeTests
{
    [Fact]
    public void BroadcastFollowsNumPyRules()
    {
        Assert.Equal([4, 3, 5], Shape.Broadcast([3, 1], [4, 1, 5]));
        Assert.Throws<ArgumentException>(() => Shape.Broadcast([3], [4]));
    }

    [Fact]
    public void BroadcastStridesAreZeroOnExpandedAxes()
    {
        Assert.Equal([0L, 1L, 0L], Shape.BroadcastStrides([3, 1], [2, 3, 4]));
    }

    [Fact]
    public void InferResolvesOneMinusOne()
    {
        Assert.Equal([2, 6], Shape.Infer([2, -1], 12));
        Assert.Throws<ArgumentException>(() => Shape.Infer([5, -1], 12));
    }
}
