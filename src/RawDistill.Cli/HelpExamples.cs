namespace RawDistill.Cli;

using System.Collections;
using System.Reflection;
using CommandLine;
using CommandLine.Text;

/// <summary>
/// The USAGE block of a verb's help (its examples), written as a user types the command: verb, then its
/// values (the action of `teacher train`, the target of `bench gemm`, the files of `export`),
/// then the flags. CommandLineParser's own [Usage] rendering puts the values last
/// (`rawdistill teacher --out t.safetensors train`), so the verbs keep their <c>Examples</c>
/// lists without [Usage] and this class renders them.
/// </summary>
static class HelpExamples
{
    /// <summary>The examples of the verb type, or none when it has no static <c>Examples</c> property.</summary>
    public static IReadOnlyList<string> Lines(Type verbType)
    {
        var examples = verbType.GetProperty("Examples", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as IEnumerable<Example>;
        if (examples == null) return [];
        var lines = new List<string> { "USAGE:" };
        foreach (var e in examples)
        {
            lines.Add($"  {e.HelpText}:");
            lines.Add($"    rawdistill {CommandLine(e.Sample, e.FormatStyles.FirstOrDefault() ?? new UnParserSettings())}");
        }
        lines.Add("");
        return lines;
    }

    /// <summary>"VERB VALUES… FLAGS…" for an options object.</summary>
    public static string CommandLine(object sample, UnParserSettings settings)
    {
        string unparsed = Parser.Default.FormatCommandLine(sample, s =>
        {
            s.SkipDefault = settings.SkipDefault;
            s.PreferShortName = settings.PreferShortName;
        });
        string verb = sample.GetType().GetCustomAttribute<VerbAttribute>()?.Name ?? "";
        var values = sample.GetType().GetProperties()
            .Select(p => (Property: p, Attr: p.GetCustomAttribute<ValueAttribute>()))
            .Where(v => v.Attr != null)
            .OrderBy(v => v.Attr!.Index)
            .SelectMany(v => Tokens(v.Property.GetValue(sample)))
            .ToList();
        string tail = values.Count == 0 ? "" : " " + string.Join(' ', values);
        // The unparser writes "VERB FLAGS… VALUES…"; move the values to just after the verb.
        if (verb.Length == 0 || !unparsed.StartsWith(verb, StringComparison.Ordinal) || !unparsed.EndsWith(tail, StringComparison.Ordinal)) return unparsed;
        string flags = unparsed[verb.Length..^tail.Length].Trim();
        return string.Join(' ', new[] { verb, string.Join(' ', values), flags }.Where(x => x.Length > 0));
    }

    static IEnumerable<string> Tokens(object? value)
    {
        if (value is string s) return s.Length == 0 ? [] : [Quote(s)];
        if (value is IEnumerable many)
        {
            var tokens = new List<string>();
            foreach (object v in many) tokens.Add(Quote(v.ToString() ?? ""));
            return tokens;
        }
        return value == null ? [] : [Quote(value.ToString() ?? "")];
    }

    static string Quote(string s) => s.Contains(' ') ? $"\"{s}\"" : s;
}
