namespace RawDistill.Tests.Methods;

using RawDistill.IO;
using RawDistill.Methods.KrrSt;
using RawDistill.Methods.Ssl;
using RawDistill.Random;

/// <summary>
/// `rawdistill teacher import` end to end, in-process: the torchvision KRR-ST-layout fixture is
/// imported, then `distill` and `eval` run on it with tiny settings; bad imports fail with one
/// line naming the flag or file.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class TeacherImportCliTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "import", name);

    [Fact]
    public void ImportedTeacherDistillsAndEvaluates()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rawdistill-import-cli-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            // 40 + 20 random 3×32×32 images with 2 classes: the geometry the CIFAR-stem teacher was trained at.
            var rng = new Generator(7);
            string Split(string name, int n)
            {
                var px = new float[n * 3 * 32 * 32];
                rng.FillUniform(px);
                string path = Path.Combine(dir, name + ".safetensors");
                Safetensors.Write(path, [SafetensorsEntry.Create("images", [n, 3, 32, 32], px.Select(v => (byte)(v * 255)).ToArray()),
                    SafetensorsEntry.Create("labels", [n], Enumerable.Range(0, n).Select(i => i % 2).ToArray())], new Dictionary<string, string> { ["classes"] = "2" });
                return path;
            }
            string data = $"safetensors:{Split("train", 40)},{Split("test", 20)}";

            string teacher = Path.Combine(dir, "imported.safetensors");
            Assert.Equal(0, Cli.CliApp.Run(["teacher", "import", "--weights", Fixture("krrst_resnet18.weights.safetensors"), "--normalization", "cifar100", "--out", teacher]));
            using (var t = Teacher.Load(teacher))
            {
                Assert.Equal("cifar100", t.Metadata["dataset"]);
                Assert.Equal("2", t.Metadata["stem_padding"]);
                Assert.Equal("backbone.", t.Metadata["imported_prefix"]);
                Assert.Equal(32, t.FeatureDim);
            }

            string run = Path.Combine(dir, "run");
            Assert.Equal(0, Cli.CliApp.Run(["distill", "--data", data, "--teacher", teacher, "-m", "6", "--real-batch", "10", "--pool-size", "2", "--t-max", "3",
                "--widths", "4,8", "--steps", "2", "--eval-seeds", "0", "--quiet", "--out", run]));
            var set = Safetensors.Read(Path.Combine(run, KrrStRun.DistilledFile));
            Assert.Equal([6, 3, 32, 32], set["x_syn"].Shape);
            Assert.Equal([6, 32], set["y_syn"].Shape);
            Assert.Equal(DistillTestsHelper.Sha256(teacher), set.Metadata["teacher_sha256"]);

            string evalOut = Path.Combine(dir, "eval");
            Assert.Equal(0, Cli.CliApp.Run(["eval", "--distilled", Path.Combine(run, KrrStRun.DistilledFile), "--teacher", teacher, "--data", data,
                "--seeds", "1", "--epochs", "1", "--fractions", "1", "--baselines", "none", "--out", evalOut]));
            Assert.True(File.Exists(Path.Combine(evalOut, "report.md")));

            // Statistics computed from --data instead of a preset.
            string fromData = Path.Combine(dir, "from-data.safetensors");
            Assert.Equal(0, Cli.CliApp.Run(["teacher", "import", "--weights", Fixture("krrst_resnet18.weights.safetensors"), "--normalization", "data", "--data", data, "--out", fromData]));
            using (var t = Teacher.Load(fromData)) Assert.StartsWith("computed from safetensors:", t.Metadata["normalization_source"]);

            // Bad input: one line naming the flag or the file, exit 1, nothing written.
            string[] import = ["teacher", "import", "--weights", Fixture("krrst_resnet18.weights.safetensors"), "--out", Path.Combine(dir, "bad.safetensors")];
            Assert.Contains("--normalization: required", FailingRun(import));
            Assert.Contains("--normalization: expected a preset", FailingRun([.. import, "--normalization", "cifar-100"]));
            Assert.Contains("--weights: no file at", FailingRun(["teacher", "import", "--weights", Path.Combine(dir, "none.safetensors"), "--normalization", "cifar100"]));
            var wrongArch = FailingRun([.. import, "--normalization", "cifar100", "--arch", "resnet50"]);
            Assert.Contains("does not fit resnet50", wrongArch);
            Assert.Contains("the keys look like resnet18", wrongArch);
            Assert.Single(wrongArch.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("--stem: expected cifar or imagenet", FailingRun([.. import, "--normalization", "cifar100", "--stem", "tiny"]));
            Assert.Contains("the normalization has 2 channels", FailingRun([.. import, "--normalization", "0.5,0.5/0.2,0.2"]));
            Assert.False(File.Exists(Path.Combine(dir, "bad.safetensors")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    static string FailingRun(string[] args) => ToyDistillation.FailingRun(args);
}
