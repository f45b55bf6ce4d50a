namespace RawDistill.Tests.Methods;

using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Ssl;
using RawDistill.Random;

/// <summary>A tiny labelled dataset (40 + 20 random 1×8×8 images, 2 classes) and an untrained ConvNet teacher for CLI tests.</summary>
static class ToyDistillation
{
    /// <summary>Writes the splits and the teacher under <paramref name="dir"/>; returns the --data spec and the teacher file.</summary>
    public static (string Data, string Teacher) Create(string dir)
    {
        var rng = new Generator(4);
        string Split(string name, int n)
        {
            var px = new float[n * 64];
            rng.FillUniform(px);
            string path = Path.Combine(dir, name + ".safetensors");
            Safetensors.Write(path, [SafetensorsEntry.Create("images", [n, 1, 8, 8], px.Select(v => (byte)(v * 255)).ToArray()),
                SafetensorsEntry.Create("labels", [n], Enumerable.Range(0, n).Select(i => i % 2).ToArray())], new Dictionary<string, string> { ["classes"] = "2" });
            return path;
        }
        string data = $"safetensors:{Split("train", 40)},{Split("test", 20)}";
        var enc = EncoderConfig.Default("convnet", 1, 8) with { Widths = [4, 6] };
        string teacher = Path.Combine(dir, "teacher.safetensors");
        using (var e = enc.Build(new Generator(1)))
            Teacher.Save(teacher, e, enc, new NormalizationStats([0.5], [0.3]), "toy");
        return (data, teacher);
    }

    /// <summary>Runs the CLI expecting a non-zero exit; returns what it wrote to standard error.</summary>
    public static string FailingRun(string[] args)
    {
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        try
        {
            Assert.NotEqual(0, Cli.CliApp.Run(args));
        }
        finally
        {
            Console.SetError(old);
        }
        return err.ToString();
    }
}
