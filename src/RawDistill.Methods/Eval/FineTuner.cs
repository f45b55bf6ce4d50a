namespace RawDistill.Methods.Eval;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Data.Augment;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// Full fine-tuning (design page evaluation.md): a new linear head on the pre-trained
/// encoder, the whole network trained by cross-entropy with SGD and a cosine schedule,
/// random crop (zero padding 4) + horizontal flip of every batch. The KRR-ST reference
/// (its <c>test.py</c> and <c>algorithms/finetune.py</c>) trains
/// <see cref="ReferenceSteps"/> SGD steps of batch <see cref="ReferenceBatch"/> (lr 0.01,
/// momentum 0.9, wd 5e-4, cosine over the steps) whatever the labelled set's size; a row
/// with fewer steps is labelled short (<see cref="ProtocolName"/>).
/// </summary>
/// <param name="Epochs">Passes over the labelled subset when <see cref="Steps"/> is 0.</param>
/// <param name="Lr">SGD learning rate (cosine-decayed to 0 over all steps).</param>
/// <param name="Momentum">SGD momentum.</param>
/// <param name="WeightDecay">SGD weight decay.</param>
/// <param name="Batch">Minibatch size (the last batch of a pass may be smaller).</param>
/// <param name="Augment">Crop + flip of the training batches.</param>
public sealed record FineTuneOptions(int Epochs, double Lr = 0.01, double Momentum = 0.9, double WeightDecay = 5e-4, int Batch = FineTuneOptions.ReferenceBatch, bool Augment = true)
{
    /// <summary>SGD steps of the KRR-ST reference fine-tuning (CIFAR-10/100, TinyImageNet targets; 5000 only for its small fine-grained sets).</summary>
    public const int ReferenceSteps = 10000;

    /// <summary>Batch size of the KRR-ST reference fine-tuning.</summary>
    public const int ReferenceBatch = 128;

    /// <summary>
    /// When positive, exactly this many SGD steps (passes over the labelled subset repeat,
    /// reshuffled each time, as the reference's endless loader does) and <see cref="Epochs"/>
    /// is ignored.
    /// </summary>
    public int Steps { get; init; }

    /// <summary>The reference recipe, or <paramref name="steps"/> steps of it.</summary>
    public static FineTuneOptions Reference(int steps = ReferenceSteps) => new(0) { Steps = steps };

    /// <summary>SGD steps on <paramref name="labelled"/> images.</summary>
    public long StepsFor(int labelled) => Steps > 0 ? Steps : (long)Epochs * ((labelled + Batch - 1) / Batch);

