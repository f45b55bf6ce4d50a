namespace RawDistill.Tests.Methods;

/// <summary>Help and version: what a new user types first.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CliHelpTests
{
    static (int Code, string Out) Run(params string[] args)
    {
        var text = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(text);
        Console.SetError(text);
        try
        {
            return (Cli.CliApp.Run(args), text.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Fact]
    public void HelpVerbShowsThatVerbsFlagsWithPresetDefaults()
    {
        var (code, text) = Run("help", "distill");
        Assert.Equal(0, code);
        Assert.Contains("--real-batch", text);
        Assert.Contains("Default by --preset", text);   // preset-dependent flags say their defaults
        Assert.DoesNotContain("Verb 'distill'", text);
    }

    [Fact]
    public void AVerbWithActionsAloneShowsItsHelp()
    {
        var (code, text) = Run("teacher");
        Assert.Equal(0, code);
        Assert.Contains("USAGE", text);
        Assert.DoesNotContain("required value", text);
    }

    [Fact]
    public void VersionPrintsTheVersion()
    {
        var (code, text) = Run("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("rawdistill ", text.Trim());
        Assert.DoesNotContain("Distill a dataset", text);   // the version only, not the verb list
        var (evalCode, evalHelp) = Run("eval", "--help");
        Assert.Equal(0, evalCode);
        Assert.Contains("(Default: 100) Pre-training epochs", evalHelp);
    }

    [Theory]
    [InlineData("teacher", "rawdistill teacher train --out teacher.safetensors")]
    [InlineData("teacher", "rawdistill teacher eval --teacher teacher.safetensors")]
    [InlineData("experts", "rawdistill experts status --out /shared/experts")]
    [InlineData("bench", "rawdistill bench gemm --size 1024")]
    [InlineData("export", "rawdistill export run/distilled.safetensors --out exported")]
    [InlineData("distill", "rawdistill distill --resume runs/krr-st")]
    public void ExamplesPutTheActionRightAfterTheVerb(string verb, string example)
    {
        // Issue 14 item 11: the parser's own rendering wrote `rawdistill teacher --out teacher.safetensors train`.
        var (code, text) = Run(verb, "--help");
        Assert.Equal(0, code);
        Assert.Contains(example, text);
        Assert.DoesNotContain("--out teacher.safetensors train", text);
    }
}
