namespace RawDistill.Autodiff;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// One backward call: the state of the walk from the outputs back to the requested
/// tensors, and the bookkeeping that lets it compute only what was asked and free what it
/// no longer needs.
/// <list type="bullet">
/// <item>Only nodes from which a requested tensor can be reached run their rules, and each
/// rule gets a <see cref="GradMask"/> of the inputs on such a path.</item>
/// <item>Without createGraph nothing computed here is part of a graph, so the sweep owns
/// it: each rule runs in its own <see cref="TensorScope"/> (its temporaries die with it),
/// and a gradient is disposed as soon as its node has consumed it. Several entries may
/// hold one tensor object (add hands g to both operands), so the sweep counts holders per
/// object and disposes at zero; tensors it did not create (the caller's output gradients,
/// anything a rule passes through) are never disposed. A second contribution is added in
/// place when the first is held once and shares its memory with nothing.</item>
/// <item>Gradients of slices (a flat parameter vector unflattened) are collected as pieces
/// and joined once (a concat when they tile the input) instead of one full-size padded
/// tensor per piece.</item>
/// </list>
/// With createGraph the results must stay differentiable, so the graph the rules record
/// keeps its tensors: they stay in the caller's scope as before, and nothing is freed early.
/// </summary>
internal sealed class BackwardSweep
{
    readonly bool _createGraph;
    readonly HashSet<Tensor> _wanted = new(ReferenceEqualityComparer.Instance);
    readonly HashSet<Tensor> _needed = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<Tensor, Tensor> _grads = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<Tensor, List<(SliceOf Slice, Tensor G)>> _pieces = new(ReferenceEqualityComparer.Instance);
    // Gradient tensors this sweep created, with the number of entries (_grads values and
    // pieces) holding each. Only these are ever disposed here.
    readonly Dictionary<Tensor, int> _holders = new(ReferenceEqualityComparer.Instance);

    BackwardSweep(bool createGraph) => _createGraph = createGraph;

    /// <summary>
    /// Gradients of the outputs with respect to each of <paramref name="wanted"/> (null where
    /// the outputs do not depend on it). Results the sweep created belong to the caller's
    /// current scope afterwards; a result may also be one of the caller's own tensors (an
    /// output gradient passed straight through).
    /// </summary>
    public static Tensor?[] Run(Tensor[] outputs, Tensor[]? gradOutputs, bool createGraph, Tensor[] wanted) =>
        Run(outputs, gradOutputs, createGraph, wanted, out _);

    /// <summary>As above; <paramref name="created"/>[i] tells whether result i was made by the sweep (the caller may dispose it).</summary>
    public static Tensor?[] Run(Tensor[] outputs, Tensor[]? gradOutputs, bool createGraph, Tensor[] wanted, out bool[] created)
    {
        var sweep = new BackwardSweep(createGraph);
        foreach (var w in wanted) sweep._wanted.Add(w);
        var order = TopologicalOrder(outputs, sweep._wanted);
        sweep.MarkNeeded(order);
        sweep.Seed(outputs, gradOutputs);
        using (GradMode.Set(createGraph))
        {
            for (int k = order.Count - 1; k >= 0; k--) sweep.Visit(order[k]);
        }
        return sweep.Results(wanted, out created);
    }

    /// <summary>
    /// Recorded tensors reachable from the outputs, each after all its inputs. The walk does
    /// not go behind a requested tensor unless another requested tensor lies behind it
    /// (the history of an unrolled loop behind θ_k is not visited when only θ_k is asked for).
    /// </summary>
    internal static List<Tensor> TopologicalOrder(Tensor[] outputs, HashSet<Tensor>? wanted)
    {
        var order = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // Only non-leaf wanted tensors can hide another wanted tensor behind them.
        bool stopAtWanted = wanted != null && wanted.All(w => w.IsLeaf || !HasWantedBehind(w, wanted));
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
                bool expand = !(stopAtWanted && wanted!.Contains(t));
                if (expand && next < inputs.Length)
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

    /// <summary>Whether a requested tensor other than <paramref name="w"/> lies in w's recorded history.</summary>
    static bool HasWantedBehind(Tensor w, HashSet<Tensor> wanted)
    {
        if (wanted.Count == 1) return false;
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { w };
        var stack = new Stack<Tensor>();
        stack.Push(w);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (t.GradFn == null) continue;
            foreach (var x in t.GradFn.Inputs)
            {
                if (!seen.Add(x)) continue;
                if (wanted.Contains(x)) return true;
                stack.Push(x);
            }
        }
        return false;
    }

