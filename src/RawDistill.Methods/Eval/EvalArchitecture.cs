namespace RawDistill.Methods.Eval;

using RawDistill.Nn.Models;
using RawDistill.Random;

/// <summary>
/// An architecture the evaluation pre-trains and probes (design page evaluation.md,
/// "Architectures to transfer to"): its report name and how to build a fresh network with
/// a head of a given number of outputs (0 = no head).
/// </summary>
/// <param name="Name">Name in the report and the CSV.</param>
/// <param name="Input">Input geometry.</param>
/// <param name="Build">A fresh network with a linear head of the given outputs, initialized from the generator.</param>
public sealed record EvalArchitecture(string Name, ImageShape Input, Func<int, Generator, ImageModel> Build)
{
    /// <summary>Names <see cref="Of"/> accepts besides <c>convnet</c>.</summary>
    public static readonly string[] Zoo = ["resnet10", "resnet18", "vgg11bn", "alexnetbn", "mobilenetv2"];

    /// <summary>Whether <see cref="Of"/> knows <paramref name="name"/> (case-insensitive).</summary>
    public static bool IsKnown(string name) => name.Equals("convnet", StringComparison.OrdinalIgnoreCase) || Zoo.Contains(name.ToLowerInvariant());

    /// <summary>The ConvNet the set was distilled with (its configuration's head is replaced).</summary>
    public static EvalArchitecture ConvNet(ConvNetConfig net) =>
        new("convnet-" + string.Join('-', net.Widths), net.Input, (outputs, rng) => new ConvNet(net with { Outputs = outputs }, rng));

    /// <summary>
    /// <c>convnet</c> (the distillation ConvNet <paramref name="distillNet"/>) or one of
    /// <see cref="Zoo"/> at the input geometry of <paramref name="distillNet"/>.
    /// </summary>
    public static EvalArchitecture Of(string name, ConvNetConfig distillNet)
    {
        var input = distillNet.Input;
        return name.ToLowerInvariant() switch
        {
            "convnet" => ConvNet(distillNet),
            "resnet10" => new("resnet10", input, (o, rng) => new ResNet(ResNetConfig.ResNet10(input, o), rng)),
            "resnet18" => new("resnet18", input, (o, rng) => new ResNet(ResNetConfig.ResNet18(input, o), rng)),
            "vgg11bn" => new("vgg11bn", input, (o, rng) => new Vgg11Bn(input, o, rng: rng)),
            "alexnetbn" => new("alexnetbn", input, (o, rng) => new AlexNetBn(input, o, rng: rng)),
            "mobilenetv2" => new("mobilenetv2", input, (o, rng) => new MobileNetV2(input, o, rng: rng)),
            _ => throw new ArgumentException($"unknown architecture '{name}'; expected convnet or one of {string.Join(", ", Zoo)}"),
        };
    }
}
