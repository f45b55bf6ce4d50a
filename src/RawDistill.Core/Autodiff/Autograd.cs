namespace RawDistill.Autodiff;

using RawDistill.Tensors;

/// <summary>
/// Reverse-mode differentiation over the recorded graph, in the manner of
/// <c>torch.autograd.grad</c>: sort the graph topologically, then walk it backwards,
/// calling each node's rule and summing gradients where a tensor was used more than once.
/// With <c>createGraph: true</c> the rules run with recording on, so the returned
/// gradients are themselves differentiable (Hessian-vector products, unrolled
/// optimization).
/// </summary>
public static class Autograd
{
    /// <summary>
    /// Gradients of the outputs (weighted by <paramref name="gradOutputs"/>, default 1 for
    /// scalars) with respect to each input. An input the outputs do not depend on gets a
    /// zero gradient.
    /// </summary>
    public static Tensor[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor[]? gradOutputs = null, bool createGraph = false)
    {
        if (gradOutputs != null && gradOutputs.Length != outputs.Length)
            throw new ArgumentException($"{gradOutputs.Length} output gradients for {outputs.Length} outputs");
        foreach (var x in inputs)
            if (!x.RequiresGrad) throw new ArgumentException($"input {x.Describe()} does not require gradients");

        var grads = Run(outputs, gradOutputs, createGraph, inputs);
        var result = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            result[i] = grads.TryGetValue(inputs[i], out var g) ? g : Tensor.Zeros(inputs[i].Shape, inputs[i].DType, inputs[i].Backend);
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
        var grads = Run([loss], gradOutput == null ? null : [gradOutput], createGraph, null);
        foreach (var (t, g) in grads)
        {
            if (!t.IsLeaf || !t.RequiresGrad) continue;
            var gg = createGraph ? g : (g.GradFn != null ? Ops.Detach(g) : g);
            if (t.Grad == null)
            {
                // Always a copy: rules hand the same tensor to several inputs (add gives g
                // to both operands) and may return the caller's output gradient itself, so
                // g can be shared. A leaf owns its .Grad (the setter disposes the old one
                // when accumulating), so sharing would dispose another leaf's gradient.
                // Under createGraph the copy is recorded (clone), so .Grad stays differentiable.
                using (GradMode.Set(createGraph)) t.Grad = Ops.Clone(gg);
            }
            else
            {
                using (GradMode.Set(createGraph)) t.Grad = Ops.Add(t.Grad, gg);
            }
        }
    }

    /// <summary>
    /// The backward sweep. Returns the accumulated gradient of every tensor that requires
    /// gradients and was reached (leaves included). When <paramref name="wanted"/> is given,
    /// only gradients of those leaves are kept in the result.
    /// </summary>
    static Dictionary<Tensor, Tensor> Run(Tensor[] outputs, Tensor[]? gradOutputs, bool createGraph, Tensor[]? wanted)
    {
        var order = TopologicalOrder(outputs);
        var needed = wanted == null ? null : NodesLeadingTo(order, wanted);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < outputs.Length; i++)
        {
            var y = outputs[i];
            if (!y.RequiresGrad) throw new ArgumentException($"output {y.Describe()} does not require gradients (nothing it depends on requires them)");
            Tensor g;
            if (gradOutputs?[i] is { } go)
            {
                if (!Shape.Equal(go.Shape, y.Shape)) throw new ArgumentException($"gradient {go.Describe()} does not match output {y.Describe()}");
                g = go;
            }
            else
            {
                if (y.Numel != 1) throw new ArgumentException($"output {y.Describe()} is not a scalar: pass its gradient explicitly");
                g = Tensor.Ones(y.Shape, y.DType, y.Backend);
            }
            Accumulate(grads, y, g);
        }

        using (GradMode.Set(createGraph))
        {
            for (int k = order.Count - 1; k >= 0; k--)
            {
                var t = order[k];
                var node = t.GradFn!;
                // Only rules on a path to a wanted tensor: the history behind a wanted
                // non-leaf (earlier steps of an unrolled loop) leads nowhere that was asked for.
                if (needed != null && !needed.Contains(t)) continue;
                if (!grads.TryGetValue(t, out var gt)) continue;
                var inputGrads = node.Backward(gt);
                if (inputGrads.Length != node.Inputs.Length)
                    throw new InvalidOperationException($"backward rule of {node.Op} returned {inputGrads.Length} gradients for {node.Inputs.Length} inputs");
                for (int i = 0; i < inputGrads.Length; i++)
                {
                    var x = node.Inputs[i];
                    var gx = inputGrads[i];
                    if (gx == null || !x.RequiresGrad) continue;
                    if (needed != null && !needed.Contains(x) && !IsWanted(x, wanted)) continue;
                    if (!Shape.Equal(gx.Shape, x.Shape))
                        throw new InvalidOperationException($"backward rule of {node.Op} gave gradient {gx.Describe()} for input {x.Describe()}");
                    Accumulate(grads, x, gx);
                }
                // Intermediate gradients are no longer needed once their node has run.
                if (!createGraph && !IsWanted(t, wanted)) grads.Remove(t);
            }
        }
        if (wanted != null)
        {
            var keep = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
            foreach (var w in wanted)
                if (grads.TryGetValue(w, out var g)) keep[w] = g;
            return keep;
        }
        return grads;
    }

    /// <summary>
    /// The recorded tensors (of a topological order) from which a wanted tensor can be
    /// reached through recorded inputs: those whose rules must run.
    /// </summary>
    static HashSet<Tensor> NodesLeadingTo(List<Tensor> order, Tensor[] wanted)
    {
        var targets = new HashSet<Tensor>(wanted, ReferenceEqualityComparer.Instance);
        var needed = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var t in order) // inputs come before the tensors computed from them
        {
            foreach (var x in t.GradFn!.Inputs)
            {
                if (targets.Contains(x) || needed.Contains(x))
                {
                    needed.Add(t);
                    break;
                }
            }
        }
        return needed;
    }

    static bool IsWanted(Tensor t, Tensor[]? wanted)
    {
        if (wanted == null) return false;
        foreach (var w in wanted)
            if (ReferenceEquals(w, t)) return true;
        return false;
    }

    static void Accumulate(Dictionary<Tensor, Tensor> grads, Tensor x, Tensor g)
    {
        if (g.DType != x.DType) throw new InvalidOperationException($"gradient dtype {g.DType} for {x.Describe()}");
        if (grads.TryGetValue(x, out var prev)) grads[x] = Ops.Add(prev, g);
        else grads[x] = g;
    }

    /// <summary>Non-leaf tensors reachable from the outputs, each after all its inputs.</summary>
    static List<Tensor> TopologicalOrder(Tensor[] outputs)
    {
        var order = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // Iterative DFS: unrolled training loops make graphs far deeper than the call stack.
        var stack = new Stack<(Tensor t, int next)>();
        foreach (var o in outputs)
        {
            if (o.GradFn == null || !seen.Add(o)) continue;
            stack.Push((o, 0));
            while (stack.Count > 0)
            {
                var (t, next) = stack.Pop();
                var inputs = t.GradFn!.Inputs;
                if (next < inputs.Length)
                {
                    stack.Push((t, next + 1));
                    var x = inputs[next];
                    if (x.GradFn != null && seen.Add(x)) stack.Push((x, 0));
                }
                else order.Add(t);
            }
        }
        return order;
    }
}
