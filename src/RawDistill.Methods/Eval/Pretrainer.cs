namespace RawDistill.Methods.Eval;

using RawDistill.Backends;
using RawDistill.Data;
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
}