    /// <summary>Marks the recorded tensors from which a requested tensor can be reached: those whose rules must run.</summary>
    void MarkNeeded(List<Tensor> order)
    {
        foreach (var t in order) // inputs come before the tensors computed from them
        {
            if (_wanted.Contains(t) && _wanted.Count == 1) continue; // nothing requested lies behind the only requested tensor
            foreach (var x in t.GradFn!.Inputs)
            {
                if (_wanted.Contains(x) || _needed.Contains(x))
                {
                    _needed.Add(t);
                    break;
                }
            }
        }
    }

    bool Leads(Tensor x) => x.RequiresGrad && (_wanted.Contains(x) || _needed.Contains(x));

    void Seed(Tensor[] outputs, Tensor[]? gradOutputs)
    {
        for (int i = 0; i < outputs.Length; i++)
        {
            var y = outputs[i];
            if (!y.RequiresGrad) throw new ArgumentException($"output {y.Describe()} does not require gradients (nothing it depends on requires them)");
            if (gradOutputs?[i] is { } go)
            {
                if (!Shape.Equal(go.Shape, y.Shape)) throw new ArgumentException($"gradient {go.Describe()} does not match output {y.Describe()}");
                Accumulate(y, go);
            }
            else
            {
                if (y.Numel != 1) throw new ArgumentException($"output {y.Describe()} is not a scalar: pass its gradient explicitly");
                Accumulate(y, Owned(() => Tensor.Ones(y.Shape, y.DType, y.Backend)));
            }
        }
    }

    void Visit(Tensor t)
    {
        var node = t.GradFn!;
        if (!_needed.Contains(t)) return;
        var gt = Take(t);
        if (gt == null) return;
        var need = new bool[node.Inputs.Length];
        for (int i = 0; i < need.Length; i++) need[i] = Leads(node.Inputs[i]);

        if (node.Slice is { } slice)
        {
            // The piece is joined with its siblings when the input's own gradient is needed.
            if (need[0]) AddPiece(node.Inputs[0], slice, gt);
        }
        else
        {
            var inputGrads = RunRule(node, gt, new GradMask(need));
            for (int i = 0; i < inputGrads.Length; i++)
            {
                var x = node.Inputs[i];
                var gx = inputGrads[i];
                if (gx == null || !need[i]) continue;
                if (!Shape.Equal(gx.Shape, x.Shape))
                    throw new InvalidOperationException($"backward rule of {node.Op} gave gradient {gx.Describe()} for input {x.Describe()}");
                Accumulate(x, gx);
            }
        }
        // Intermediate gradients are no longer needed once their node has run.
        if (!_wanted.Contains(t)) Drop(gt);
        else _grads[t] = gt; // a requested non-leaf keeps its gradient for the result
    }

    /// <summary>Calls a rule; without createGraph its temporaries die with a scope of their own.</summary>
    Tensor?[] RunRule(GradNode node, Tensor gt, GradMask mask)
    {
        if (_createGraph) return Check(node, node.Backward(gt, mask));
        Tensor?[] grads;
        using (var scope = TensorScope.Begin())
        {
            grads = Check(node, node.Backward(gt, mask));
            for (int i = 0; i < grads.Length; i++)
                if (grads[i] is { } g && mask[i] && scope.Release(g)) _holders.TryAdd(g, 0);
        }
        return grads;
    }

    static Tensor?[] Check(GradNode node, Tensor?[] grads)
    {
        if (grads.Length != node.Inputs.Length)
            throw new InvalidOperationException($"backward rule of {node.Op} returned {grads.Length} gradients for {node.Inputs.Length} inputs");
        return grads;
    }

    /// <summary>Runs <paramref name="make"/> so that the tensor it returns belongs to this sweep (no scope keeps it).</summary>
    Tensor Owned(Func<Tensor> make)
    {
        if (_createGraph) return make();
        Tensor t;
        using (var scope = TensorScope.Begin())
        {
            t = make();
            if (!scope.Release(t)) return t; // not created here: borrowed
        }
        _holders.TryAdd(t, 0);
        return t;
    }

    void Hold(Tensor g)
    {
        if (_holders.TryGetValue(g, out int n)) _holders[g] = n + 1;
    }

    void Drop(Tensor g)
    {
        if (!_holders.TryGetValue(g, out int n)) return;
        if (n > 1)
        {
            _holders[g] = n - 1;
            return;
        }
        _holders.Remove(g);
        if (!_createGraph) g.Dispose();
    }

