namespace RawDistill.Methods.Common;

using System.Text.Json;

/// <summary>
/// The inputs a run was started with, written to <c>run.json</c> in its folder: a resume takes
/// them from here (not from the defaults of the resuming command line), so a resumed run cannot
/// silently continue on other data or with another teacher.
/// </summary>
/// <param name="Method">krr-st | mkdt.</param>
/// <param name="Data">The dataset spec (as DataSpec prints it).</param>
/// <param name="Teacher">The teacher file's full path.</param>
/// <param name="TeacherSha256">The teacher file's SHA-256 (lowercase hex).</param>
public sealed record RunRecord(string Method, string Data, string Teacher, string TeacherSha256)
{
    /// <summary>File name inside the run folder.</summary>
    public const string FileName = "run.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes the record into <paramref name="dir"/> atomically.</summary>
    public void Write(string dir) => AtomicFile.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, Json));

    /// <summary>The record of the run in <paramref name="dir"/>, or null for a run from before records existed.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a run record.</exception>
    public static RunRecord? Read(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var r = JsonSerializer.Deserialize<RunRecord>(File.ReadAllText(path), Json);
            if (r == null || string.IsNullOrEmpty(r.Data) || string.IsNullOrEmpty(r.Teacher)) throw new JsonException("fields missing");
            return r;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a run record ({e.Message})");
        }
    }
}
