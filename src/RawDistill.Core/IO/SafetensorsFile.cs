namespace RawDistill.IO;

using System.Runtime.InteropServices;
using RawDistill.Tensors;

/// <summary>
/// The contents of a safetensors file loaded by <see cref="Safetensors.Read"/>: metadata and
/// every tensor's bytes, with typed accessors that check the dtype.
/// </summary>
public sealed class SafetensorsFile
{
    // Listing thousands of names in an exception message helps nobody; this many is enough to
    // spot a prefix mismatch such as "model." vs "encoder.".
    private const int MaxNamesInError = 40;

    private readonly Dictionary<string, SafetensorsEntry> _byName;

    internal SafetensorsFile(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsEntry> entries)
    {
        Path = path;
        Metadata = metadata;
        Entries = entries;
        _byName = new Dictionary<string, SafetensorsEntry>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            _byName.Add(e.Name, e);
        }
    }

    /// <summary>The path the file was read from (used in error messages).</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensors, in the order their bytes appear in the file.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>Tensor names, in file order.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message names the file and
    /// lists the names it does hold.</exception>
    public SafetensorsEntry this[string name]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(name);
            if (_byName.TryGetValue(name, out var entry))
            {
                return entry;
            }

            var shown = Entries.Take(MaxNamesInError).Select(e => e.Name);
            string more = Entries.Count > MaxNamesInError ? $", ... ({Entries.Count - MaxNamesInError} more)" : "";
            string available = Entries.Count == 0 ? "it holds no tensors" : $"available ({Entries.Count}): {string.Join(", ", shown)}{more}";
            throw new KeyNotFoundException($"Safetensors file '{Path}' has no tensor named '{name}'; {available}.");
        }
    }

    /// <summary>True when the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks a tensor up without throwing.</summary>
    public bool TryGet(string name, out SafetensorsEntry entry)
    {
        bool found = _byName.TryGetValue(name, out var e);
        entry = e!;
        return found;
    }

    /// <summary>The elements of an F32 tensor.</summary>
    /// <exception cref="InvalidDataException">The tensor has another dtype.</exception>
    public float[] GetF32(string name) => Get<float>(name, DType.F32);

    /// <summary>The elements of an F64 tensor.</summary>
    /// <exception cref="InvalidDataException">The tensor has another dtype.</exception>
    public double[] GetF64(string name) => Get<double>(name, DType.F64);

    /// <summary>The elements of an I32 tensor.</summary>
    /// <exception cref="InvalidDataException">The tensor has another dtype.</exception>
    public int[] GetI32(string name) => Get<int>(name, DType.I32);

    /// <summary>The elements of a U8 tensor (a copy of its bytes).</summary>
    /// <exception cref="InvalidDataException">The tensor has another dtype.</exception>
    public byte[] GetU8(string name) => Get<byte>(name, DType.U8);

    private T[] Get<T>(string name, DType expected)
        where T : unmanaged
    {
        var entry = this[name];
        Safetensors.CheckElementType(Path, name, entry.DType, entry.Shape, expected);
        return MemoryMarshal.Cast<byte, T>(entry.Data).ToArray();
    }
}
