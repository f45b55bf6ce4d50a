namespace RawDistill.Diagnostics;

using RawDistill.Backends;
using RawDistill.Tensors;

/// <summary>
/// Whether a backend still works after a failure. A device fault (an illegal address, a
/// launch failure) is sticky on a GPU: every later call fails with it, so a self-test that
/// went on would report each later case as failed for the first case's fault.
/// </summary>
public static class BackendHealth
{
    /// <summary>Null when a synchronize and a tiny fill → download round trip succeed, else the error they raise.</summary>
    public static string? Probe(IBackend backend)
    {
        try
        {
            backend.Synchronize();
            using var t = Tensor.Zeros([4], DType.F32, backend);
            backend.Fill(t.Storage, 0, 4, 3);
            var v = t.ToArray<float>();
            return v.All(x => x == 3) ? null : $"a fill of 3 read back as [{string.Join(", ", v)}]";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }
}
