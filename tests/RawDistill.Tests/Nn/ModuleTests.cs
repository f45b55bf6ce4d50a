namespace RawDistill.Tests.Nn;

using RawDistill.Autodiff;
using RawDistill.IO;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;
using static NnTestUtil;

/// <summary>Module mechanics: functional call, flat parameter vector, state save/load, init, zoo shapes.</summary>
[Trait("Category", "Nn")]
public sealed class ModuleTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("rawdistill-nn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static ConvNet SmallConvNet(ConvNorm norm = ConvNorm.Batch, ulong seed = 1) =>
        new(new ConvNetConfig(new ImageShape(3, 16), [4, 6], norm, ConvPool.Avg, true, null, 5), new Generator(seed));

    static Tensor Input(int n = 3, int c = 3, int s = 16, ulong seed = 9) => Tensor.Normal([n, c, s, s], 0, 1, new Generator(seed));

    static void AssertClose(Tensor expected, Tensor actual, double tol = 1e-6) =>
        Assert.True(RelErr(actual.ToDoubles(), expected.ToDoubles()) <= tol, $"relative error {RelErr(actual.ToDoubles(), expected.ToDoubles()):E2}");

    [Fact]
    public void FunctionalCallWithOverridesEqualsNormalForward()
    {
        using var scope = TensorScope.Begin();
        using var a = SmallConvNet(seed: 1);
        using var b = SmallConvNet(seed: 2);
        a.Eval(); b.Eval();
        var x = Input();
        // b called with all of a's parameters and buffers behaves exactly like a.
        var overrides = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        AssertClose(a.Forward(x), b.Forward(x, overrides), 0);
        AssertClose(a.Embed(x), b.Embed(x, overrides), 0);
        // Partial overrides: only the head.
        var headOnly = new Dictionary<string, Tensor> { ["classifier.weight"] = a.Head!.Weight, ["classifier.bias"] = a.Head.Bias! };
        AssertClose(a.Head.Forward(b.Embed(x)), b.Forward(x, headOnly), 0);
        // After the call, b is itself again.
        Assert.True(RelErr(b.Forward(x).ToDoubles(), a.Forward(x).ToDoubles()) > 1e-3);
    }

    [Fact]
    public void FlattenUnflattenRoundTripAndGradientsFlowToTheFlatVector()
    {
        using var scope = TensorScope.Begin();
        using var m = SmallConvNet(ConvNorm.Instance);
        var flat = m.FlattenParameters();
        Assert.Equal(m.ParameterCount, flat.Numel);
        Assert.False(flat.RequiresGrad);
        var pieces = m.UnflattenParameters(flat);
        Assert.Equal(m.NamedParameters().Select(p => p.Name), pieces.Keys);
        foreach (var (name, p) in m.NamedParameters()) Assert.Equal(p.ToArray<float>(), pieces[name].ToArray<float>());

        using var other = SmallConvNet(ConvNorm.Instance, seed: 5);
        other.LoadFlatParameters(flat);
        var x = Input();
        AssertClose(m.Forward(x), other.Forward(x), 0);

        // ∂L/∂θ through the functional call on an unflattened vector = the ordinary parameter gradients, flattened.
        var theta = m.FlattenParameters();
        theta.RequiresGrad = true;
        var y = m.Forward(x, m.UnflattenParameters(theta));
        var loss = Ops.Mean(Ops.Mul(y, y));
        var gTheta = Autograd.Grad([loss], [theta])[0];
        var gParams = Autograd.Grad([Ops.Mean(Ops.Mul(m.Forward(x), m.Forward(x)))], m.Parameters().ToArray());
        AssertClose(Module.Flatten(gParams), gTheta, 1e-6);
    }

    [Fact]
    public void UnrolledSgdStepIsDifferentiableThroughTheFunctionalCall()
    {
        // θ1 = θ0 − η ∇L(θ0; x): the gradient of a loss at θ1 w.r.t. x exists (second order).
        using var scope = TensorScope.Begin();
        using var m = SmallConvNet(ConvNorm.Instance);
        var x = Input(n: 2);
        x.RequiresGrad = true;
        var theta0 = m.FlattenParameters();
        theta0.RequiresGrad = true;
        var y0 = m.Forward(x, m.UnflattenParameters(theta0));
        var g = Autograd.Grad([Ops.Mean(Ops.Mul(y0, y0))], [theta0], createGraph: true)[0];
        var theta1 = Ops.Sub(theta0, Ops.Mul(g, 0.1));
        var target = Tensor.Normal([2, 5], 0, 1, new Generator(4));
        var outer = Ops.Mse(m.Forward(Input(n: 2, seed: 11), m.UnflattenParameters(theta1)), target);
        var gx = Autograd.Grad([outer], [x])[0];
        Assert.Contains(gx.ToDoubles(), v => v != 0);
    }

    [Fact]
    public void StateSaveLoadRoundTripAndKeyReport()
    {
        using var scope = TensorScope.Begin();
        using var a = SmallConvNet();
        var x = Input();
        a.Forward(x);   // moves running statistics and num_batches_tracked
        a.Eval();
        string path = Path.Combine(_dir, "a.safetensors");
        StateDictIO.Save(a, path, new Dictionary<string, string> { ["arch"] = "convnet" });
        Assert.Equal("convnet", Safetensors.Read(path).Metadata["arch"]);

        using var b = SmallConvNet(seed: 7);
        var report = StateDictIO.Load(b, path);
        Assert.True(report.IsExact);
        b.Eval();
        AssertClose(a.Forward(x), b.Forward(x), 0);
        Assert.Equal(1, (int)b.StateDict().First(kv => kv.Key == "features.1.num_batches_tracked").Value.Item());

        // A model without a head: the head keys are unexpected; strict loading refuses and names them.
        using var headless = new ConvNet(a.Config with { Outputs = 0 });
        var ex = Assert.Throws<StateLoadException>(() => StateDictIO.Load(headless, path));
        Assert.Equal(["classifier.bias", "classifier.weight"], ex.Report!.Unexpected);
        Assert.Contains("classifier.weight", ex.Message, StringComparison.Ordinal);
        var lenient = StateDictIO.Load(headless, path, strict: false);
        Assert.Empty(lenient.Missing);
        Assert.Equal(2, lenient.Unexpected.Count);

        // The other way round: missing keys.
        using var wider = new ConvNet(a.Config with { Outputs = 5, Widths = [4, 6, 6] });
        var ex2 = Assert.Throws<StateLoadException>(() => StateDictIO.Load(wider, path));
        Assert.Contains("features.8.weight", ex2.Report!.Missing);

        // Shape mismatches always throw, naming key and shapes.
        using var narrow = new ConvNet(a.Config with { Widths = [4, 5] });
        var ex3 = Assert.Throws<StateLoadException>(() => StateDictIO.Load(narrow, path, strict: false));
        Assert.Contains("features.4.weight: source [6, 4, 3, 3], module [5, 4, 3, 3]", ex3.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParameterGradientsAreBitReproducible()
    {
        // Resuming a run exactly needs the same gradients every time (the CPU conv weight
        // gradient once merged per-thread sums in completion order).
        using var m = new ConvNet(new ConvNetConfig(new ImageShape(3, 16), [8, 8], ConvNorm.Batch, ConvPool.Avg, true, null, 4), new Generator(1));
        var x = Input(n: 32);
        float[][]? first = null;
        for (int run = 0; run < 5; run++)
        {
            using var scope = TensorScope.Begin();
            var y = m.Forward(x);
            var grads = Autograd.Grad([Ops.Mean(Ops.Mul(y, y))], m.Parameters().ToArray()).Select(g => g.ToArray<float>()).ToArray();
            first ??= grads;
            for (int i = 0; i < grads.Length; i++) Assert.Equal(first[i], grads[i]);
        }
        x.Dispose();
    }

    [Fact]
    public void InitializationMatchesPyTorchDefaultsAndIsSeeded()
    {
        using var conv = new Conv2d(16, 32, 3, rng: new Generator(42));
        double bound = 1 / Math.Sqrt(16 * 9);
        var w = conv.Weight.ToDoubles();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        double std = Math.Sqrt(w.Select(v => v * v).Average());
        Assert.InRange(std, bound / Math.Sqrt(3) * 0.95, bound / Math.Sqrt(3) * 1.05);   // uniform(−b, b) has std b/√3
        Assert.All(conv.Bias!.ToDoubles(), v => Assert.InRange(v, -bound, bound));
        using var again = new Conv2d(16, 32, 3, rng: new Generator(42));
        Assert.Equal(conv.Weight.ToArray<float>(), again.Weight.ToArray<float>());
        using var bn = new BatchNorm2d(8);
        Assert.All(bn.NamedParameters().First().Tensor.ToDoubles(), v => Assert.Equal(1, v));
        Assert.True(conv.Weight.RequiresGrad && conv.Weight.IsLeaf);
    }

    [Fact]
    public void ParametersAreNotFreedByScopes()
    {
        ConvNet m;
        using (TensorScope.Begin()) m = SmallConvNet();
        using (m)
        using (TensorScope.Begin())
        {
            Assert.All(m.Parameters(), p => Assert.False(p.IsDisposed));
            Assert.Equal([3, 5], m.Forward(Input()).Shape);
        }
        Assert.All(m.Parameters(), p => Assert.True(p.IsDisposed));
    }

    [Fact]
    public void PresetsAndStandardSizesMatchTheReferences()
    {
        using var dd = new ConvNet(ConvNetConfig.DatasetDistillation(ImageShape.Cifar, 10));
        Assert.Equal(2048, dd.FeatureDim);
        Assert.Equal(320_010, dd.ParameterCount);   // the DC/MTT ConvNet on CIFAR-10
        using var dd64 = new ConvNet(ConvNetConfig.DatasetDistillation(new ImageShape(3, 64)));
        Assert.Equal(4, dd64.Config.Widths.Length);
        Assert.Equal(2048, dd64.FeatureDim);
        using var ddMnist = new ConvNet(ConvNetConfig.DatasetDistillation(ImageShape.Mnist));
        Assert.Equal(2048, ddMnist.FeatureDim);
        using var krr = new ConvNet(ConvNetConfig.KrrSt(ImageShape.Cifar));
        Assert.Equal(8192, krr.FeatureDim);
        Assert.Equal([128, 256, 512], krr.Config.Widths);
        Assert.Equal([64, 128, 256, 512], ConvNetConfig.KrrSt(new ImageShape(3, 64)).Widths);
        using var r18 = new ResNet(ResNetConfig.ResNet18(ImageShape.Cifar, 10));
        Assert.Equal(11_173_962, r18.ParameterCount);   // CIFAR-stem ResNet-18, 10 classes
        Assert.Equal(512, r18.FeatureDim);
        using var r10 = new ResNet(ResNetConfig.ResNet10(ImageShape.Cifar));
        Assert.Equal(4_898_112, r10.ParameterCount);   // counts from the PyTorch definitions in make_model_fixtures.py
        using var mb = new MobileNetV2(ImageShape.Cifar, 10);
        Assert.Equal(2_296_922, mb.ParameterCount);   // kuangliu/pytorch-cifar MobileNetV2, 10 classes
        using var vgg = new Vgg11Bn(ImageShape.Cifar, 10);
        Assert.Equal(9_231_114, vgg.ParameterCount);
        using var alex = new AlexNetBn(ImageShape.Cifar, 10);
        Assert.Equal(1_874_122, alex.ParameterCount);
        using var krr10 = new ConvNet(ConvNetConfig.KrrSt(ImageShape.Cifar, 10));
        Assert.Equal(1_562_634, krr10.ParameterCount);
        using var projector = new MlpProjector(512, [2048, 2048, 2048]);
        Assert.Equal(9_445_376, projector.ParameterCount);
        Assert.Contains(r18.Summary().Split('\n'), l => l.TrimStart().StartsWith("layer4.1.bn2.running_var ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("[512]  buffer", StringComparison.Ordinal));
    }

    public static TheoryData<string, int, int> ZooInputs => new()
    {
        { "convnet", 1, 28 }, { "convnet", 3, 64 }, { "resnet", 1, 28 }, { "resnet", 3, 64 }, { "vgg", 1, 28 }, { "vgg", 3, 64 },
        { "alexnet", 1, 28 }, { "alexnet", 3, 64 }, { "mobilenet", 1, 28 }, { "mobilenet", 3, 64 },
    };

    [Theory]
    [MemberData(nameof(ZooInputs))]
    public void EveryModelTakesOneAndThreeChannelsAnd28To64Pixels(string kind, int channels, int size)
    {
        var img = new ImageShape(channels, size);
        using ImageModel m = kind switch
        {
            "convnet" => new ConvNet(ConvNetConfig.DatasetDistillation(img, 7, width: 8)),
            "resnet" => new ResNet(ResNetConfig.ResNet10(img, 7, stemPadding: 2, width: 4)),
            "vgg" => new Vgg11Bn(img, 7, width: 4),
            "alexnet" => new AlexNetBn(img, 7, widthDivisor: 16),
            _ => new MobileNetV2(img, 7, 0.125),
        };
        using var scope = TensorScope.Begin();
        var x = Input(2, channels, size);
        var f = m.Embed(x);
        Assert.Equal([2, m.FeatureDim], f.Shape);
        Assert.Equal([2, 7], m.Forward(x).Shape);
        m.Eval();
        Assert.Equal([2, 7], m.Forward(x).Shape);
    }
}
