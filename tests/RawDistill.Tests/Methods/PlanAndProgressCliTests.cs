namespace RawDistill.Tests.Methods;

using RawDistill.IO;
using RawDistill.Random;

/// <summary>
/// What `distill` says before and during long work (issue 14 items 8 and 9): the plan with its
/// estimates before a teacher trains, the teacher's epochs, and every phase on the one display.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class PlanAndProgressCliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "rd-plan-" + Guid.NewGuid().ToString("N")[..8]);

    public PlanAndProgressCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>256 + 20 random labelled 1×8×8 images: one full batch of the cached teacher's default 256.</summary>
    string Data()
    {
        var rng = new Generator(9);
        string Split(string name, int n)
        {
            var px = new float[n * 64];
            rng.FillUniform(px);
            string path = Path.Combine(_dir, name + ".safetensors");
            Safetensors.Write(path, [SafetensorsEntry.Create("images", [n, 1, 8, 8], px.Select(v => (byte)(v * 255)).ToArray()),
                SafetensorsEntry.Create("labels", [n], Enumerable.Range(0, n).Select(i => i % 2).ToArray())], new Dictionary<string, string> { ["classes"] = "2" });
            return path;
        }
        return $"safetensors:{Split("train", 256)},{Split("test", 20)}";
    }

    static (int Code, string Err) Run(params string[] args)
    {
        var err = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(new StringWriter());
        Console.SetError(err);
        try
        {
            return (Cli.CliApp.Run(args), err.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void DistillOnANewDatasetAnnouncesItsTeacherAndShowsEveryPhase()
    {
        string data = Data();
        string[] args = ["distill", "--data", data, "--cache", Path.Combine(_dir, "cache"), "--teacher-epochs", "2", "-m", "4", "--real-batch", "16",
            "--pool-size", "2", "--t-max", "3", "--widths", "4,8", "--steps", "3", "--eval-seeds", "1", "--eval-epochs", "2", "--baselines", "none",
            "--out", Path.Combine(_dir, "run")];
        var (code, err) = Run(args);
        Assert.Equal(0, code);
        var lines = err.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        // Item 8: the plan comes first, before the teacher trains, with the teacher's cost in it.
        int plan = lines.FindIndex(l => l.StartsWith("plan: train the teacher 2 epochs on 256 8×8 images", StringComparison.Ordinal));
        int training = lines.FindIndex(l => l.StartsWith("teacher: none cached; training", StringComparison.Ordinal));
        Assert.True(plan >= 0 && training > plan, $"no plan before the teacher training:\n{err}");
        Assert.Contains("then distill 3 KRR-ST steps (m 4)", lines[plan]);
        Assert.Contains("then evaluate 2 sets × 1 seeds", lines[plan]);
        Assert.Contains("benchmarks/results", lines[plan]);
        // The teacher's epochs are visible, each with its mean loss (kept lines), on the shared display.
        Assert.Contains(lines, l => l.StartsWith("teacher epoch 1/2 step 1/1 · ", StringComparison.Ordinal) && l.Contains("epoch mean loss", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("teacher epoch 2/2 step 1/1 · ", StringComparison.Ordinal) && l.EndsWith("· done", StringComparison.Ordinal));
        // Item 9: distillation steps and evaluation cells on the same display: "phase k/K · … · elapsed … · ETA …".
        Assert.Contains(lines, l => l.StartsWith("step 3/3 · loss ", StringComparison.Ordinal) && l.Contains("(checkpoint)", StringComparison.Ordinal) && l.Contains("· elapsed ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("evaluation cell 1/2 · ", StringComparison.Ordinal) && l.Contains("· ETA ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("evaluation cell 2/2 · ", StringComparison.Ordinal) && l.EndsWith("· done", StringComparison.Ordinal));
        Assert.DoesNotContain('\r', err);   // standard error is not a terminal here: plain lines, no redraws

        // Once the teacher is cached the plan has no teacher in it.
        var (code2, err2) = Run([.. args[..^1], Path.Combine(_dir, "run2")]);
        Assert.Equal(0, code2);
        Assert.Contains("plan: distill 3 KRR-ST steps (m 4)", err2);
        Assert.DoesNotContain("train the teacher", err2);
    }
}