    void Accumulate(Tensor x, Tensor g)
    {
        if (g.DType != x.DType) throw new InvalidOperationException($"gradient dtype {g.DType} for {x.Describe()}");
        if (!_grads.TryGetValue(x, out var prev))
        {
            _grads[x] = g;
            Hold(g);
            return;
        }
        if (!_createGraph && _holders.TryGetValue(prev, out int n) && n == 1 && !prev.Storage.IsShared && !ReferenceEquals(prev, g))
        {
            // prev is ours alone: add in place (no third full-size tensor).
            var strides = Shape.Strides(prev.Shape);
            prev.Backend.Binary(BinaryOp.Add, prev.Storage, strides, g.Storage, strides, prev.Storage, prev.Shape);
            Hold(g);
            Drop(g);
            return;
        }
        var sum = Owned(() => Ops.Add(prev, g));
        _grads[x] = sum;
        Hold(sum);
        Drop(prev);
        Hold(g);
        Drop(g);
    }

    void AddPiece(Tensor x, SliceOf slice, Tensor g)
    {
        if (!_pieces.TryGetValue(x, out var list)) _pieces[x] = list = [];
        list.Add((slice, g));
        Hold(g);
    }

    /// <summary>The whole accumulated gradient of x (pieces joined), removed from the table; null if none reached it.</summary>
    Tensor? Take(Tensor x)
    {
        if (_pieces.Remove(x, out var pieces)) Accumulate(x, JoinPieces(x, pieces));
        return _grads.Remove(x, out var g) ? g : null;
    }

    /// <summary>
    /// The gradient of x from the gradients of slices of it: a concat when the slices tile
    /// x along one axis, else each piece placed into zeros and summed.
    /// </summary>
    Tensor JoinPieces(Tensor x, List<(SliceOf Slice, Tensor G)> pieces)
    {
        pieces.Sort((a, b) => a.Slice.Start.CompareTo(b.Slice.Start));
        int axis = pieces[0].Slice.Axis, next = 0;
        bool tiles = true;
        foreach (var (s, _) in pieces)
        {
            if (s.Axis != axis || s.Start != next) tiles = false;
            next = s.Start + s.Length;
        }
        tiles &= next == x.Shape[axis];
        var joined = Owned(() =>
        {
            if (tiles) return pieces.Count == 1 ? Ops.Clone(pieces[0].G) : Ops.Concat(pieces.Select(p => p.G).ToArray(), axis);
            Tensor? sum = null;
            foreach (var (s, g) in pieces)
            {
                var full = Ops.SliceBackward(g, s.Axis, s.Start, s.Full);
                sum = sum == null ? full : Ops.Add(sum, full);
            }
            return sum!;
        });
        foreach (var (_, g) in pieces) Drop(g);
        return joined;
    }

    /// <summary>A second handle on a result: an alias that stays differentiable under createGraph, a plain view otherwise.</summary>
    Tensor Share(Tensor g) => _createGraph && g.RequiresGrad ? Ops.Alias(g) : Ops.Detach(g);

    /// <summary>The requested gradients; the ones this sweep created go to the caller's scope, everything else it holds is freed.</summary>
    Tensor?[] Results(Tensor[] wanted, out bool[] created)
    {
        var result = new Tensor?[wanted.Length];
        created = new bool[wanted.Length];
        var handedOut = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < wanted.Length; i++)
        {
            var g = Take(wanted[i]);
            if (g == null)
            {
                // The same tensor asked for twice: give it a view of the first answer.
                int j = Array.FindIndex(wanted, 0, i, w => ReferenceEquals(w, wanted[i]));
                if (j >= 0 && result[j] != null)
                {
                    result[i] = Share(result[j]!);
                    created[i] = true;
                }
                continue;
            }
            bool ours = _holders.Remove(g);
            if (!handedOut.Add(g))
            {
                // One tensor answers two requests (add gave g to both): each caller copy must be disposable on its own.
                result[i] = Share(g);
                created[i] = true;
                continue;
            }
            if (ours && !_createGraph) TensorScope.Track(g);
            result[i] = g;
            created[i] = ours;
        }
        // Whatever is left (gradients of tensors nobody asked for) dies here.
        foreach (var g in _grads.Values) Drop(g);
        foreach (var list in _pieces.Values)
            foreach (var (_, g) in list) Drop(g);
        return result;
    }
}
