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
}
