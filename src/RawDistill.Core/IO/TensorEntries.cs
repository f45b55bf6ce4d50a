namespace RawDistill.IO;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>Converts between tensors and safetensors entries (a host copy either way).</summary>
public static class TensorEntries
{
    /// <summary>A tensor holding the entry's values, on the given backend (the default when null).</summary>
    public static Tensor ToTensor(this SafetensorsEntry entry, IBackend? backend = null)
    {
        var t = Tensor.Empty(entry.Shape, entry.DType, backend);
        t.Backend.Upload(t.Storage, entry.Data);
        return t;
    }

    /// <summary>An entry holding a copy of the tensor's values under a name.</summary>
    public static SafetensorsEntry ToEntry(this Tensor tensor, string name)
    {
        var data = new byte[tensor.Numel * tensor.DType.SizeOf()];
        tensor.Backend.Download(tensor.Storage, data);
        return new SafetensorsEntry(name, tensor.DType, (int[])tensor.Shape.Clone(), data);
    }

    /// <summary>The named entry of a file as a tensor.</summary>
    public static Tensor ReadTensor(this SafetensorsFile file, string name, IBackend? backend = null) => file[name].ToTensor(backend);
}