    /// <summary>
    /// The protocol name of the cells on <paramref name="labelled"/> images: "fine-tune" at the
    /// reference's step count and batch, "fine-tune short (N steps; reference 10000)" below it,
    /// "fine-tune (N steps; reference 10000)" above it (with the batch when it differs).
    /// </summary>
    public string ProtocolName(int labelled)
    {
        long n = StepsFor(labelled);
        if (n == ReferenceSteps && Batch == ReferenceBatch) return PretrainEvaluation.FineTuneProtocol;
        string batch = (n == 1 ? "" : "s") + (Batch == ReferenceBatch ? "" : $" of batch {Batch}");
        string refBatch = Batch == ReferenceBatch ? "" : $" of batch {ReferenceBatch}";
        return n < ReferenceSteps
            ? $"{PretrainEvaluation.FineTuneProtocol} short ({n} step{batch}; reference {ReferenceSteps}{refBatch})"
            : $"{PretrainEvaluation.FineTuneProtocol} ({n} step{batch}; reference {ReferenceSteps}{refBatch})";
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"fine-tuning {(Steps > 0 ? $"{Steps} steps" : $"{Epochs} epochs")} (reference: {ReferenceSteps} steps of batch {ReferenceBatch}), SGD lr {Lr} (cosine), momentum {Momentum}, wd {WeightDecay}, batch {Batch}{(Augment ? ", crop+flip" : "")}";
}

/// <summary>Fine-tunes a copy of an encoder on labelled images and scores it on a test split.</summary>
public static class FineTuner
{
    /// <summary>
    /// Copies the feature layers of <paramref name="encoder"/> (which is left untouched) into a
    /// fresh network of architecture <paramref name="arch"/> with a <paramref name="classes"/>-way
    /// head initialized from <paramref name="seed"/>, trains it on the images of
    /// <paramref name="train"/> at <paramref name="labelled"/>, and returns its accuracy on the
    /// whole of <paramref name="test"/>.
    /// </summary>
    public static double Run(ImageModel encoder, EvalArchitecture arch, ImageDataset train, ReadOnlySpan<int> labelled, ImageDataset test, NormalizationStats normalization,
        int classes, FineTuneOptions options, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Batch);
        if (labelled.Length == 0) throw new ArgumentException("fine-tuning needs at least one labelled image");
        long steps = options.StepsFor(labelled.Length);
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"fine-tuning needs positive epochs or steps, got {options.Epochs} epochs, {options.Steps} steps");
        var be = encoder.Parameters().FirstOrDefault()?.Backend ?? Tensor.DefaultBackend;
        var root = new Generator(seed).Fork(3);
        using var model = Build(encoder, arch, classes, seed);
        var ps = model.Parameters().ToArray();
        int n = labelled.Length;
        using var sgd = new Sgd(ps, options.Lr, momentum: options.Momentum, weightDecay: options.WeightDecay)
        {
            Schedule = LrSchedule.Cosine(steps),
        };
        var augment = options.Augment ? AugmentPresets.CropFlip(4, normalization) : null;
        var order = root.Fork(2);
        var augmentRng = root.Fork(4);
        var labels = train.LabelsAt(labelled);
        var ids = labelled.ToArray();
        var batchIdx = new int[Math.Min(options.Batch, n)];
        var batchLabels = new int[batchIdx.Length];
        model.Train();
        // Passes over the labelled images, reshuffled each time, until the step count is reached
        // (with Epochs, exactly Epochs whole passes).
        for (long step = 0; step < steps;)
        {
            var perm = order.Permutation(n);
            for (int start = 0; start < n && step < steps; start += options.Batch, step++)
            {
                int b = Math.Min(options.Batch, n - start);
                for (int i = 0; i < b; i++)
                {
                    batchIdx[i] = ids[perm[start + i]];
                    batchLabels[i] = labels[perm[start + i]];
                }
                using var scope = TensorScope.Begin();
                var x = augment != null
                    ? augment.Apply(train.Batch(batchIdx.AsSpan(0, b), be), augmentRng)
                    : train.Batch(batchIdx.AsSpan(0, b), be, normalization);
                var y = Tensor.From<int>(batchLabels.AsSpan(0, b), [b], be);
                var loss = Ops.CrossEntropy(model.Forward(x), y);
                sgd.Step(Autograd.Grad([loss], ps));
            }
        }
        return Accuracy(model, test, normalization);
    }

    /// <summary>
    /// A new network of architecture <paramref name="arch"/> (the encoder's) with a
    /// <paramref name="classes"/>-way head initialized from <paramref name="seed"/>, on the
    /// encoder's backend, whose every other parameter and buffer (batch-norm statistics
    /// included) is a copy of the encoder's.
    /// </summary>
    public static ImageModel Build(ImageModel encoder, EvalArchitecture arch, int classes, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var be = encoder.Parameters().FirstOrDefault()?.Backend ?? Tensor.DefaultBackend;
        var model = arch.Build(classes, new Generator(seed).Fork(3).Fork(1));
        if (be != Tensor.DefaultBackend) model.To(be);
        var head = model.Head!.Parameters().ToHashSet(ReferenceEqualityComparer.Instance);
        var source = encoder.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, t) in model.StateDict())
        {
            if (head.Contains(t)) continue;
            if (!source.TryGetValue(name, out var from) || !Shape.Equal(from.Shape, t.Shape))
                throw new ArgumentException($"fine-tuning: the encoder has no {name} of shape [{string.Join(", ", t.Shape)}]; is it a {arch.Name}?");
            t.CopyFrom(from);
        }
        return model;
    }

    /// <summary>Top-1 accuracy of a classifier on a labelled dataset (eval mode, no augmentation).</summary>
    public static double Accuracy(ImageModel model, ImageDataset data, NormalizationStats normalization, int batch = 256)
    {
        model.Eval();
        var be = model.Parameters().FirstOrDefault()?.Backend ?? Tensor.DefaultBackend;
        var labels = data.Labels;
        var idx = new int[batch];
        int correct = 0;
        using var _ = GradMode.NoGrad();
        for (int start = 0; start < data.Count; start += batch)
        {
            int b = Math.Min(batch, data.Count - start);
            for (int i = 0; i < b; i++) idx[i] = start + i;
            using var scope = TensorScope.Begin();
            var predicted = Ops.ArgMax(model.Forward(data.Batch(idx.AsSpan(0, b), be, normalization)), 1).ToArray<int>();
            for (int i = 0; i < b; i++)
                if (predicted[i] == labels[start + i]) correct++;
        }
        return (double)correct / data.Count;
    }
}
