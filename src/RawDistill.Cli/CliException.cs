namespace RawDistill.Cli;

/// <summary>A user error (bad flag, missing file): printed as one clear line, exit code 1.</summary>
public sealed class CliException(string message) : Exception(message);
