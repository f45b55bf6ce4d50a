namespace RawDistill.Tests.Nn;

using System.Text.Json;
using RawDistill.Autodiff;
using RawDistill.IO;
using RawDistill.Nn;
using RawDistill.Tensors;
using Xunit.Abstractions;
using static NnTestUtil;

/// <summary>
/// Every model of the zoo against PyTorch (tests/pytorch/make_model_fixtures.py): identical
/// state-dict keys, order and shapes; weights loaded by name; output, input gradient and
/// every parameter gradient in train and eval mode, and the running statistics after the
/// train-mode forward, within 1e-4 relative error (f32). Relative error is norm-wise:
/// max|a − b| / max|b| per tensor.
/// </summary>
[Trait("Category", "PyTorchParity")]
public sealed class ModelParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    public static TheoryData<string> Models => new()
    {
        "convnet_dd", "convnet_dd_mnist", "convnet_krrst", "convnet_plain_max", "resnet10", "resnet18", "resnet50", "resnet18_imagenet_stem",
        "vgg11bn", "alexnetbn", "mobilenetv2", "mlp_projector",
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void MatchesPyTorch(string name)
    {
        var file = Safetensors.Read(FixturePath($"model_{name}.safetensors"));
        using var model = Build(file.Metadata["config"]);

        // Same keys, same order, same shapes as the PyTorch definition.
        var keys = JsonSerializer.Deserialize<string[]>(file.Metadata["keys"])!;
        Assert.Equal(keys, model.StateDict().Select(p => p.Key));
        foreach (var (k, t) in model.StateDict()) Assert.Equal(file["state." + k].Shape, t.Shape);
        var paramNames = JsonSerializer.Deserialize<string[]>(file.Metadata["params"])!;
        Assert.Equal(paramNames, model.NamedParameters().Select(p => p.Name));

        var report = StateDictIO.Load(model, file, strict: true, prefix: "state.");
        Assert.True(report.IsExact);

        using var scope = TensorScope.Begin();
        var x = Load(file, "x");
        var gradOut = Load(file, "grad_out");
        var parameters = model.NamedParameters().ToList();
        double worst = 0;
        double scale = 0;
        int zeroGrads = 0;
        string worstWhat = "";
        void Check(string what, Tensor actual)
        {
            // Gradients that are zero in exact arithmetic (a conv bias followed by a norm that
            // removes per-channel shifts) hold only rounding noise in both engines, so their
            // relative error means nothing: check that ours is zero to the same precision, i.e.
            // below 1e-4 of the mode's largest parameter gradient, and leave it out of the worst error.
            var expected = file.GetF32(what).Select(v => (double)v).ToArray();
            double own = expected.Length == 0 ? 0 : expected.Max(Math.Abs);
            if (what.Contains(".grad.", StringComparison.Ordinal) && own < 1e-4 * scale)
            {
                double mine = actual.ToDoubles().Max(Math.Abs);
                Assert.True(mine < 1e-4 * scale, $"{name} {what}: zero in exact arithmetic, PyTorch {own:E2}, ours {mine:E2} (scale {scale:E2})");
                zeroGrads++;
                return;
            }
            double e = RelErr(actual.ToDoubles(), expected);
            if (e > worst) worstWhat = what;
            worst = Math.Max(worst, e);
            Assert.True(e <= Tolerance, $"{name} {what}: relative error {e:E2}");
        }

        foreach (var mode in new[] { "train", "eval" })
        {
            model.Train(mode == "train");
            scale = file.Entries.Where(en => en.Name.StartsWith(mode + ".grad.", StringComparison.Ordinal))
                .Max(en => file.GetF32(en.Name).Max(Math.Abs));
            x.RequiresGrad = true;
            var y = model.Forward(x);
            var grads = Autograd.Grad([y], [x, .. parameters.Select(p => p.Tensor)], [gradOut]);
            Check($"{mode}.y", y);
            Check($"{mode}.grad_x", grads[0]);
            for (int i = 0; i < parameters.Count; i++) Check($"{mode}.grad.{parameters[i].Name}", grads[i + 1]);
            if (mode == "train")
            {
                foreach (var (bn, b) in model.NamedBuffers())
                {
                    if (b.DType == DType.I32) Assert.Equal(file.GetI32("train.state_after." + bn), b.ToArray<int>());
                    else Check("train.state_after." + bn, b);
                }
            }
        }
        output.WriteLine($"{name}: max relative error {worst:E2} at {worstWhat} (outputs, input gradients, {parameters.Count} parameter gradients, running stats; train+eval; {zeroGrads} exactly-zero gradients checked as zero)");
    }
}
