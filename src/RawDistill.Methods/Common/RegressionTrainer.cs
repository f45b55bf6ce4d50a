namespace RawDistill.Methods.Common;

using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Nn.Models;
using RawDistill.Nn.Optim;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// MSE regression of a network onto targets with SGD, epoch by epoch (architecture.md: the
/// evaluation's pre-training and MKDT's experts are both this):
/// <code>
/// every epoch: a fresh permutation of the n samples; for each minibatch B (the last may be smaller)
///     L = mean((f_θ(x_B) − y_B)²);  θ ← SGD(θ, ∇_θ L)
/// </code>
/// in train mode. The per-epoch hook sees the model after each epoch (experts save θ there).
/// </summary>
public static class RegressionTrainer
{
    /// <summary>
    /// Trains epochs <paramref name="startEpoch"/>+1 … <paramref name="endEpoch"/> (so a resumed
    /// run passes the epochs it has done). <paramref name="order"/> gives one permutation per
    /// epoch; its state is part of what a resumable caller saves.
    /// </summary>
    /// <param name="model">The network (its head maps to d).</param>
    /// <param name="sgd">The optimizer over <c>model.Parameters()</c>.</param>
    /// <param name="data">The samples.</param>
    /// <param name="batch">Minibatch size.</param>
    /// <param name="startEpoch">Epochs already done.</param>
    /// <param name="endEpoch">Epoch to stop after.</param>
    /// <param name="order">Generator of the permutations.</param>
    /// <param name="backend">Where the minibatches go.</param>
    /// <param name="onEpoch">(epoch done, mean minibatch loss of that epoch).</param>
    public static void Train(ImageModel model, Optimizer sgd, RegressionData data, int batch, int startEpoch, int endEpoch, Generator order,
        IBackend backend, Action<int, double>? onEpoch = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        var ps = model.Parameters().ToArray();
        model.Train();
        int n = data.Count;
        for (int e = startEpoch; e < endEpoch; e++)
        {
            var perm = order.Permutation(n);
            double sum = 0;
            int batches = 0;
            for (int start = 0; start < n; start += batch)
            {
                int b = Math.Min(batch, n - start);
                var idx = perm.AsSpan(start, b);
                using var scope = TensorScope.Begin();
                var loss = Ops.Mse(model.Forward(data.Inputs(idx, backend)), data.Targets(idx, backend));
                sgd.Step(Autograd.Grad([loss], ps));
                sum += loss.Item();
                batches++;
            }
            onEpoch?.Invoke(e + 1, sum / batches);
        }
    }
}
