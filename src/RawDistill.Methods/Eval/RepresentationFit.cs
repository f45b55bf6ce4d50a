namespace RawDistill.Methods.Eval;

using RawDistill.Autodiff;
using RawDistill.Data;
using RawDistill.Nn.Models;
using RawDistill.Tensors;

/// <summary>
/// What both methods optimize, measured directly (design page evaluation.md, "Room and
/// noise"): how well a pre-trained network's d-dim head reproduces the teacher's features on
/// images it never saw (the test split). R² = 1 − Σ‖ŷ − y‖² / Σ‖y − ȳ‖², ȳ the per-dimension
/// mean of the teacher features; MSE is the mean over all test values. It says whether a set
/// transferred the teacher's representation even where the linear probe saturates.
/// </summary>
/// <param name="R2">Coefficient of determination over all dimensions (1 = the teacher exactly; ≤ 0 = no better than the mean feature).</param>
/// <param name="Mse">Mean squared error per value.</param>
public sealed record RepresentationFit(double R2, double Mse)
{
    /// <summary>
    /// Runs <paramref name="model"/> (eval mode, no gradient, batches of <paramref name="batch"/>)
    /// on every image of <paramref name="data"/> and compares its outputs with the N × d
    /// <paramref name="targets"/> (the teacher's features of the same images, in order).
    /// </summary>
    public static RepresentationFit Measure(ImageModel model, ImageDataset data, NormalizationStats normalization, float[] targets, int batch = 256)
    {
        int n = data.Count;
        if (n == 0 || targets.Length % n != 0) throw new ArgumentException($"representation fit: {targets.Length} target values for {n} images");
        int d = targets.Length / n;
        var mean = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) mean[j] += targets[(long)i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        double sse = 0, sst = 0;
        model.Eval();
        var backend = model.Parameters().FirstOrDefault()?.Backend ?? Tensor.DefaultBackend;
        using var _ = GradMode.NoGrad();
        var idx = new int[batch];
        float[]? y = null;
        for (int start = 0; start < n; start += batch)
        {
            int b = Math.Min(batch, n - start);
            for (int i = 0; i < b; i++) idx[i] = start + i;
            using var scope = TensorScope.Begin();
            var output = model.Forward(data.Batch(idx.AsSpan(0, b), backend, normalization));
            if (output.Shape.Length != 2 || output.Shape[1] != d)
                throw new ArgumentException($"representation fit: the model's head gives [{string.Join(", ", output.Shape)}], the teacher's features are {d}-d");
            y ??= new float[batch * d];
            output.CopyTo(y.AsSpan(0, b * d));
            for (int i = 0; i < b; i++)
                for (int j = 0; j < d; j++)
                {
                    double t = targets[(long)(start + i) * d + j];
                    double e = y[i * d + j] - t, c = t - mean[j];
                    sse += e * e;
                    sst += c * c;
                }
        }
        return new RepresentationFit(sst > 0 ? 1 - sse / sst : double.NaN, sse / ((double)n * d));
    }
}
