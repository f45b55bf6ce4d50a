namespace RawDistill.Data;

/// <summary>
/// Builds the <see cref="InvalidDataException"/>s that dataset readers (and <c>--data</c> spec
/// parsing) throw. The message names the file, the byte offset where reading stopped and what
/// was expected there, so a user can tell a truncated download from a wrong path or format.
/// The same facts are in <see cref="Exception.Data"/> under <see cref="FileKey"/>,
/// <see cref="OffsetKey"/> and <see cref="ExpectedKey"/> for programs (and tests).
/// </summary>
/// <remarks>
/// The framework's exception type is used (it is sealed, so there is no subclass) because the
/// safetensors reader already throws it: one catch clause covers every malformed input.
/// </remarks>
public static class DataError
{
    /// <summary>Key of the file (or spec text) in <see cref="Exception.Data"/>.</summary>
    public const string FileKey = "file";

    /// <summary>Key of the byte offset (a long; −1 when none applies; for gzipped files it counts decompressed bytes).</summary>
    public const string OffsetKey = "offset";

    /// <summary>Key of the expectation text.</summary>
    public const string ExpectedKey = "expected";

    /// <summary>"FILE: at byte offset N: expected X, found Y."</summary>
    public static InvalidDataException New(string file, long offset, string expected, string found) =>
        With(new InvalidDataException($"{file}: at byte offset {offset}: expected {expected}, found {found}."), file, offset, expected);

    /// <summary>"FILE: problem" for errors about a file (or spec) as a whole.</summary>
    public static InvalidDataException New(string file, string problem, Exception? inner = null) =>
        With(new InvalidDataException($"{file}: {problem}", inner), file, -1, problem);

    static InvalidDataException With(InvalidDataException e, string file, long offset, string expected)
    {
        e.Data[FileKey] = file;
        e.Data[OffsetKey] = offset;
        e.Data[ExpectedKey] = expected;
        return e;
    }
}
