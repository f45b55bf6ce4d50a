namespace RawDistill.Tests.Nn;

using System.Text.Json;
using RawDistill.IO;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Tensors;

/// <summary>Shared helpers of the Nn tests: fixtures, model building from fixture configs, error measures.</summary>
internal static class NnTestUtil
{
    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "nn", name);

    public static Tensor Load(SafetensorsFile f, string name)
    {
        var e = f[name];
        var t = Tensor.Empty(e.Shape, e.DType);
        t.Backend.Upload(t.Storage, e.Data);
        return t;
    }

    /// <summary>max|a − b| / max|b| (norm-wise relative error; 0 when both are zero).</summary>
    public static double RelErr(double[] actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            num = Math.Max(num, Math.Abs(actual[i] - expected[i]));
            den = Math.Max(den, Math.Abs(expected[i]));
        }
        return den == 0 ? num : num / den;
    }

    /// <summary>Builds a model from the JSON config a fixture's metadata carries.</summary>
    public static Module Build(string json)
    {
        var c = JsonDocument.Parse(json).RootElement;
        int I(string k) => c.GetProperty(k).GetInt32();
        int[] A(string k) => c.GetProperty(k).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var kind = c.GetProperty("kind").GetString();
        ImageShape Img() => new(I("channels"), I("size"));
        return kind switch
        {
            "convnet" => new ConvNet(new ConvNetConfig(Img(), A("widths"),
                c.GetProperty("norm").GetString() switch { "batch" => ConvNorm.Batch, "instance" => ConvNorm.Instance, _ => ConvNorm.None },
                c.GetProperty("pool").GetString() == "avg" ? ConvPool.Avg : ConvPool.Max,
                c.GetProperty("conv_bias").GetBoolean(), null, I("outputs"))),
            "resnet" => new ResNet(new ResNetConfig(Img(), A("blocks"), I("width"), I("stem_padding"), I("outputs"),
                c.TryGetProperty("block", out var block) && block.GetString() == "bottleneck" ? ResNetBlock.Bottleneck : ResNetBlock.Basic,
                c.TryGetProperty("stem", out var stem) && stem.GetString() == "imagenet" ? ResNetStem.ImageNet : ResNetStem.Cifar)),
            "vgg11bn" => new Vgg11Bn(Img(), I("outputs"), I("width")),
            "alexnetbn" => new AlexNetBn(Img(), I("outputs"), I("width_divisor")),
            "mobilenetv2" => new MobileNetV2(Img(), I("outputs"), c.GetProperty("width_multiplier").GetDouble()),
            "mlp" => new MlpProjector(I("input_dim"), A("dims"), c.GetProperty("bias").GetBoolean()),
            _ => throw new ArgumentException(kind),
        };
    }
}
