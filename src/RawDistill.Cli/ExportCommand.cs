namespace RawDistill.Cli;

using CommandLine;
using CommandLine.Text;
using RawDistill.Methods.Interop;

[Verb("export", HelpText = "Write distilled sets as PNG folders in ImageFolder layout (one folder per set, targets alongside) for PyTorch or any other framework.")]
public sealed class ExportOptions
{
    [Value(0, MetaName = "sets", Required = true, HelpText = "Distilled-set files (distilled.safetensors of `rawdistill distill` runs, or any file with x_syn [N,C,H,W] and y_syn [N,d]).")]
    public IEnumerable<string> Sets { get; set; } = [];

    [Option("out", Default = "exported", HelpText = "Folder that receives one sub-folder per set, named after its run folder (or file).")]
    public string Out { get; set; } = "exported";

    [Option("force", HelpText = "Replace a set's folder that already exists.")]
    public bool Force { get; set; }

    public static IEnumerable<Example> Examples =>
    [
        new Example("One run's set as exported/run/images/*.png plus exported/run/targets.safetensors and targets.csv", new ExportOptions { Sets = ["run/distilled.safetensors"] }),
        new Example("Two runs side by side, replacing earlier exports", new ExportOptions { Sets = ["krrst/distilled.safetensors", "mkdt/distilled.safetensors"], Out = "sets", Force = true }),
    ];
}

/// <summary>`rawdistill export`.</summary>
public static class ExportCommand
{
    public static int Run(ExportOptions o)
    {
        var sets = o.Sets.ToList();
        var names = sets.Select(ImageFolderExport.DefaultName).ToList();
        var duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new CliException($"two sets would both be exported to {Path.Combine(o.Out, duplicate.Key)}; export them to different --out folders");
        foreach (var s in sets)
            if (!File.Exists(s)) throw new CliException($"no set file at {s}");
        for (int i = 0; i < sets.Count; i++)
        {
            ImageFolderExportResult r;
            try
            {
                r = ImageFolderExport.Export(sets[i], Path.Combine(o.Out, names[i]), o.Force);
            }
            catch (InvalidDataException e)
            {
                throw new CliException(e.Message);
            }
            catch (IOException e) when (Directory.Exists(Path.Combine(o.Out, names[i])) && !o.Force)
            {
                throw new CliException($"{e.Message} (--force replaces it)");
            }
            Console.WriteLine($"wrote {r.Folder}: {r.Images} {(r.Channels == 1 ? "gray" : "RGB")} PNGs of {r.Size.Height}×{r.Size.Width} in {ImageFolderExport.ClassFolder}/" +
                (r.TargetDim > 0 ? $", targets {r.Images}×{r.TargetDim} in targets.safetensors and targets.csv" : ", no targets in the set") +
                (r.ClippedFraction > 0 ? $"; {r.ClippedFraction:P2} of pixel values were outside [0, 1] and are clipped in the PNGs (the safetensors set keeps them)" : ""));
        }
        return 0;
    }
}
