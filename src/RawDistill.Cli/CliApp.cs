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
        var result = parser.ParseArguments<DistillOptions, ExpertsOptions, EvalOptions, TeacherOptions, ExportOptions, BenchOptions, SelftestOptions, DoctorOptions>(args);
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
        var help = HelpText.AutoBuild(result, h =>
        {
            h.Heading = "rawdistill — self-supervised dataset distillation";
            h.Copyright = "";
            h.AddDashesToOption = true;
            h.AddEnumValuesToHelpText = true;
            return HelpText.DefaultParsingErrorsHandler(result, h);
        }, e => e, verbsIndex: true);
        bool isHelp = errors.All(e => e.Tag is ErrorType.HelpRequestedError or ErrorType.HelpVerbRequestedError or ErrorType.VersionRequestedError);
        (isHelp ? Console.Out : Console.Error).WriteLine(help);
        return isHelp ? 0 : 1;
    }
}
