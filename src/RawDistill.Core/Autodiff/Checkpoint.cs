namespace RawDistill.Autodiff;

using RawDistill.Tensors;

/// <summary>
/// Rematerialized segments (gradient checkpointing): y = segment(inputs) is computed
/// without keeping its graph, and recorded as one node whose backward rule runs the
/// segment again from its saved inputs and differentiates that recomputation. Memory is
/// the segment's inputs and output instead of everything the segment computed; the price
/// is a second forward of the segment during backward.
/// <para>
/// Works at any order: when the backward call builds a graph (createGraph), the
/// recomputation is recorded on the real inputs and differentiated with createGraph, so
/// the gradients it returns are differentiable again. The segment may itself call
/// <see cref="Autograd.Grad"/> (an SGD step does): it runs with recording on during the
/// recomputation and must only use the tensors it is given (they are aliases during the
/// forward and the recomputation) plus constants.
/// </para>
/// </summary>
public static class Checkpoint
{
    /// <summary>Runs <paramref name="segment"/> on <paramref name="inputs"/>, recorded as one rematerialized node.</summary>
    public static Tensor Run(string name, Func<Tensor[], Tensor> segment, params Tensor[] inputs) => Fused(name, segment, segment, inputs);

    /// <summary>
    /// A fused operation: y = <paramref name="fast"/>(inputs) (typically one backend
    /// primitive), differentiated through <paramref name="composite"/>, the same function
    /// written with differentiable ops and recomputed from the saved inputs when its
    /// gradient is needed. The graph keeps only the inputs, and gradients of every order
    /// are those of the composite.
    /// </summary>
    public static Tensor Fused(string name, Func<Tensor[], Tensor> fast, Func<Tensor[], Tensor> composite, params Tensor[] inputs) =>
        Fused(name, fast, composite, null, inputs);

    /// <summary>
    /// As above, with <paramref name="plainVjp"/> (output gradient, mask → input gradients)
    /// used instead of the recomputation when the backward builds no graph: a primitive
    /// vector-Jacobian product that needs none of the composite's temporaries.
    /// </summary>
    public static Tensor Fused(string name, Func<Tensor[], Tensor> fast, Func<Tensor[], Tensor> composite,
        Func<Tensor, GradMask, Tensor?[]>? plainVjp, params Tensor[] inputs)
    {
        var segment = composite;
        Tensor y;
        // The forward sees detached aliases: nothing it records reaches the caller's graph,
        // and everything it allocates dies with the scope except the output.
        using (var scope = TensorScope.Begin())
        {
            var aliases = Array.ConvertAll(inputs, Ops.Detach);
            var output = fast(aliases);
            y = Array.Exists(aliases, a => ReferenceEquals(a, output)) || output.GradFn != null || !scope.Release(output)
                ? Ops.Clone(Ops.Detach(output))
                : output;
            scope.Release(y);
        }
        TensorScope.Track(y);
        if (!GradMode.IsEnabled || !Array.Exists(inputs, x => x.RequiresGrad)) return y;
        return Ops.Record(y, name, inputs, (g, need) =>
            plainVjp != null && !GradMode.IsEnabled ? plainVjp(g, need) : Recompute(segment, inputs, g, need));
    }

    static Tensor?[] Recompute(Func<Tensor[], Tensor> segment, Tensor[] inputs, Tensor g, GradMask need)
    {
        var wantedIndex = Enumerable.Range(0, inputs.Length).Where(i => need[i]).ToArray();
        var result = new Tensor?[inputs.Length];
        if (GradMode.IsEnabled)
        {
            // Inside a createGraph sweep: the recomputation must hang off the real inputs so
            // that the gradients it gives stay differentiable with respect to them. It reads
            // them through recorded aliases, and the gradient is taken with respect to the
            // aliases: that is this segment's own vector-Jacobian product, not the total
            // derivative through whatever computed the inputs (an earlier step).
            var aliases = Array.ConvertAll(inputs, x => x.RequiresGrad ? Ops.Alias(x) : x);
            var y = segment(aliases);
            var grads = Autograd.Grad([y], wantedIndex.Select(i => aliases[i]).ToArray(), [g], createGraph: true);
            for (int k = 0; k < wantedIndex.Length; k++) result[wantedIndex[k]] = grads[k];
            return result;
        }
        // A plain sweep: recompute on fresh leaves, take the vector-Jacobian product, and
        // free the recomputed graph before the sweep moves on to the next node.
        using (var scope = TensorScope.Begin())
        {
            var leaves = new Tensor[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                leaves[i] = Ops.Detach(inputs[i]);
                if (need[i]) leaves[i].RequiresGrad = true;
            }
            Tensor y;
            using (GradMode.Set(true)) y = segment(leaves);
            var grads = Autograd.Grad([y], wantedIndex.Select(i => leaves[i]).ToArray(), [g]);
            for (int k = 0; k < wantedIndex.Length; k++)
            {
                var gk = grads[k];
                if (ReferenceEquals(gk, g) || !scope.Release(gk)) gk = Ops.Clone(gk);
                scope.Release(gk);
                result[wantedIndex[k]] = gk;
            }
        }
        // Handed to the enclosing scope (the sweep's rule scope), which decides their fate.
        foreach (var r in result)
            if (r != null) TensorScope.Track(r);
        return result;
    }
}
