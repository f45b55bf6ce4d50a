namespace RawDistill.Tests;

using RawDistill.Tensors;

/// <summary>Tensor.CopyTo: a download into a caller's span, with the checks of ToArray.</summary>
public class TensorCopyToTests
{
    [Fact]
    public void CopiesTheElementsIntoASliceOfALargerBuffer()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.From<float>([1, 2, 3, 4, 5, 6], [2, 3]);
        var buffer = new float[10];
        t.CopyTo(buffer.AsSpan(2, 6));
        Assert.Equal([0f, 0, 1, 2, 3, 4, 5, 6, 0, 0], buffer);
    }

    [Fact]
    public void RefusesAnotherDTypeOrLength()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.From<float>([1, 2, 3], [3]);
        Assert.Contains("CopyTo<Double> on a F32", Assert.Throws<InvalidOperationException>(() => t.CopyTo(new double[3].AsSpan())).Message);
        Assert.Contains("a destination of 4 elements for the 3", Assert.Throws<ArgumentException>(() => t.CopyTo(new float[4].AsSpan())).Message);
    }
}
