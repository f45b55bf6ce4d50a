namespace RawDistill.Tests.Nn;

using System.Text.Json;
using RawDistill.IO;
using RawDistill.Nn.Optim;
using RawDistill.Tensors;
using Xunit.Abstractions;
using static NnTestUtil;

/// <summary>
/// Ten steps of SGD (plain, momentum + weight decay, Nesterov, dampening), AdamW and LARS
/// with learning-rate schedules and gradient-norm clipping against PyTorch's optimizers fed
/// the same gradients (tests/pytorch/make_model_fixtures.py); and an exact save/restore of
/// the optimizer state half-way.
/// </summary>
[Trait("Category", "PyTorchParity")]
public sealed class OptimizerParityTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("rawdistill-optim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly SafetensorsFile File = Safetensors.Read(FixturePath("optim.safetensors"));
    static readonly string[] Names = ["w", "b", "img"];

    public static TheoryData<string> Cases => new("sgd_plain", "sgd_momentum_wd", "sgd_nesterov", "sgd_dampening", "adamw", "adamw_clip", "lars");

    static (Optimizer Opt, double? Clip) Create(string name, Tensor[] ps)
    {
        var c = JsonDocument.Parse(File.Metadata[name]).RootElement;
        double D(string k, double dflt = 0) => c.TryGetProperty(k, out var v) ? v.GetDouble() : dflt;
        Optimizer opt = c.GetProperty("kind").GetString() switch
        {
            "sgd" => new Sgd(ps, D("lr"), D("momentum"), D("dampening"), D("weight_decay"), c.TryGetProperty("nesterov", out var n) && n.GetBoolean()),
            "adamw" => new AdamW(ps, D("lr"), c.GetProperty("betas")[0].GetDouble(), c.GetProperty("betas")[1].GetDouble(), D("eps"), D("weight_decay")),
            "lars" => new Lars(ps, D("lr"), D("weight_decay"), D("momentum"), D("eta")),
            _ => throw new ArgumentException(name),
        };
        opt.Schedule = c.GetProperty("schedule").GetString() switch
        {
            "constant" => LrSchedule.Constant(),
            "step" => LrSchedule.Step(3, 0.5),
            "linear" => LrSchedule.Linear(1.0, 0.1, 10),
            "warmup_cosine" => LrSchedule.Warmup(3, LrSchedule.Cosine(7)),
            _ => throw new ArgumentException(name),
        };
        double? clip = c.GetProperty("clip").ValueKind == JsonValueKind.Null ? null : c.GetProperty("clip").GetDouble();
        return (opt, clip);
    }

    static void RunStep(string name, Optimizer opt, Tensor[] ps, double? clip, int k)
    {
        for (int i = 0; i < ps.Length; i++) ps[i].Grad = Load(File, $"{name}.grads.{k}.{Names[i]}");
        if (clip is { } c) GradClip.ClipGradNorm(ps, c);
        opt.Step();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StepsMatchPyTorch(string name)
    {
        int steps = int.Parse(File.Metadata["steps"], System.Globalization.CultureInfo.InvariantCulture);
        var ps = Names.Select(n => Load(File, $"{name}.{n}0")).ToArray();
        var (opt, clip) = Create(name, ps);
        var lrs = File.GetF64($"{name}.lr");
        double worst = 0;
        for (int k = 0; k < steps; k++)
        {
            RunStep(name, opt, ps, clip, k);
            Assert.Equal(lrs[k], opt.Lr, 1e-12);
            for (int i = 0; i < ps.Length; i++)
            {
                double e = RelErr(ps[i].ToDoubles(), File.GetF32($"{name}.after.{k}.{Names[i]}").Select(v => (double)v).ToArray());
                worst = Math.Max(worst, e);
                Assert.True(e < 1e-5, $"{name} step {k} {Names[i]}: relative error {e:E2}");
            }
        }
        output.WriteLine($"{name}: max relative error {worst:E2} over {steps} steps");
        opt.Dispose();
        foreach (var p in ps) p.Dispose();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SavedStateResumesExactly(string name)
    {
        int steps = int.Parse(File.Metadata["steps"], System.Globalization.CultureInfo.InvariantCulture);
        var a = Names.Select(n => Load(File, $"{name}.{n}0")).ToArray();
        var (optA, clip) = Create(name, a);
        for (int k = 0; k < 5; k++) RunStep(name, optA, a, clip, k);

        string path = Path.Combine(_dir, name + ".safetensors");
        optA.Save(path);
        var b = a.Select(t => t.Clone()).ToArray();
        var (optB, _) = Create(name, b);
        optB.Load(path);
        Assert.Equal(optA.StepCount, optB.StepCount);
        for (int k = 5; k < steps; k++)
        {
            RunStep(name, optA, a, clip, k);
            RunStep(name, optB, b, clip, k);
        }
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i].ToArray<float>(), b[i].ToArray<float>());
        optA.Dispose();
        optB.Dispose();
    }
}
