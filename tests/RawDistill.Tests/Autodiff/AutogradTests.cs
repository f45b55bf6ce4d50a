namespace RawDistill.Tests.Autodiff;

using RawDistill.Autodiff;
using RawDistill.Tensors;

/// <summary>The mechanics of the tape and of tensor memory, independent of any op's rule.</summary>
[Trait("Category", "GradCheck")]
public class AutogradTests
{
    static Tensor Leaf(params double[] values)
    {
        var t = Tensor.From(values, values.Length);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void FanOutAccumulates()
    {
        // y = Σ (x·x + 3x) → ∂y/∂x = 2x + 3: x reaches y along three paths.
        var x = Leaf(1, -2, 0.5);
        var y = Ops.Sum(Ops.Add(Ops.Mul(x, x), Ops.Mul(x, 3.0)));
        var g = Autograd.Grad([y], [x])[0].ToArray<double>();
        Assert.Equal([5.0, -1.0, 4.0], g);
    }

    [Fact]
    public void FanOutThroughASharedIntermediate()
    {
        // h = 2x used twice: y = Σ h·h + h → 2h·2 + 2 = 8x + 2.
        var x = Leaf(1, -1);
        var h = Ops.Mul(x, 2.0);
        var y = Ops.Sum(Ops.Add(Ops.Mul(h, h), h));
        Assert.Equal([10.0, -6.0], Autograd.Grad([y], [x])[0].ToArray<double>());
    }

    [Fact]
    public void SameTensorAsBothOperands()
    {
        var x = Leaf(3);
        var y = Ops.Sum(Ops.Add(x, x));
        Assert.Equal([2.0], Autograd.Grad([y], [x])[0].ToArray<double>());
    }

    [Fact]
    public void BackwardAccumulatesIntoGradAcrossCalls()
    {
        var x = Leaf(1, 2);
        Ops.Sum(Ops.Mul(x, x)).Backward();
        Assert.Equal([2.0, 4.0], x.Grad!.ToArray<double>());
        Ops.Sum(Ops.Mul(x, 3.0)).Backward();
        Assert.Equal([5.0, 7.0], x.Grad!.ToArray<double>());
        Assert.Null(x.Grad.GradFn);
    }

    [Fact]
    public void BackwardTwiceOnTheSameGraphDoublesTheGradient()
    {
        var x = Leaf(1, 2);
        var y = Ops.Sum(Ops.Mul(x, x));
        y.Backward();
        y.Backward();
        Assert.Equal([4.0, 8.0], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void BackwardGradDoesNotAliasOtherTensors()
    {
        // d(Σx)/dx is the broadcast upstream gradient; .Grad must own its memory.
        var x = Leaf(1, 2);
        var y = Ops.Sum(x);
        y.Backward();
        y.Backward();
        Assert.Equal([2.0, 2.0], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void BackwardWithCreateGraphGivesEachLeafItsOwnGradient()
    {
        // add's rule hands the same upstream tensor to both operands; each leaf's .Grad
        // must still be its own tensor, or accumulating into one disposes the other.
        var x = Leaf(1, 2);
        var z = Leaf(3, 4);
        Ops.Sum(Ops.Add(x, z)).Backward(createGraph: true);
        Assert.NotSame(x.Grad, z.Grad);
        Ops.Sum(Ops.Add(Ops.Mul(x, x), z)).Backward(createGraph: true);
        Assert.Equal([3.0, 5.0], x.Grad!.ToArray<double>());
        Assert.Equal([2.0, 2.0], z.Grad!.ToArray<double>());
        // The accumulated .Grad = 2x + 1 is still differentiable: Σ .Grad → 2.
        Assert.Equal([2.0, 2.0], Autograd.Grad([Ops.Sum(x.Grad)], [x])[0].ToArray<double>());
        x.Grad = null;
        Assert.Equal([2.0, 2.0], z.Grad!.ToArray<double>());
    }

    [Fact]
    public void BackwardWithCreateGraphGradIsDifferentiable()
    {
        // .Grad = 3x² with createGraph; Σ .Grad differentiates to 6x.
        var x = Leaf(1, -2);
        Ops.Sum(Ops.Mul(Ops.Mul(x, x), x)).Backward(createGraph: true);
        Assert.True(x.Grad!.RequiresGrad);
        var g2 = Autograd.Grad([Ops.Sum(x.Grad)], [x])[0];
        Assert.Equal([6.0, -12.0], g2.ToArray<double>());
    }

    [Fact]
    public void BackwardGradDoesNotAliasTheUpstreamGradient()
    {
        // With an explicit upstream gradient v and y = x + z, the rule returns v itself.
        var x = Leaf(1, 2);
        var z = Leaf(3, 4);
        var v = Tensor.From([1.0, -1], 2);
        Ops.Add(x, z).Backward(v);
        Assert.NotSame(v, x.Grad);
        x.Grad = null; // disposes x's gradient; v and z's gradient must live on
        Assert.Equal([1.0, -1.0], v.ToArray<double>());
        Assert.Equal([1.0, -1.0], z.Grad!.ToArray<double>());
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        var x = Leaf(1, 2);
        Tensor y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = Ops.Exp(Ops.Mul(x, x));
        }
        Assert.True(GradMode.IsEnabled);
        Assert.Null(y.GradFn);
        Assert.False(y.RequiresGrad);
        Assert.Throws<ArgumentException>(() => Autograd.Grad([Ops.Sum(y)], [x]));
    }

    [Fact]
    public void NoGradScopesNest()
    {
        using (GradMode.NoGrad())
        {
            using (GradMode.Set(true)) Assert.True(GradMode.IsEnabled);
            Assert.False(GradMode.IsEnabled);
        }
        Assert.True(GradMode.IsEnabled);
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        // y = Σ detach(x)·x → ∂y/∂x = x (not 2x).
        var x = Leaf(1.5, -2);
        var d = Ops.Detach(x);
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        var y = Ops.Sum(Ops.Mul(d, x));
        Assert.Equal([1.5, -2.0], Autograd.Grad([y], [x])[0].ToArray<double>());
    }

    [Fact]
    public void UnusedInputGetsZeros()
    {
        var x = Leaf(1, 2);
        var z = Tensor.From([1.0, 2, 3, 4, 5, 6], 2, 3);
        z.RequiresGrad = true;
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(x, 2.0))], [x, z]);
        Assert.Equal([2.0, 2.0], g[0].ToArray<double>());
        Assert.Equal([2, 3], g[1].Shape);
        Assert.Equal(new double[6], g[1].ToArray<double>());
        Assert.Equal(DType.F64, g[1].DType);
    }

    [Fact]
    public void NonScalarOutputWithoutGradOutputsThrows()
    {
        var x = Leaf(1, 2);
        var y = Ops.Mul(x, x);
        var e = Assert.Throws<ArgumentException>(() => Autograd.Grad([y], [x]));
        Assert.Contains("not a scalar", e.Message);
        // With an explicit output gradient it is a vector-Jacobian product.
        var g = Autograd.Grad([y], [x], [Tensor.From([1.0, -1], 2)])[0];
        Assert.Equal([2.0, -4.0], g.ToArray<double>());
    }

    [Fact]
    public void MismatchedGradOutputShapeThrows()
    {
        var x = Leaf(1, 2);
        Assert.Throws<ArgumentException>(() => Autograd.Grad([Ops.Mul(x, x)], [x], [Tensor.From([1.0, 2, 3], 3)]));
    }

    [Fact]
    public void InputWithoutRequiresGradThrows()
    {
        var x = Tensor.From([1.0, 2], 2);
        Assert.Throws<ArgumentException>(() => Autograd.Grad([Ops.Sum(x)], [x]));
    }

    [Fact]
    public void RequiresGradOnlyOnFloatLeaves()
    {
        var x = Leaf(1);
        Assert.Throws<InvalidOperationException>(() => Ops.Mul(x, 2.0).RequiresGrad = true);
        Assert.Throws<InvalidOperationException>(() => Tensor.From([1, 2], 2).RequiresGrad = true);
    }

    [Fact]
    public void GradWithoutCreateGraphIsDetached()
    {
        var x = Leaf(1, 2);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(x, x))], [x])[0];
        Assert.Null(g.GradFn);
        Assert.False(g.RequiresGrad);
    }

    [Fact]
    public void CreateGraphGivesDifferentiableGradients()
    {
        // y = Σ x³: g = 3x², Σ g = Σ 3x² → ∂/∂x = 6x.
        var x = Leaf(1, -2);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(Ops.Mul(x, x), x))], [x], createGraph: true)[0];
        Assert.True(g.RequiresGrad);
        Assert.Equal([3.0, 12.0], g.ToArray<double>());
        Assert.Equal([6.0, -12.0], Autograd.Grad([Ops.Sum(g)], [x])[0].ToArray<double>());
    }

    [Fact]
    public void GradWrtAnIntermediate()
    {
        var x = Leaf(1, 2);
        var h = Ops.Mul(x, 3.0);
        var y = Ops.Sum(Ops.Mul(h, h));
        var g = Autograd.Grad([y], [h, x]);
        Assert.Equal([6.0, 12.0], g[0].ToArray<double>());
        Assert.Equal([18.0, 36.0], g[1].ToArray<double>());
    }

    [Fact]
    public void GradRunsOnlyTheRulesBetweenOutputsAndInputs()
    {
        // An unrolled loop asks at each step for ∂loss/∂θ_k, θ_k a non-leaf with the whole
        // history of earlier steps behind it. Rules behind θ_k lead to nothing that was
        // asked for; running them would make step k cost O(k) and an unrolled loop O(k²)
        // in time and memory (MKDT's inner loop).
        using var scope = TensorScope.Begin();
        int probeRuns = 0;
        var w = Leaf(0.5, -1, 2);
        var x = Tensor.From([1.0, 2, 3], 3);
        Tensor probe;
        using (GradMode.NoGrad()) probe = Ops.Clone(w);
        var theta = Ops.Record(probe, "probe", [w], g => { probeRuns++; return [g]; });
        var perStep = new List<int>();
        for (int step = 0; step < 6; step++)
        {
            int before = scope.Count;
            var d = Ops.Sub(Ops.Mul(theta, x), Tensor.Ones([3], DType.F64));
            var loss = Ops.Sum(Ops.Mul(d, d));
            var g = Autograd.Grad([loss], [theta], createGraph: true)[0];
            theta = Ops.Sub(theta, Ops.Mul(g, 0.01));
            perStep.Add(scope.Count - before);
        }
        Assert.Equal(0, probeRuns);
        Assert.All(perStep, c => Assert.Equal(perStep[0], c));
        // Differentiating the end of the loop with respect to the leaf runs the whole history once.
        Autograd.Grad([Ops.Sum(theta)], [w]);
        Assert.Equal(1, probeRuns);
    }

    [Fact]
    public void SeveralOutputsAreSummed()
    {
        var x = Leaf(1, 2);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(x, x)), Ops.Sum(x)], [x])[0];
        Assert.Equal([3.0, 5.0], g.ToArray<double>());
    }

    [Fact]
    public void DeepGraphsDoNotOverflowTheStack()
    {
        var x = Leaf(1);
        var y = x;
        for (int i = 0; i < 20000; i++) y = Ops.Mul(y, 1.0);
        Assert.Equal([1.0], Autograd.Grad([Ops.Sum(y)], [x])[0].ToArray<double>());
    }

    [Fact]
    public void ConvWeightGradientIsBitwiseReproducible()
    {
        // The weight gradient sums over images in parallel; the grouping of that sum must
        // not depend on thread scheduling, or identical runs drift apart.
        using var scope = TensorScope.Begin();
        var geo = new RawDistill.Backends.Conv2dGeometry(32, 8, 10, 10, 16, 3, 3, 1, 1, 1, 1, 1);
        var x = Tensor.Normal(geo.InputShape, 0, 1, new RawDistill.Random.Generator(1));
        var dy = Tensor.Normal(geo.OutputShape, 0, 1, new RawDistill.Random.Generator(2));
        var first = Ops.Conv2dBackwardWeight(x, dy, geo).ToArray<float>();
        for (int t = 0; t < 10; t++)
            Assert.True(first.AsSpan().SequenceEqual(Ops.Conv2dBackwardWeight(x, dy, geo).ToArray<float>()), $"run {t} differs from the first");
    }

    // ---- memory: scopes, disposal, views -----------------------------------------------------

    [Fact]
    public void ScopeFreesWhatWasCreatedInsideUnlessKept()
    {
        Tensor inside, kept, outside = Tensor.From([1.0], 1);
        using (var scope = TensorScope.Begin())
        {
            inside = Ops.Mul(outside, 2.0);
            kept = Ops.Mul(outside, 3.0).Keep();
            Assert.Equal(1, scope.Count);
        }
        Assert.True(inside.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.False(outside.IsDisposed);
        Assert.Equal([3.0], kept.ToArray<double>());
    }

    [Fact]
    public void NestedScopesHandKeptTensorsOutward()
    {
        Tensor a, b, c;
        using (TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                a = Tensor.Zeros([2]).Keep();      // to the outer scope
                b = Tensor.Zeros([2]);             // dies with the inner scope
                c = Tensor.Zeros([2]).Keep();
                Assert.Same(inner, TensorScope.Current);
            }
            Assert.True(b.IsDisposed);
            Assert.False(a.IsDisposed);
            c.Keep();                              // out of every scope
        }
        Assert.True(a.IsDisposed);
        Assert.False(c.IsDisposed);
        Assert.Null(TensorScope.Current);
    }

    [Fact]
    public void ScopesMustEndInOrder()
    {
        var outer = TensorScope.Begin();
        var inner = TensorScope.Begin();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
        Assert.Null(TensorScope.Current);
    }

    [Fact]
    public void GradientsSurviveTheScopeTheyWereComputedIn()
    {
        var x = Leaf(1, 2);
        using (TensorScope.Begin()) Ops.Sum(Ops.Mul(x, x)).Backward();
        Assert.Equal([2.0, 4.0], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void UsingADisposedTensorThrowsAClearError()
    {
        var x = Tensor.From([1.0, 2], 2);
        x.Name = "activations";
        x.Dispose();
        Assert.True(x.IsDisposed);
        var e = Assert.Throws<ObjectDisposedException>(() => x.ToArray<double>());
        Assert.Contains("activations", e.Message);
        Assert.Contains("disposed", e.Message);
        Assert.Throws<ObjectDisposedException>(() => Ops.Mul(x, 2.0));
        x.Dispose(); // idempotent
    }

    [Fact]
    public void ReshapeViewsShareMemoryAndOutliveTheOriginal()
    {
        var x = Tensor.From([1.0, 2, 3, 4, 5, 6], 2, 3);
        var v = Ops.Reshape(x, 3, 2);
        Assert.Equal([3, 2], v.Shape);
        x.FillInPlace(7);
        Assert.Equal(Enumerable.Repeat(7.0, 6), v.ToArray<double>());
        x.Dispose();
        Assert.False(v.IsDisposed);
        Assert.False(v.Storage.IsReleased);
        Assert.Equal(Enumerable.Repeat(7.0, 6), v.ToArray<double>());
        var storage = v.Storage;
        v.Dispose();
        Assert.True(storage.IsReleased);
    }

    [Fact]
    public void DisposingAReductionResultReleasesItsMemoryWithoutAScope()
    {
        // Reductions without keepDim return a reshaped view of their raw result; the view
        // must own the memory, so disposing it gives the memory back (no GC involved).
        var x = Tensor.From([1.0, 5, 3, 2, 4, 6], 2, 3);
        foreach (var y in new[] { Ops.Sum(x, [0]), Ops.Sum(x), Ops.Max(x, [1]), Ops.Max(x), Ops.Sum(x, [1], keepDim: true) })
        {
            var storage = y.Storage;
            y.Dispose();
            Assert.True(storage.IsReleased, "memory of a disposed reduction result was not released");
        }
    }

    [Fact]
    public void MaxGradientStillWorksAfterItsRawResultWasReleased()
    {
        var x = Leaf(1, 5, 3);
        var y = Ops.Max(x, [0]);
        Assert.Equal([0.0, 1.0, 0.0], Autograd.Grad([y], [x])[0].ToArray<double>());
    }

    [Fact]
    public void DetachSharesMemoryToo()
    {
        var x = Tensor.From([1.0, 2], 2);
        var d = Ops.Detach(x);
        x.Dispose();
        Assert.Equal([1.0, 2.0], d.ToArray<double>());
    }

    [Fact]
    public void ScopeFreesBackwardIntermediates()
    {
        var x = Leaf(1, 2);
        Tensor g;
        using (TensorScope.Begin())
        {
            g = Autograd.Grad([Ops.Sum(Ops.Exp(Ops.Mul(x, x)))], [x])[0];
        }
        Assert.True(g.IsDisposed);
        Assert.False(x.IsDisposed);
    }
}
