namespace RawDistill.Tests.Methods;

/// <summary>
/// Tests that run the CLI in-process and read what it writes: Console.Error is process-wide,
/// so they run one at a time (another class's progress lines would land in the captured text).
/// </summary>
[CollectionDefinition("console")]
public sealed class ConsoleCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "console";
}
