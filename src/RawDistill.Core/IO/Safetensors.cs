namespace RawDistill.IO;

using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using RawDistill.Tensors;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON header, then the data
/// section. The header maps each tensor name to <c>{"dtype", "shape", "data_offsets"}</c>
/// (offsets relative to the data section) and may hold a <c>__metadata__</c> string→string map.
/// Files written here load with <c>safetensors.torch.load_file</c>; reading is as strict as
/// the reference implementation (tensors must tile the data section exactly) so that a file we
/// accept is one PyTorch accepts too.
/// </summary>
public static class Safetensors
{
    /// <summary>The reference implementation refuses headers above this size; so do we.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The reserved header key holding the free-form string→string map.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The element types this reader and writer handle.</summary>
    public const string SupportedDTypes = "F32, F64, U8, I32";

    // Dtype names the reference format defines but RawDistill has no DType for. Knowing them
    // lets the error say "not supported" rather than "unknown", which points the user at a
    // conversion (e.g. bf16 -> f32 in PyTorch) instead of at a corrupt file.
    private static readonly HashSet<string> KnownUnsupportedDTypes = new(StringComparer.Ordinal)
    {
        "BOOL", "I8", "I16", "U16", "F16", "BF16", "U32", "I64", "U64",
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64",
    };

    /// <summary>
    /// Writes <paramref name="entries"/> (and optional <paramref name="metadata"/>) to
    /// <paramref name="path"/> atomically: the bytes go to a temporary file in the same folder
    /// which then replaces <paramref name="path"/>, so a reader never sees a half-written file
    /// and a failed write leaves any previous file untouched.
    /// </summary>
    /// <remarks>
    /// Like the reference writer, data is laid out by descending element size (F64, F32, I32,
    /// U8), then by name (UTF-8 byte order), and the JSON header is padded with spaces to a
    /// multiple of 8 bytes; with the 8-byte prefix that keeps every tensor naturally aligned
    /// for memory-mapped readers.
    /// </remarks>
    /// <exception cref="ArgumentException">An entry is inconsistent (byte length vs shape and
    /// dtype, negative dimension, empty/reserved/duplicate name) or metadata holds a null.</exception>
    public static void Write(string path, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
        => Write(path, entries, metadata, wrapStream: null);

    /// <summary>
    /// <see cref="Write(string, IEnumerable{SafetensorsEntry}, IReadOnlyDictionary{string, string}?)"/>
    /// with a hook around the output stream, so tests can fail a write half way through.
    /// </summary>
    internal static void Write(
        string path,
        IEnumerable<SafetensorsEntry> entries,
        IReadOnlyDictionary<string, string>? metadata,
        Func<Stream, Stream>? wrapStream)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(entries);

        // Materialize first: the header (which comes first in the file) needs every offset, and
        // an exception thrown while enumerating must happen before any file is touched.
        List<SafetensorsEntry> list = [.. entries];
        ValidateForWrite(list, metadata);
        byte[][] utf8Names = [.. list.Select(e => Encoding.UTF8.GetBytes(e.Name))];
        int[] order = [.. Enumerable.Range(0, list.Count)];
        Array.Sort(order, (a, b) =>
        {
            int bySize = list[b].DType.SizeOf().CompareTo(list[a].DType.SizeOf());
            return bySize != 0 ? bySize : utf8Names[a].AsSpan().SequenceCompareTo(utf8Names[b]);
        });

        byte[] header = BuildHeader(list, order, metadata);

        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath) ?? ".";
        // Same folder as the target: File.Move is then a rename on one file system, which is
        // atomic, rather than a copy across mounts. The leading dot keeps it out of globbing.
        string tempPath = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Stream output = wrapStream is null ? file : wrapStream(file);
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                output.Write(prefix);
                output.Write(header);
                foreach (int i in order)
                {
                    output.Write(list[i].Data);
                }

