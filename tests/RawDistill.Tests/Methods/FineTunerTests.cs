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

    [Fact]
    public void TheRowIsLabelledShortBelowTheReferenceStepCount()
    {
        // The KRR-ST reference: 10000 SGD steps of batch 128, whatever the labelled set's size.
        Assert.Equal("fine-tune", FineTuneOptions.Reference().ProtocolName(600));
        Assert.Equal(FineTuneOptions.ReferenceSteps, FineTuneOptions.Reference().StepsFor(600));
        Assert.Equal("fine-tune short (2000 steps; reference 10000)", FineTuneOptions.Reference(2000).ProtocolName(600));
        // 20 epochs of 600 images at batch 128 are 20 × 5 = 100 steps.
        Assert.Equal(100, new FineTuneOptions(20).StepsFor(600));
        Assert.Equal("fine-tune short (100 steps; reference 10000)", new FineTuneOptions(20).ProtocolName(600));
        Assert.Equal("fine-tune short (1 step; reference 10000)", FineTuneOptions.Reference(1).ProtocolName(600));
        Assert.Equal("fine-tune short (60 steps of batch 256; reference 10000 of batch 128)", new FineTuneOptions(20, Batch: 256).ProtocolName(600));
        Assert.Equal("fine-tune (20000 steps; reference 10000)", FineTuneOptions.Reference(20000).ProtocolName(600));
        Assert.True(PretrainEvaluation.IsAccuracyProtocol(FineTuneOptions.Reference(2000).ProtocolName(600)));
        Assert.Contains("fine-tuning 2000 steps (reference: 10000 steps of batch 128)", FineTuneOptions.Reference(2000).ToString());

        // The label is the report's column header and is judged like any accuracy.
        string label = FineTuneOptions.Reference(2000).ProtocolName(600);
        var results = new List<EvalResult>();
        for (ulong s = 0; s < 3; s++)
        {
            results.Add(new EvalResult("X distilled", "convnet", 0.01, s, 0.80 + 0.01 * s, label, EvalRole.Candidate));
            results.Add(new EvalResult("random-kd", "convnet", 0.01, s, 0.70 + 0.01 * s, label, EvalRole.Reference));
        }
        Assert.Contains("| pre-training set | fine-tune short (2000 steps; reference 10000), 1% labels |", PretrainEvaluation.Table(results));
        Assert.Contains("fine-tune short (2000 steps; reference 10000) (convnet): beats it at 1%", EvalReport.Headline(results));
    }

    [Fact]
    public void StepsThatMakeWholeEpochsTrainAsTheEpochsDo()
    {
        var train = TopBottom(32, 1);
        var test = TopBottom(16, 2);
        var arch = EvalArchitecture.ConvNet(new ConvNetConfig(new ImageShape(1, 12), [4], ConvNorm.Batch));
        using var encoder = arch.Build(0, new Generator(3));
        var all = Enumerable.Range(0, 32).ToArray();
        // 2 epochs of 32 images at batch 16 are 4 steps: the same batches, the same schedule.
        double byEpochs = FineTuner.Run(encoder, arch, train, all, test, Norm, 2, new FineTuneOptions(2, Lr: 0.05, Batch: 16), seed: 0);
        double bySteps = FineTuner.Run(encoder, arch, train, all, test, Norm, 2, new FineTuneOptions(0, Lr: 0.05, Batch: 16) { Steps = 4 }, seed: 0);
        Assert.Equal(byEpochs, bySteps);
        Assert.Throws<ArgumentOutOfRangeException>(() => FineTuner.Run(encoder, arch, train, all, test, Norm, 2, new FineTuneOptions(0, Batch: 16), seed: 0));
    }
}
