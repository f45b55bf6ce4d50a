namespace RawDistill.Methods.Eval;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Data.Augment;
using RawDistill.Methods.Common;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// How a fresh encoder is pre-trained on a set (X, Y) (design page evaluation.md):
/// MSE of head(encoder(norm(X))) onto Y with SGD.
/// </summary>
/// <param name="Epochs">E.</param>
/// <param name="Lr">SGD learning rate.</param>
/// <param name="Momentum">SGD momentum.</param>
/// <param name="WeightDecay">SGD weight decay.</param>
/// <param name="Batch">Minibatch size (the last batch of an epoch may be smaller).</param>
public sealed record PretrainOptions(int Epochs, double Lr = 0.1, double Momentum = 0.9, double WeightDecay = 1e-3, int Batch = 256)
{
    /// <summary>KRR-ST protocol: SGD 0.1, momentum 0.9, weight decay 1e-3, batch 256, E epochs (1000 in the paper).</summary>
    public static PretrainOptions KrrSt(int epochs = 1000) => new(epochs);

    /// <summary>MKDT protocol: 20 epochs, weight decay 1e-4, lr 0.1 (or the learned η).</summary>
    public static PretrainOptions Mkdt(double lr = 0.1) => new(20, lr, 0.9, 1e-4);

    /// <inheritdoc/>
    public override string ToString() => $"{Epochs} epochs of SGD lr {Lr}, momentum {Momentum}, wd {WeightDecay}, batch {Batch}";
}

/// <summary>
/// The KRR-ST paper's "Random" baseline recipe (random-ce): a real subset with its class
/// labels, cross-entropy, SGD lr 0.01, momentum 0.9, weight decay 5e-4, the learning rate
/// ×0.1 halfway, crop (zero padding 4) + flip of every batch.
/// </summary>
/// <param name="Epochs">Epochs over the m images.</param>
/// <param name="Lr">SGD learning rate before the halfway drop.</param>
/// <param name="Momentum">SGD momentum.</param>
/// <param name="WeightDecay">SGD weight decay.</param>
/// <param name="Batch">Minibatch size.</param>
/// <param name="Augment">Crop + flip of the training batches.</param>
public sealed record ClassificationPretrainOptions(int Epochs, double Lr = 0.01, double Momentum = 0.9, double WeightDecay = 5e-4, int Batch = 256, bool Augment = true)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Epochs} epochs of cross-entropy on class labels, SGD lr {Lr} (×0.1 halfway), momentum {Momentum}, wd {WeightDecay}, batch {Batch}{(Augment ? ", crop+flip" : "")}";
}

/// <summary>Pre-trains a fresh network (with a new d-dim linear head) on (X, Y) by MSE regression.</summary>
public static class Pretrainer
{
    /// <summary>
    /// Builds <paramref name="arch"/> with a d-output head from <paramref name="seed"/> and
    /// trains it: every epoch a fresh permutation of the m samples, minibatches of
    /// <see cref="PretrainOptions.Batch"/>, train mode (batch norm statistics update). X is
    /// m×C×H×W in pixel space, normalized here; Y is m×d. Returned in eval mode.
    /// </summary>
    public static ImageModel Run(EvalArchitecture arch, float[] x, float[] y, NormalizationStats normalization, PretrainOptions options, ulong seed,
        IBackend? backend = null, Action<int, double>? progress = null)
    {
        int c = arch.Input.Channels, s = arch.Input.Size, img = c * s * s;
        int m = x.Length / img;
        if (m * img != x.Length || m == 0) throw new ArgumentException($"pretrain: {x.Length} pixel values are not a whole number of {c}×{s}×{s} images");
        if (y.Length % m != 0) throw new ArgumentException($"pretrain: {y.Length} target values for {m} images");
        int d = y.Length / m;
        var be = backend ?? Tensor.DefaultBackend;
        var root = new Generator(seed);
        var model = arch.Build(d, root.Fork(1));
        if (be != Tensor.DefaultBackend) model.To(be);
        var order = root.Fork(2);
        using var sgd = new Sgd(model.Parameters(), options.Lr, momentum: options.Momentum, weightDecay: options.WeightDecay);
        RegressionTrainer.Train(model, sgd, RegressionData.FromArrays(x, y, c, s, normalization), options.Batch, 0, options.Epochs, order, be, progress);
        model.Eval();
        return model;
    }

    /// <summary>
    /// Builds <paramref name="arch"/> with a <paramref name="classes"/>-way head from
    /// <paramref name="seed"/> (the same encoder initialization as <see cref="Run"/> at that
    /// seed) and trains it by cross-entropy on (X, labels) with the random-ce recipe. X is
    /// m×C×H×W in pixel space [0, 1]. Returned in eval mode; its features are the encoder's.
    /// </summary>
    public static ImageModel RunClassification(EvalArchitecture arch, float[] x, int[] labels, int classes, NormalizationStats normalization,
        ClassificationPretrainOptions options, ulong seed, IBackend? backend = null)
    {
        int c = arch.Input.Channels, s = arch.Input.Size, img = c * s * s;
        int m = labels.Length;
        if (m == 0 || x.Length != m * img) throw new ArgumentException($"pretrain (cross-entropy): {x.Length} pixel values for {m} labelled {c}×{s}×{s} images");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Epochs);
        var be = backend ?? Tensor.DefaultBackend;
        var root = new Generator(seed);
        var model = arch.Build(classes, root.Fork(1));
        if (be != Tensor.DefaultBackend) model.To(be);
        var order = root.Fork(2);
        var augmentRng = root.Fork(4);
        var augment = options.Augment ? AugmentPresets.CropFlip(4, normalization) : null;
        int perEpoch = (m + options.Batch - 1) / options.Batch;
        long total = (long)perEpoch * options.Epochs;
        var ps = model.Parameters().ToArray();
        using var sgd = new Sgd(ps, options.Lr, momentum: options.Momentum, weightDecay: options.WeightDecay)
        {
            Schedule = LrSchedule.Step(Math.Max(1, (total + 1) / 2), 0.1),
        };
        model.Train();
        var xb = new float[Math.Min(options.Batch, m) * img];
        var yb = new int[Math.Min(options.Batch, m)];
        for (int e = 0; e < options.Epochs; e++)
        {
            var perm = order.Permutation(m);
            for (int start = 0; start < m; start += options.Batch)
            {
                int b = Math.Min(options.Batch, m - start);
                for (int i = 0; i < b; i++)
                {
                    x.AsSpan(perm[start + i] * img, img).CopyTo(xb.AsSpan(i * img, img));
                    yb[i] = labels[perm[start + i]];
                }
                using var scope = TensorScope.Begin();
                var raw = Tensor.From<float>(xb.AsSpan(0, b * img), [b, c, s, s], be);
                var xt = augment != null ? augment.Apply(raw, augmentRng) : Normalization.ApplyInPlace(raw, normalization);
                var yt = Tensor.From<int>(yb.AsSpan(0, b), [b], be);
                var loss = Ops.CrossEntropy(model.Forward(xt), yt);
                sgd.Step(Autograd.Grad([loss], ps));
            }
        }
        model.Eval();
        return model;
    }
}
