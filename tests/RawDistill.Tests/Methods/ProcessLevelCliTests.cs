namespace RawDistill.Tests.Methods;

using System.Diagnostics;
using RawDistill.IO;
using RawDistill.Methods.KrrSt;

/// <summary>
/// The CLI as a separate process (the rawdistill.dll the test project carries): killed with
/// SIGKILL right after it says a checkpoint is written, and raced by a second run into its folder.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ProcessLevelCliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "rd-proc-" + Guid.NewGuid().ToString("N")[..8]);

    public ProcessLevelCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Process Start(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "rawdistill.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    string[] Args(string data, string teacher, string run, int steps) =>
        ["distill", "--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3", "--widths", "4,8",
            "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--checkpoint-every", "1", "--eval-seeds", "0", "--out", run];

    /// <summary>Reads stderr lines until one matches, then kills the process tree; returns the line (null if the process ended first).</summary>
    static string? KillAfter(Process p, Func<string, bool> match)
    {
        string? line;
        while ((line = p.StandardError.ReadLine()) != null)
        {
            if (!match(line)) continue;
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return line;
        }
        p.WaitForExit();
        return null;
    }

    [Fact]
    public void AKillRightAfterACheckpointLineLosesNothingAndResumes()
    {
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "run");
        using var p = Start(Args(data, teacher, run, 400));
        string? line = KillAfter(p, l => l.Contains("(checkpoint)", StringComparison.Ordinal) && l.StartsWith("step ", StringComparison.Ordinal) && !l.StartsWith("step 1/", StringComparison.Ordinal));
        Assert.NotNull(line);
        int printed = int.Parse(line!.Split(' ')[1].Split('/')[0], System.Globalization.CultureInfo.InvariantCulture);
        // The checkpoint the line announced is on disk (a later one may be too).
        int saved = int.Parse(Safetensors.Read(Path.Combine(run, KrrStRun.CheckpointFile)).Metadata["step"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(saved >= printed, $"the line said step {printed} was checkpointed, the file holds step {saved}");

        // A leftover temporary of a write the kill interrupted (planted if the kill did not leave one) goes on resume.
        File.WriteAllBytes(Path.Combine(run, ".checkpoint.safetensors.deadbeef.tmp"), new byte[100]);
        Assert.Equal(0, Cli.CliApp.Run(["distill", "--resume", run, "--steps", "400", "--eval-seeds", "0", "--quiet"]));
        Assert.Equal("400", Safetensors.Read(Path.Combine(run, KrrStRun.CheckpointFile)).Metadata["step"]);
        Assert.DoesNotContain(Directory.EnumerateFiles(run), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void ASecondProcessIntoARunningFolderStops()
    {
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "run");
        using var first = Start(Args(data, teacher, run, 100000));
        try
        {
            // Wait until the first run is stepping (it holds the folder by then).
            string? line;
            while ((line = first.StandardError.ReadLine()) != null && !line.StartsWith("step ", StringComparison.Ordinal)) { }
            Assert.NotNull(line);
            using var second = Start(Args(data, teacher, run, 3));
            string err = second.StandardError.ReadToEnd();
            second.WaitForExit();
            Assert.Equal(1, second.ExitCode);
            Assert.Contains($"another run is writing there (pid {first.Id}", err);
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
    }
}
