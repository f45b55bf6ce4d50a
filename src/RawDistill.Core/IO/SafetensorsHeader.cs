namespace RawDistill.IO;

using RawDistill.Tensors;

/// <summary>A tensor's name, dtype and shape as a safetensors header lists them.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="FileOffset">Where its first byte is in the file (the data section's start plus its begin offset).</param>
public sealed record SafetensorsTensorInfo(string Name, DType DType, int[] Shape, long FileOffset);

/// <summary>What <see cref="Safetensors.ReadHeader"/> reads: the metadata and the tensors, without their data.</summary>
/// <param name="Path">The file (for error messages).</param>
/// <param name="Metadata">The <c>__metadata__</c> map; empty when the file has none.</param>
/// <param name="Tensors">The tensors, in data-section order.</param>
public sealed record SafetensorsHeader(string Path, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafetensorsTensorInfo> Tensors)
{
    /// <summary>The tensor called <paramref name="name"/>, or null.</summary>
    public SafetensorsTensorInfo? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);
}