                output.Flush();
                // Force the bytes to disk before the rename: otherwise a crash right after the
                // move can leave the new name pointing at an empty file on some file systems.
                file.Flush(flushToDisk: true);
            }

            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>
    /// Reads a whole safetensors file into memory. Entries come back in data-section order.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the
    /// file and the problem.</exception>
    /// <exception cref="NotSupportedException">A single tensor exceeds the largest .NET array.</exception>
    public static SafetensorsFile Read(string path)
    {
        using var stream = Open(path, out var metadata, out var layout);
        var entries = new SafetensorsEntry[layout.Count];
        for (int i = 0; i < layout.Count; i++)
        {
            // Tiling was checked, so the tensors follow each other without gaps: read in order.
            var t = layout[i];
            byte[] data = new byte[t.End - t.Begin];
            stream.ReadExactly(data);
            entries[i] = new SafetensorsEntry(t.Name, t.DType, t.Shape, data);
        }

        return new SafetensorsFile(path, metadata, entries);
    }

    /// <summary>
    /// The metadata and every tensor's name, dtype and shape, without reading tensor data (a
    /// cache check that decides whether a large file is worth loading).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var stream = Open(path, out var metadata, out var layout);
        long dataStart = stream.Position;
        return new SafetensorsHeader(path, metadata, layout.Select(t => new SafetensorsTensorInfo(t.Name, t.DType, t.Shape, dataStart + t.Begin)).ToArray());
    }

    /// <summary>
    /// One tensor's elements read from the file straight into a T[]: one copy of the data,
    /// where <see cref="Read"/> followed by a typed accessor holds the bytes and the elements
    /// at once (twice the tensor's size; ~1 GB for the 60 000 × 2048 teacher targets).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is malformed, or the tensor is not of T's dtype.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no tensor of that name.</exception>
    public static T[] ReadTensor<T>(string path, string name) where T : unmanaged
    {
        using var stream = Open(path, out _, out var layout);
        var t = layout.Find(l => l.Name == name)
            ?? throw new KeyNotFoundException($"Safetensors file '{path}' has no tensor named '{name}'; it holds: {string.Join(", ", layout.Take(40).Select(l => l.Name))}.");
        CheckElementType(path, name, t.DType, t.Shape, Tensor.DTypeOf<T>());
        long bytes = t.End - t.Begin;
        var values = new T[bytes / System.Runtime.CompilerServices.Unsafe.SizeOf<T>()];
        stream.Seek(stream.Position + t.Begin, SeekOrigin.Begin);
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>
    /// Refuses to read a tensor of <paramref name="actual"/> dtype as <paramref name="expected"/>,
    /// and any tensor on a big-endian host (the format is little-endian and elements are
    /// reinterpreted, not converted; every platform .NET 10 ships for is little-endian).
    /// </summary>
    internal static void CheckElementType(string path, string name, DType actual, int[] shape, DType expected)
    {
        if (actual != expected)
        {
            throw new InvalidDataException($"Safetensors file '{path}': tensor '{name}' is {actual} {FormatShape(shape)}, not {expected}.");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Safetensors accessors assume a little-endian host.");
        }
    }

    /// <summary>Opens a file and parses its header; the stream is left at the start of the data section.</summary>
    private static FileStream Open(string path, out Dictionary<string, string> metadata, out List<Layout> layout)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8)
            {
                throw Malformed(path, $"file is {fileLength} bytes, shorter than the 8-byte header length prefix");
            }

            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength == 0)
            {
                throw Malformed(path, "header length is 0 (the header must be a JSON object, at least \"{}\")");
            }

            if (headerLength > MaxHeaderBytes)
            {
                throw Malformed(path, $"header length {headerLength} bytes is above the 100 MB limit ({MaxHeaderBytes} bytes)");
            }

            long dataStart = 8 + (long)headerLength;
            if (dataStart > fileLength)
            {
                throw Malformed(path, $"header length {headerLength} bytes is larger than the file ({fileLength - 8} bytes follow the length prefix; truncated file?)");
            }

            byte[] header = new byte[headerLength];
            stream.ReadExactly(header);
            (metadata, layout) = ParseHeader(path, header, fileLength - dataStart);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static void ValidateForWrite(List<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (e is null)
            {
                throw new ArgumentException("entries contains a null entry", nameof(entries));
            }

            if (string.IsNullOrEmpty(e.Name))
            {
                throw new ArgumentException("a tensor name is null or empty", nameof(entries));
            }

            if (e.Name == MetadataKey)
            {
                throw new ArgumentException($"'{MetadataKey}' is reserved for metadata and cannot name a tensor", nameof(entries));
            }

            if (!names.Add(e.Name))
            {
                throw new ArgumentException($"tensor name '{e.Name}' appears twice", nameof(entries));
            }

            if (!Enum.IsDefined(e.DType))
            {
                throw new ArgumentException($"tensor '{e.Name}' has an invalid dtype value {(int)e.DType}", nameof(entries));
            }

            if (e.Shape is null || e.Data is null)
            {
                throw new ArgumentException($"tensor '{e.Name}' has a null shape or data", nameof(entries));
            }

            if (e.Shape.Any(d => d < 0))
            {
                throw new ArgumentException($"tensor '{e.Name}' has a negative dimension in shape {FormatShape(e.Shape)}", nameof(entries));
            }

            long expected = e.ElementCount * e.DType.SizeOf();
            if (e.Data.LongLength != expected)
            {
                throw new ArgumentException(
                    $"tensor '{e.Name}' ({e.DType} {FormatShape(e.Shape)}) needs {expected} bytes but has {e.Data.LongLength}",
                    nameof(entries));
            }
        }

        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                if (key is null || value is null)
                {
                    throw new ArgumentException("metadata keys and values must not be null", nameof(metadata));
                }
            }
        }
    }

    private static byte[] BuildHeader(List<SafetensorsEntry> entries, int[] order, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names and JSON-in-metadata readable ('+', '<', 'é'
        // stay literal); the header is never embedded in HTML, which is what the default guards.
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (int i in order)
            {
                var e = entries[i];
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType.SafetensorsName());
                json.WriteStartArray("shape");
                foreach (int d in e.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += e.Data.LongLength;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int length = buffer.WrittenCount;
        int padded = (length + 7) / 8 * 8;
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    private sealed record Layout(string Name, DType DType, int[] Shape, long Begin, long End);

    private static (Dictionary<string, string> Metadata, List<Layout> Layout) ParseHeader(string path, byte[] header, long dataLength)
    {
        if (!Utf8.IsValid(header))
        {
            throw Malformed(path, "header is not valid UTF-8");
        }

        // The reference rejects a header that does not open with '{' before even parsing it.
        if (header[0] != (byte)'{')
        {
            throw Malformed(path, $"header is not a JSON object: it starts with '{(char)header[0]}' instead of '{{'");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw Malformed(path, $"header is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Malformed(path, $"header is not a JSON object but a JSON {Kind(root)}");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var layout = new List<Layout>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                // JSON allows repeated keys and JsonDocument keeps both; a silent "last one
                // wins" would hide a corrupt or tampered header.
                if (!seen.Add(property.Name))
                {
                    throw Malformed(path, property.Name == MetadataKey
                        ? $"header has a duplicate '{MetadataKey}' key"
                        : $"duplicate tensor name '{property.Name}' in the header");
                }

                if (property.Name == MetadataKey)
                {
                    ParseMetadata(path, property.Value, metadata);
                }
                else
                {
                    layout.Add(ParseEntry(path, property.Name, property.Value, dataLength));
                }
            }

            CheckTiling(path, layout, dataLength);
            return (metadata, layout);
        }
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        // The reference models __metadata__ as Option<HashMap<String, String>>, so null means "none".
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Malformed(path, $"'{MetadataKey}' is a JSON {Kind(value)}, but it must be an object mapping strings to strings");
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw Malformed(path, $"'{MetadataKey}' must map strings to strings, but key '{item.Name}' holds a JSON {Kind(item.Value)}");
            }

            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
            {
                throw Malformed(path, $"'{MetadataKey}' has the key '{item.Name}' twice");
            }
        }
    }

    private static Layout ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Malformed(path, $"tensor '{name}' is a JSON {Kind(value)}, expected an object with dtype, shape and data_offsets");
        }

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            // Other fields are ignored, as the reference's deserializer does.
            ref JsonElement? slot = ref dtypeElement;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeElement; break;
                case "shape": slot = ref shapeElement; break;
                case "data_offsets": slot = ref offsetsElement; break;
                default: continue;
            }

            if (slot is not null)
            {
                throw Malformed(path, $"tensor '{name}' has the field \"{field.Name}\" twice");
            }

            slot = field.Value;
        }

        var dtypeJson = dtypeElement ?? throw Malformed(path, $"tensor '{name}' is missing the \"dtype\" field");
        var shapeJson = shapeElement ?? throw Malformed(path, $"tensor '{name}' is missing the \"shape\" field");
        var offsetsJson = offsetsElement ?? throw Malformed(path, $"tensor '{name}' is missing the \"data_offsets\" field");

        DType dtype = ParseDType(path, name, dtypeJson);
        int[] shape = ParseShape(path, name, shapeJson);

        if (offsetsJson.ValueKind != JsonValueKind.Array || offsetsJson.GetArrayLength() != 2)
        {
            throw Malformed(path, $"tensor '{name}': \"data_offsets\" must be an array [begin, end] of two integers, got {Raw(offsetsJson)}");
        }

        long begin = ParseOffset(path, name, offsetsJson[0], "begin");
        long end = ParseOffset(path, name, offsetsJson[1], "end");
        if (begin > end)
        {
            throw Malformed(path, $"tensor '{name}': data_offsets [{begin}, {end}] has begin > end");
        }

        if (end > dataLength)
        {
            throw Malformed(path, $"tensor '{name}': data_offsets end {end} lies beyond the end of the data section ({dataLength} bytes)");
        }

        long elements = 1;
        long bytes;
        try
        {
            foreach (int d in shape)
            {
                elements = checked(elements * d);
            }

            bytes = checked(elements * dtype.SizeOf());
        }
        catch (OverflowException)
        {
            throw Malformed(path, $"tensor '{name}': shape {FormatShape(shape)} is too large (element count overflows)");
        }

        if (bytes != end - begin)
        {
            throw Malformed(path,
                $"tensor '{name}' is {dtype} {FormatShape(shape)}, so it needs {elements} x {dtype.SizeOf()} = {bytes} bytes, " +
                $"but data_offsets [{begin}, {end}] span {end - begin} bytes (byte length mismatch)");
        }

        if (bytes > Array.MaxLength)
        {
            throw new NotSupportedException($"'{path}': tensor '{name}' is {bytes} bytes, more than one .NET array can hold ({Array.MaxLength})");
        }

        return new Layout(name, dtype, shape, begin, end);
    }

    private static DType ParseDType(string path, string name, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.String)
        {
            throw Malformed(path, $"tensor '{name}': \"dtype\" is a JSON {Kind(json)}, expected a string such as \"F32\"");
        }

        string text = json.GetString()!;
        return text switch
        {
            "F32" => DType.F32,
            "F64" => DType.F64,
            "U8" => DType.U8,
            "I32" => DType.I32,
            _ when KnownUnsupportedDTypes.Contains(text) => throw Malformed(path,
                $"tensor '{name}' has dtype {text}, which is not supported (supported: {SupportedDTypes}); convert it before saving, e.g. to F32"),
            _ => throw Malformed(path, $"tensor '{name}' has unknown dtype \"{text}\" (supported: {SupportedDTypes})"),
        };
    }

    private static int[] ParseShape(string path, string name, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Array)
        {
            throw Malformed(path, $"tensor '{name}': \"shape\" is a JSON {Kind(json)}, expected an array of non-negative integers");
        }

        int[] shape = new int[json.GetArrayLength()];
        int axis = 0;
        foreach (var item in json.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long d))
            {
                // A number that is not an integer (2.5, 1e400) also lands here.
                throw Malformed(path, $"tensor '{name}': shape[{axis}] is {Raw(item)}, expected a non-negative integer");
            }

            if (d < 0)
            {
                throw Malformed(path, $"tensor '{name}': shape[{axis}] is negative ({d})");
            }

            if (d > int.MaxValue)
            {
                throw Malformed(path, $"tensor '{name}': shape[{axis}] = {d} is too large (at most {int.MaxValue} per axis)");
            }

            shape[axis++] = (int)d;
        }

        return shape;
    }

    private static long ParseOffset(string path, string name, JsonElement json, string which)
    {
        if (json.ValueKind != JsonValueKind.Number || !json.TryGetInt64(out long value) || value < 0)
        {
            throw Malformed(path, $"tensor '{name}': data_offsets {which} is {Raw(json)}, expected a non-negative integer");
        }

        return value;
    }

    private static void CheckTiling(string path, List<Layout> layout, long dataLength)
    {
        // Same rule as the reference: sorted by (begin, end), each tensor starts where the previous
        // one ended and the last ends at the end of the file. Unclaimed bytes would be invisible
        // to every reader (and a place to smuggle data); overlaps would alias two tensors.
        layout.Sort((a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0)
            {
                c = a.End.CompareTo(b.End);
            }

            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        long expected = 0;
        Layout? previous = null;
        foreach (var t in layout)
        {
            if (t.Begin > expected)
            {
                throw Malformed(path, $"gap in the data section: bytes [{expected}, {t.Begin}) before tensor '{t.Name}' belong to no tensor (tensors must tile the data section exactly)");
            }

            if (t.Begin < expected)
            {
                throw Malformed(path, $"tensor '{t.Name}' (bytes [{t.Begin}, {t.End})) overlaps tensor '{previous!.Name}' (bytes [{previous.Begin}, {previous.End}))");
            }

            expected = t.End;
            previous = t;
        }

        if (expected != dataLength)
        {
            throw Malformed(path, $"gap at the end of the data section: the tensors cover {expected} of its {dataLength} bytes; the last {dataLength - expected} bytes belong to no tensor (tensors must tile the data section exactly)");
        }
    }

    private static InvalidDataException Malformed(string path, string problem, Exception? inner = null)
        => new($"Invalid safetensors file '{path}': {problem}.", inner);

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    private static string Raw(JsonElement e)
    {
        string raw = e.GetRawText();
        return raw.Length <= 60 ? raw : raw[..57] + "...";
    }

    internal static string FormatShape(int[] shape) => "[" + string.Join(", ", shape) + "]";

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original exception is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
