namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.Methods.Eval;
using RawDistill.Nn.Models;
using RawDistill.Random;

/// <summary>Full fine-tuning of the evaluation protocol.</summary>
public sealed class FineTunerTests
{
    /// <summary>
    /// n 1×12×12 images of two classes: class 0 is bright in the top half, class 1 in the bottom
    /// half (horizontal flips and ±4 px crops keep the classes apart), plus noise.
    /// </summary>
    static ImageDataset TopBottom(int n, ulong seed)
    {
        const int s = 12;
        var noise = new float[n * s * s];
        new Generator(seed).FillUniform(noise);
        var px = new byte[n * s * s];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2;
            for (int r = 0; r < s; r++)
                for (int c = 0; c < s; c++)
                {
                    bool bright = (r < s / 2) == (labels[i] == 0);
                    px[(i * s + r) * s + c] = (byte)((bright ? 150 : 30) + 100 * noise[(i * s + r) * s + c]);
                }
        }
        return new ImageDataset("top-bottom", px, n, 1, s, s, labels, 2);
    }

    static readonly NormalizationStats Norm = new([0.4], [0.3]);

    [Fact]
    public void LearnsAnEasyTaskAndLeavesTheEncoderUntouched()
    {
        var train = TopBottom(64, 1);
        var test = TopBottom(40, 2);
        var arch = EvalArchitecture.ConvNet(new ConvNetConfig(new ImageShape(1, 12), [4, 8], ConvNorm.Batch));
        using var encoder = arch.Build(0, new Generator(3));
        var before = encoder.FlattenParameters().ToArray<float>();
        double untrained = FineTuner.Accuracy(FineTuner.Build(encoder, arch, 2, seed: 0), test, Norm);
        double acc = FineTuner.Run(encoder, arch, train, Enumerable.Range(0, 64).ToArray(), test, Norm, 2, new FineTuneOptions(15, Lr: 0.05, Batch: 16), seed: 0);
        Assert.True(acc >= 0.95, $"fine-tuned accuracy {acc} (untrained head: {untrained})");
        Assert.Equal(before, encoder.FlattenParameters().ToArray<float>());
        // Same seed, same result.
        Assert.Equal(acc, FineTuner.Run(encoder, arch, train, Enumerable.Range(0, 64).ToArray(), test, Norm, 2, new FineTuneOptions(15, Lr: 0.05, Batch: 16), seed: 0));
    }

    [Theory]
    [InlineData("convnet", "classifier.")]
    [InlineData("resnet10", "fc.")]
    public void BuildCopiesEverythingButTheHead(string name, string headPrefix)
    {
        // The pre-trained encoder has a 5-output MSE head; the fine-tuning model a fresh 3-way one.
        var arch = EvalArchitecture.Of(name, new ConvNetConfig(new ImageShape(1, 12), [4, 8], ConvNorm.Batch));
        using var encoder = arch.Build(5, new Generator(3));
        using var model = FineTuner.Build(encoder, arch, 3, seed: 1);
        Assert.Equal(3, model.Head!.OutFeatures);
        static double[] Values(Tensors.Tensor t) => Ops.Cast(t, Tensors.DType.F64).ToArray<double>();
        var source = encoder.StateDict().ToDictionary(kv => kv.Key, kv => Values(kv.Value));
        int copied = 0;
        foreach (var (key, t) in model.StateDict())
            if (!key.StartsWith(headPrefix, StringComparison.Ordinal))
            {
                Assert.Equal(source[key], Values(t));
                copied++;
            }
        Assert.Equal(source.Count - 2, copied); // all but the head's weight and bias
        // An encoder of another architecture is refused with the missing name.
        using var other = EvalArchitecture.Of("convnet", new ConvNetConfig(new ImageShape(1, 12), [4], ConvNorm.Batch)).Build(0, new Generator(0));
        if (name == "resnet10") Assert.Contains("resnet10", Assert.Throws<ArgumentException>(() => FineTuner.Build(other, arch, 3, 1)).Message);
    }

    [Fact]
    public void AccuracyCountsCorrectPredictions()
    {
        // A classifier whose head always prefers class 1 scores exactly the share of class-1 images.
        var data = TopBottom(10, 4);
        using var model = new ConvNet(new ConvNetConfig(new ImageShape(1, 12), [2], ConvNorm.None, Outputs: 2), new Generator(0));
        foreach (var (name, t) in model.StateDict())
            t.CopyFrom(Tensors.Tensor.Zeros(t.Shape, t.DType));
        model.Head!.Bias!.CopyFrom(Tensors.Tensor.From<float>([0f, 1f], [2]));
        Assert.Equal(0.5, FineTuner.Accuracy(model, data, Norm));
    }
}
