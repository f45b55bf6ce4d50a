namespace RawDistill.Tests.Methods;

using RawDistill.Autodiff;
using RawDistill.Data;
using RawDistill.Methods.Eval;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>The representation fit (R², MSE of a pre-trained head against the teacher's features) and the random-ce pre-training.</summary>
public sealed class RepresentationFitTests
{
    static readonly NormalizationStats Norm = new([0.5], [0.25]);

    static ImageDataset Images(int n, ulong seed)
    {
        var noise = new float[n * 64];
        new Generator(seed).FillUniform(noise);
        return new ImageDataset("toy", noise.Select(v => (byte)(v * 255)).ToArray(), n, 1, 8, 8, Enumerable.Range(0, n).Select(i => i % 2).ToArray(), 2);
    }

    static float[] Outputs(ImageModel model, ImageDataset data)
    {
        model.Eval();
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        return model.Forward(data.Batch(Enumerable.Range(0, data.Count).ToArray(), null, Norm)).ToArray<float>();
    }

    [Fact]
    public void ExactTargetsFitPerfectlyAndScaledTargetsByTheFormula()
    {
        var arch = EvalArchitecture.ConvNet(new ConvNetConfig(new ImageShape(1, 8), [4, 6], ConvNorm.Instance, ConvPool.Avg, true, null, 0));
        using var model = arch.Build(5, new Generator(3));
        var data = Images(37, 1);   // 37: a last batch smaller than the batch of 16 below
        var y = Outputs(model, data);
        var exact = RepresentationFit.Measure(model, data, Norm, y, batch: 16);
        Assert.Equal(1, exact.R2, 6);
        Assert.Equal(0, exact.Mse, 10);

        // Targets 2ŷ: SSE = Σŷ², SST = Σ(2ŷ − mean 2ŷ)² per dimension.
        var t = y.Select(v => 2 * v).ToArray();
        int n = data.Count, d = 5;
        double sse = y.Sum(v => (double)v * v), sst = 0;
        for (int j = 0; j < d; j++)
        {
            double mean = Enumerable.Range(0, n).Average(i => (double)t[i * d + j]);
            sst += Enumerable.Range(0, n).Sum(i => (t[i * d + j] - mean) * (t[i * d + j] - mean));
        }
        var scaled = RepresentationFit.Measure(model, data, Norm, t, batch: 16);
        Assert.Equal(1 - sse / sst, scaled.R2, 5);
        Assert.Equal(sse / (n * d), scaled.Mse, 6);
        Assert.Throws<ArgumentException>(() => RepresentationFit.Measure(model, data, Norm, new float[n * 4]));
    }

    [Fact]
    public void CrossEntropyPretrainingLearnsTheLabelsAndIsSeeded()
    {
        var arch = EvalArchitecture.ConvNet(new ConvNetConfig(new ImageShape(1, 8), [4, 6], ConvNorm.Instance, ConvPool.Avg, true, null, 0));
        // Class 0 dark, class 1 bright: separable, so 30 epochs of the recipe fit the training set.
        int n = 20;
        var x = new float[n * 64];
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        var noise = new float[n * 64];
        new Generator(5).FillUniform(noise);
        for (int i = 0; i < n * 64; i++) x[i] = (labels[i / 64] == 1 ? 0.6f : 0.1f) + 0.3f * noise[i];
        var options = new ClassificationPretrainOptions(30, Lr: 0.05, Batch: 8, Augment: false);
        using var a = Pretrainer.RunClassification(arch, x, labels, 2, Norm, options, seed: 7);
        using var b = Pretrainer.RunClassification(arch, x, labels, 2, Norm, options, seed: 7);
        using var scope = TensorScope.Begin();
        using var _ = GradMode.NoGrad();
        var logits = a.Forward(Normalization.ApplyInPlace(Tensor.From<float>(x, [n, 1, 8, 8]), Norm));
        var predicted = Ops.ArgMax(logits, 1).ToArray<int>();
        Assert.Equal(labels, predicted);
        Assert.Equal(logits.ToArray<float>(), b.Forward(Normalization.ApplyInPlace(Tensor.From<float>(x, [n, 1, 8, 8]), Norm)).ToArray<float>());
        Assert.Throws<ArgumentException>(() => Pretrainer.RunClassification(arch, x, labels[..5], 2, Norm, options, seed: 7));
    }
}
