namespace RawDistill;

using RawDistill.Tensors;

// Softmax family and losses.
public static partial class Ops
{
    static (int rows, int cols) Rows(string op, Tensor x)
    {
        NeedFloat(op, x);
        if (x.Rank == 0) throw new ArgumentException($"{op}: needs at least one axis");
        int cols = x.Shape[^1];
        return (checked((int)(x.Numel / Math.Max(1, cols))), cols);
    }

    /// <summary>Softmax over the last axis. ∂/∂x = y ⊙ (g − Σ_j g_j·y_j).</summary>
    public static Tensor Softmax(Tensor x)
    {
        var (rows, cols) = Rows("softmax", x);
        var y = EmptyLike(x, x.Shape);
        x.Backend.Softmax(x.Storage, rows, cols, y.Storage, log: false);
        return Record(y, "softmax", [x], g => [Mul(y, Sub(g, Sum(Mul(g, y), [-1], keepDim: true)))]);
    }

    /// <summary>log-softmax over the last axis. ∂/∂x = g − eʸ·Σ_j g_j.</summary>
    public static Tensor LogSoftmax(Tensor x)
    {
        var (rows, cols) = Rows("log_softmax", x);
        var y = EmptyLike(x, x.Shape);
        x.Backend.Softmax(x.Storage, rows, cols, y.Storage, log: true);
        return Record(y, "log_softmax", [x], g => [Sub(g, Mul(Exp(y), Sum(g, [-1], keepDim: true)))]);
    }

    /// <summary>One-hot rows [N, classes] (dtype of <paramref name="like"/>) for i32 labels [N].</summary>
    public static Tensor OneHot(Tensor labels, int classes, Tensor like)
    {
        if (labels.DType != DType.I32 || labels.Rank != 1) throw new ArgumentException($"one_hot: labels must be 1-D i32, got {labels.Describe()}");
        var host = labels.ToArray<int>();
        var flat = new int[host.Length];
        for (int i = 0; i < host.Length; i++)
        {
            if ((uint)host[i] >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(labels), $"label {host[i]} at position {i} is outside [0, {classes})");
            flat[i] = i * classes + host[i];
        }
        using var idx = Tensor.From<int>(flat, [host.Length], labels.Backend);
        var y = Tensor.Zeros([host.Length, classes], like.DType, like.Backend);
        using var ones = Tensor.Ones([host.Length], like.DType, like.Backend);
        y.Backend.ScatterAddFlat(ones.Storage, idx.Storage, host.Length, y.Storage);
        return y;
    }

    /// <summary>Mean cross-entropy of logits [N, classes] against i32 labels [N]: −mean_i log softmax(x_i)[y_i].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        if (logits.Rank != 2 || labels.Rank != 1 || labels.Shape[0] != logits.Shape[0])
            throw new ArgumentException($"cross_entropy: expected logits [N, classes] and labels [N], got {logits.Describe()} and {labels.Describe()}");
        var oneHot = OneHot(labels, logits.Shape[1], logits);
        return Mul(Sum(Mul(LogSoftmax(logits), oneHot)), -1.0 / logits.Shape[0]);
    }

    /// <summary>Mean squared error: mean((a − b)²).</summary>
    public static Tensor Mse(Tensor a, Tensor b)
    {
        var d = Sub(a, b);
        return Mean(Mul(d, d));
    }
}
