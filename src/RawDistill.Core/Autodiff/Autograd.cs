namespace RawDistill.Autodiff;

using RawDistill.Tensors;

/// <summary>
/// Reverse-mode differentiation over the recorded graph, in the manner of
/// <c>torch.autograd.grad</c>: sort the graph topologically, then walk it backwards,
/// calling each node's rule and summing gradients where a tensor was used more than once.
/// Only what the call asks for is computed: each rule is told (by a <see cref="GradMask"/>)
/// which of its inputs lead to a requested tensor, and rules on no such path never run.
/// Without <c>createGraph</c> every temporary is freed as soon as it has been used (see
/// <see cref="BackwardSweep"/>). With <c>createGraph: true</c> the rules run with recording
/// on, so the returned gradients are themselves differentiable (Hessian-vector products,
/// unrolled optimization).
/// </summary>
public static class Autograd
{
    /// <summary>
    /// Gradients of the outputs (weighted by <paramref name="gradOutputs"/>, default 1 for
    /// scalars) with respect to each input. An input the outputs do not depend on gets a
    /// zero gradient. The results belong to the current <see cref="TensorScope"/>.
    /// </summary>
    public static Tensor[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor[]? gradOutputs = null, bool createGraph = false)
    {
        if (gradOutputs != null && gradOutputs.Length != outputs.Length)
            throw new ArgumentException($"{gradOutputs.Length} output gradients for {outputs.Length} outputs");
        foreach (var x in inputs)
            if (!x.RequiresGrad) throw new ArgumentException($"input {x.Describe()} does not require gradients");

        var grads = BackwardSweep.Run(outputs, gradOutputs, createGraph, inputs);
        var result = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            result[i] = grads[i] ?? Tensor.Zeros(inputs[i].Shape, inputs[i].DType, inputs[i].Backend);
            if (!createGraph && result[i].GradFn != null) result[i] = Ops.Detach(result[i]);
        }
        return result;
    }

    /// <summary>
    /// Accumulates ∂loss/∂p into <c>p.Grad</c> for every leaf p (with RequiresGrad) the
    /// loss depends on.
    /// </summary>
    public static void Backward(Tensor loss, Tensor? gradOutput = null, bool createGraph = false)
    {
        var leaves = Leaves(loss);
        if (leaves.Length == 0) return;
        var grads = BackwardSweep.Run([loss], gradOutput == null ? null : [gradOutput], createGraph, leaves, out var created);
        for (int i = 0; i < leaves.Length; i++)
        {
            var t = leaves[i];
            var g = grads[i];
            if (g == null) continue;
            var gg = createGraph ? g : (g.GradFn != null ? Ops.Detach(g) : g);
            if (t.Grad == null)
            {
                // Always a copy: the sweep may hand one tensor to several leaves, or give back
                // the caller's output gradient itself. A leaf owns its .Grad (the setter
                // disposes the old one when accumulating), so sharing would dispose another
                // leaf's gradient. Under createGraph the copy is recorded (clone), so .Grad
                // stays differentiable.
                using (GradMode.Set(createGraph)) t.Grad = Ops.Clone(gg);
            }
            else
            {
                using (GradMode.Set(createGraph)) t.Grad = Ops.Add(t.Grad, gg);
            }
            // The sweep's own result is no longer needed once copied.
            if (!createGraph && created[i]) g.Dispose();
        }
    }

    /// <summary>The leaves that require gradients and that the loss was computed from, in first-seen order.</summary>
    static Tensor[] Leaves(Tensor loss)
    {
        var leaves = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var t in BackwardSweep.TopologicalOrder([loss], null))
            foreach (var x in t.GradFn!.Inputs)
                if (x.IsLeaf && x.RequiresGrad && seen.Add(x)) leaves.Add(x);
        return [.. leaves];
    }
}
