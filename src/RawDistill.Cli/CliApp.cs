namespace RawDistill.Cli;

using CommandLine;
using CommandLine.Text;

/// <summary>Parses the verb and dispatches to its command.</summary>
public static class CliApp
{
    public static int Run(string[] args)
    {
        var parser = new Parser(s =>
        {
            s.HelpWriter = null;
            s.CaseInsensitiveEnumValues = true;
        });
        // A verb with actions given alone ("rawdistill teacher") shows its help, not a parser complaint.
        if (args.Length == 1 && args[0] is "teacher" or "experts") args = [args[0], "--help"];
        // "rawdistill help VERB" shows that verb's help (the parser alone would list the verbs again).
        if (args.Length == 2 && args[0] == "help") args = [args[1], "--help"];
        var result = parser.ParseArguments<DistillOptions, ExpertsOptions, EvalOptions, TeacherOptions, ExportOptions, BenchOptions, SelftestOptions, DoctorOptions>(args);
        // Long phases show one progress display (ProgressDisplay), on standard error: redrawn in place on a
        // terminal, a line now and then when stderr goes to a file or pipe, summaries only with --quiet.
        bool quiet = (result as Parsed<object>)?.Value switch
        {
            DistillOptions o => o.Quiet,
            TeacherOptions o => o.Quiet,
            ExpertsOptions o => o.Quiet,
            EvalOptions o => o.Quiet,
            _ => false,
        };
        using var progress = ProgressDisplay.UseConsole(Console.Error, quiet, terminal: !Console.IsErrorRedirected);
        try
        {
            return result.MapResult(
                (DistillOptions o) => DistillCommand.Run(o),
                (ExpertsOptions o) => ExpertsCommand.Run(o),
                (EvalOptions o) => EvalCommand.Run(o),
                (TeacherOptions o) => TeacherCommand.Run(o),
                (ExportOptions o) => ExportCommand.Run(o),
                (BenchOptions o) => BenchCommand.Run(o),
                (SelftestOptions o) => SelftestCommand.Run(o),
                (DoctorOptions o) => DoctorCommand.Run(o),
                errors => PrintHelp(result, errors));
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (InvalidDataException e)
        {
            // Unreadable input files (teachers, checkpoints, sets): the message names the file and what is wrong.
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Disk full, a read-only file system, a vanished file: what the OS said, without a stack trace.
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    static int PrintHelp<T>(ParserResult<T> result, IEnumerable<Error> errors)
    {
        if (errors.Any(e => e.Tag == ErrorType.VersionRequestedError))
        {
            var version = typeof(CliApp).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";
            Console.Out.WriteLine($"rawdistill {version}");
            return 0;
        }
        var help = HelpText.AutoBuild(result, h =>
        {
            h.Heading = "rawdistill — self-supervised dataset distillation";
            h.Copyright = "";
            h.AddDashesToOption = true;
            h.AddEnumValuesToHelpText = true;
            h = HelpText.DefaultParsingErrorsHandler(result, h);
            // The verb's examples as typed: `rawdistill teacher train --out …` (HelpExamples says why not [Usage]).
            h.AddPreOptionsLines(HelpExamples.Lines(result.TypeInfo.Current));
            return h;
        }, e => e, verbsIndex: true);
        bool isHelp = errors.All(e => e.Tag is ErrorType.HelpRequestedError or ErrorType.HelpVerbRequestedError or ErrorType.VersionRequestedError);
        (isHelp ? Console.Out : Console.Error).WriteLine(help);
        return isHelp ? 0 : 1;
    }
}
