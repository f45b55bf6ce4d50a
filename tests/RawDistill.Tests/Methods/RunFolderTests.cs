namespace RawDistill.Tests.Methods;

using RawDistill.Methods.Common;
using RawDistill.Methods.KrrSt;

/// <summary>Output folders: no silent overwrite, one writer, stale temporaries removed, errors before any work, no empty folders left.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RunFolderTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "rd-runfolder-" + Guid.NewGuid().ToString("N")[..8]);

    public RunFolderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AFinishedRunIsNeitherOverwrittenNorMixedWithAnother()
    {
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "run");
        string[] common = ["distill", "--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3", "--widths", "4,8",
            "--steps", "2", "--eval-seeds", "0", "--quiet", "--out", run];
        Assert.Equal(0, Cli.CliApp.Run(common));
        var firstSet = File.ReadAllBytes(Path.Combine(run, KrrStRun.DistilledFile));
        File.WriteAllText(Path.Combine(run, "report.md"), "the first run's report");

        // A second run into the finished folder stops, names the folder and the ways out, and touches nothing.
        string err = ToyDistillation.FailingRun([.. common, "--seed", "5"]);
        Assert.Contains($"--out {run}: holds another run", err);
        Assert.Contains("--resume", err);
        Assert.Contains("--overwrite", err);
        Assert.Equal(firstSet, File.ReadAllBytes(Path.Combine(run, KrrStRun.DistilledFile)));

        // --overwrite replaces the run: the old report does not survive beside the new config.
        Assert.Equal(0, Cli.CliApp.Run([.. common, "--seed", "5", "--overwrite"]));
        Assert.False(File.Exists(Path.Combine(run, "report.md")));
        Assert.NotEqual(firstSet, File.ReadAllBytes(Path.Combine(run, KrrStRun.DistilledFile)));
    }

    [Fact]
    public void ASecondWriterStopsAtOnce()
    {
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "busy");
        using var first = RunFolder.Open(run, "--out", resume: false, overwrite: false);   // a run in progress
        string err = ToyDistillation.FailingRun(["distill", "--data", data, "--teacher", teacher, "-m", "6", "--eval-seeds", "0", "--out", run]);
        Assert.Contains($"--out {run}: another run is writing there (pid {Environment.ProcessId}", err);
        Assert.DoesNotContain(Directory.EnumerateFiles(run), f => !Path.GetFileName(f).StartsWith(RunFolder.LockFileName, StringComparison.Ordinal));
    }

    [Fact]
    public void OutputProblemsComeBeforeTheDataAndLeaveNoEmptyFolder()
    {
        // --out through a regular file: refused before the (missing) data is read.
        string file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "x");
        string err = ToyDistillation.FailingRun(["distill", "--data", "idx:/no/such/folder", "--out", Path.Combine(file, "run")]);
        Assert.Contains("--out", err);
        Assert.Contains("cannot create the folder", err);
        Assert.DoesNotContain("/no/such/folder", err);

        // A run refused after the folder was taken (a bad evaluation flag) leaves no folder behind.
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "never");
        Assert.Contains("--fractions", ToyDistillation.FailingRun(["distill", "--data", data, "--teacher", teacher, "--fractions", "2", "--out", run]));
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void DefaultFoldersMoveOnAndStaleTemporariesGo()
    {
        string runs = Path.Combine(_dir, "runs", "krr-st");
        Assert.Equal(runs, RunFolder.FreeDefault(runs));
        Directory.CreateDirectory(runs);
        File.WriteAllText(Path.Combine(runs, "config.json"), "{}");
        Assert.Equal(runs + "-2", RunFolder.FreeDefault(runs));
        Directory.CreateDirectory(runs + "-2");
        File.WriteAllText(Path.Combine(runs + "-2", "report.md"), "");
        Assert.Equal(runs + "-3", RunFolder.FreeDefault(runs));

        // A kill during an atomic write leaves ".NAME.GUID.tmp"; the next run that takes the folder removes it.
        string stale = Path.Combine(runs, ".checkpoint.safetensors.0123abcd.tmp");
        File.WriteAllBytes(stale, new byte[1000]);
        File.WriteAllText(Path.Combine(runs, "report.md.tmp-4242"), "");
        using (RunFolder.Open(runs, "--resume", resume: true, overwrite: false))
        {
            Assert.False(File.Exists(stale));
            Assert.False(File.Exists(Path.Combine(runs, "report.md.tmp-4242")));
            Assert.True(File.Exists(Path.Combine(runs, "config.json")));
        }
    }

    [Fact]
    public void AResumeContinuesOnTheRunsOwnDataAndTeacher()
    {
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3",
            "--widths", "4,8", "--steps", "2", "--eval-seeds", "0", "--quiet", "--out", run]));
        var record = RunRecord.Read(run)!;
        Assert.Equal(Path.GetFullPath(teacher), record.Teacher);

        // Without --data and --teacher the resume takes the recorded ones (the default data would be the embedded set).
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        try
        {
            Assert.Equal(0, Cli.CliApp.Run(["distill", "--resume", run, "--eval-seeds", "0", "--quiet"]));
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.Contains($"resume: data {record.Data}, teacher {record.Teacher}", err.ToString());

        // A contradicting flag is refused with both values.
        string refused = ToyDistillation.FailingRun(["distill", "--resume", run, "--data", "fashion-mnist-mini", "--eval-seeds", "0"]);
        Assert.Contains("--data fashion-mnist-mini contradicts the data of the run being resumed", refused);
        Assert.Contains(record.Data, refused);
        string otherTeacher = Path.Combine(_dir, "other-teacher.safetensors");
        File.Copy(teacher, otherTeacher);
        File.AppendAllText(otherTeacher, "");   // same bytes: accepted
        Assert.Equal(0, Cli.CliApp.Run(["distill", "--resume", run, "--teacher", otherTeacher, "--eval-seeds", "0", "--quiet"]));
    }

    [Fact]
    public void EvalNeverWritesOverTheRunsOwnReport()
    {
        var (data, teacher) = ToyDistillation.Create(_dir);
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3",
            "--widths", "4,8", "--steps", "2", "--eval-seeds", "1", "--eval-epochs", "1", "--fractions", "1", "--quiet", "--out", run]));
        string own = File.ReadAllText(Path.Combine(run, "report.md"));
        string[] eval = ["eval", "--distilled", Path.Combine(run, KrrStRun.DistilledFile), "--teacher", teacher, "--data", data, "--seeds", "1", "--epochs", "1",
            "--fractions", "1", "--baselines", "none"];
        Assert.Equal(0, Cli.CliApp.Run(eval));
        Assert.Equal(0, Cli.CliApp.Run(eval));
        Assert.Equal(own, File.ReadAllText(Path.Combine(run, "report.md")));
        Assert.True(File.Exists(Path.Combine(run, "eval", "report.md")));
        Assert.True(File.Exists(Path.Combine(run, "eval-2", "report.md")));
        Assert.Contains("holds another run", ToyDistillation.FailingRun([.. eval, "--out", Path.Combine(run, "eval")]));
        Assert.Equal(0, Cli.CliApp.Run([.. eval, "--out", Path.Combine(run, "eval"), "--overwrite"]));
    }
}
