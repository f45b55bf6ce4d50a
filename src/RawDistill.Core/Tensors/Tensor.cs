namespace RawDistill.Tensors;

using System.Runtime.InteropServices;
using RawDistill.Autodiff;
using RawDistill.Backends;
using RawDistill.Backends.Cpu;

/// <summary>
/// An n-dimensional array of one <see cref="Tensors.DType"/>, contiguous and row-major,
/// whose memory belongs to a backend. Tensors record how they were computed (when
/// gradients are being tracked) so <see cref="Autograd"/> can differentiate through them.
/// <para>
/// Memory is deterministic: dispose a tensor, or create it inside a
/// <see cref="TensorScope"/> that disposes everything made in it unless kept. The
/// operations themselves live in <see cref="Ops"/>; the instance methods here forward to it.
/// </para>
/// </summary>
public sealed partial class Tensor : IDisposable
{
    Storage? _storage;
    Tensor? _grad;

    internal Tensor(Storage storage, int[] shape)
    {
        _storage = storage;
        Shape = shape;
        Numel = Tensors.Shape.Numel(shape);
        if (Numel > storage.Count) throw new ArgumentException($"shape {Tensors.Shape.Format(shape)} needs {Numel} elements, storage has {storage.Count}");
        TensorScope.Track(this);
    }

    /// <summary>Extents of each axis.</summary>
    public int[] Shape { get; }

    /// <summary>Number of axes.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements.</summary>
    public long Numel { get; }

    /// <summary>Element type.</summary>
    public DType DType => Storage.DType;

    /// <summary>The backend that owns the memory and runs operations on it.</summary>
    public IBackend Backend => Storage.Backend;

    /// <summary>The memory. Throws once the tensor has been disposed.</summary>
    public Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), $"tensor {Describe()} was disposed (directly or when its TensorScope ended)");

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _storage == null;

    /// <summary>Optional name, used in error messages and state dicts.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// For leaf tensors: whether gradients should be computed for it. Non-leaf tensors
    /// require gradients exactly when they were computed from one that does.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad || GradFn != null;
        set
        {
            if (GradFn != null) throw new InvalidOperationException("RequiresGrad can only be set on leaf tensors; use Detach() first");
            if (value && !DType.IsFloat()) throw new InvalidOperationException($"only floating-point tensors can require gradients, not {DType}");
            _requiresGrad = value;
        }
    }

    bool _requiresGrad;

    /// <summary>
    /// The accumulated gradient written by <see cref="Autograd.Backward"/>. The tensor owns
    /// its gradient: assigning one removes it from any scope and disposes the previous one.
    /// </summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            if (ReferenceEquals(value, _grad)) return;
            _grad?.Dispose();
            if (value != null) TensorScope.Untrack(value);
            _grad = value;
        }
    }

    /// <summary>The operation that produced this tensor, when it was recorded.</summary>
    public GradNode? GradFn { get; internal set; }

    /// <summary>True for tensors not produced by a recorded operation.</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>Returns the memory (shared with views) and the gradient; idempotent.</summary>
    public void Dispose()
    {
        var s = _storage;
        if (s == null) return;
        _storage = null;
        GradFn = null;
        s.Release();
        var g = _grad;
        _grad = null;
        g?.Dispose();
    }

    /// <summary>Moves this tensor out of the current scope into the enclosing one (or out of scopes entirely).</summary>
    public Tensor Keep()
    {
        TensorScope.KeepInParent(this);
        return this;
    }

    /// <summary>"f32[2, 3] on cpu".</summary>
    public string Describe() => $"{(Name != null ? Name + ": " : "")}{(_storage == null ? "disposed" : DType.ToString().ToLowerInvariant())}{Tensors.Shape.Format(Shape)}{(_storage != null ? " on " + Backend.Name : "")}";

    /// <inheritdoc/>
    public override string ToString() => Describe();

    // ---- creation -----------------------------------------------------------------------

    /// <summary>The backend new tensors go to when none is named (the CPU unless changed).</summary>
    public static IBackend DefaultBackend { get; set; } = CpuBackend.Instance;

    /// <summary>An uninitialized tensor.</summary>
    public static Tensor Empty(int[] shape, DType dtype = DType.F32, IBackend? backend = null)
    {
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"negative extent in shape {Tensors.Shape.Format(shape)}");
        var b = backend ?? DefaultBackend;
        return new Tensor(b.Allocate(dtype, Tensors.Shape.Numel(shape)), (int[])shape.Clone());
    }

    /// <summary>A tensor filled with one value.</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.F32, IBackend? backend = null)
    {
        var t = Empty(shape, dtype, backend);
        t.Backend.Fill(t.Storage, 0, t.Numel, value);
        return t;
    }

    public static Tensor Zeros(int[] shape, DType dtype = DType.F32, IBackend? backend = null) => Full(shape, 0, dtype, backend);

    public static Tensor Ones(int[] shape, DType dtype = DType.F32, IBackend? backend = null) => Full(shape, 1, dtype, backend);

    /// <summary>A scalar (shape []).</summary>
    public static Tensor Scalar(double value, DType dtype = DType.F32, IBackend? backend = null) => Full([], value, dtype, backend);

    /// <summary>A tensor holding a copy of host data.</summary>
    public static Tensor From<T>(ReadOnlySpan<T> data, int[] shape, IBackend? backend = null) where T : unmanaged
    {
        var dtype = DTypeOf<T>();
        if (data.Length != Tensors.Shape.Numel(shape))
            throw new ArgumentException($"{data.Length} values do not fill shape {Tensors.Shape.Format(shape)}");
        var t = Empty(shape, dtype, backend);
        t.Backend.Upload(t.Storage, MemoryMarshal.AsBytes(data));
        return t;
    }

    public static Tensor From(float[] data, params int[] shape) => From<float>(data, shape);

    public static Tensor From(double[] data, params int[] shape) => From<double>(data, shape);

    public static Tensor From(int[] data, params int[] shape) => From<int>(data, shape);

    /// <summary>Shape-like tensor filled by a seeded uniform draw on [low, high).</summary>
    public static Tensor Uniform(int[] shape, double low, double high, Random.Generator rng, DType dtype = DType.F32, IBackend? backend = null)
    {
        var t = Empty(shape, dtype, backend);
        t.Backend.Random(RandomDistribution.Uniform, t.Storage, t.Numel, rng.Seed, rng.Reserve(t.Numel));
        if (low != 0 || high != 1) t.Backend.Unary(UnaryOp.Affine, t.Storage, t.Storage, t.Numel, high - low, low);
        return t;
    }

    /// <summary>Normally distributed values with a mean and standard deviation, seeded.</summary>
    public static Tensor Normal(int[] shape, double mean, double std, Random.Generator rng, DType dtype = DType.F32, IBackend? backend = null)
    {
        var t = Empty(shape, dtype, backend);
        t.Backend.Random(RandomDistribution.Normal, t.Storage, t.Numel, rng.Seed, rng.Reserve(t.Numel));
        if (mean != 0 || std != 1) t.Backend.Unary(UnaryOp.Affine, t.Storage, t.Storage, t.Numel, std, mean);
        return t;
    }

    /// <summary>The dtype that stores a .NET element type.</summary>
    public static DType DTypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.F32 :
        typeof(T) == typeof(double) ? DType.F64 :
        typeof(T) == typeof(byte) ? DType.U8 :
        typeof(T) == typeof(int) ? DType.I32 :
        throw new NotSupportedException($"no dtype for {typeof(T).Name}");

    // ---- reading back ---------------------------------------------------------------------

    /// <summary>A host copy of the elements (the dtype must match T).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (DTypeOf<T>() != DType) throw new InvalidOperationException($"ToArray<{typeof(T).Name}> on a {DType} tensor {Describe()}");
        var r = new T[Numel];
        Backend.Download(Storage, MemoryMarshal.AsBytes(r.AsSpan()));
        return r;
    }

    /// <summary>
    /// Copies the elements into <paramref name="destination"/> (exactly <see cref="Numel"/> long;
    /// the dtype must match T): a download without the intermediate array of <see cref="ToArray{T}"/>,
    /// for loops that gather many batches into one buffer.
    /// </summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        if (DTypeOf<T>() != DType) throw new InvalidOperationException($"CopyTo<{typeof(T).Name}> on a {DType} tensor {Describe()}");
        if (destination.Length != Numel) throw new ArgumentException($"CopyTo: a destination of {destination.Length} elements for the {Numel} of {Describe()}");
        Backend.Download(Storage, MemoryMarshal.AsBytes(destination));
    }

    /// <summary>The elements as doubles, whatever the dtype.</summary>
    public double[] ToDoubles() => DType switch
    {
        DType.F64 => ToArray<double>(),
        DType.F32 => Array.ConvertAll(ToArray<float>(), v => (double)v),
        DType.I32 => Array.ConvertAll(ToArray<int>(), v => (double)v),
        DType.U8 => Array.ConvertAll(ToArray<byte>(), v => (double)v),
        _ => throw new NotSupportedException(),
    };

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs exactly one element, {Describe()} has {Numel}");
        return ToDoubles()[0];
    }

    // ---- in-place updates (no gradient tracking; for optimizers and running statistics) ----

    /// <summary>Overwrites this tensor's elements with another's (same shape and dtype).</summary>
    public void CopyFrom(Tensor src)
    {
        if (src.Numel != Numel || src.DType != DType) throw new ArgumentException($"CopyFrom: {src.Describe()} into {Describe()}");
        if (src.Backend == Backend) Backend.CopyBlocks(src.Storage, 0, 0, Storage, 0, 0, 1, Numel);
        else
        {
            var bytes = new byte[Storage.Bytes];
            src.Backend.Download(src.Storage, bytes);
            Backend.Upload(Storage, bytes);
        }
    }

    /// <summary>this ← this·a + other·b, element-wise, in place (same shape).</summary>
    public void AxpbyInPlace(double a, Tensor other, double b)
    {
        if (!Tensors.Shape.Equal(Shape, other.Shape)) throw new ArgumentException($"AxpbyInPlace: {other.Describe()} into {Describe()}");
        var strides = Tensors.Shape.Strides(Shape);
        if (a != 1) Backend.Unary(UnaryOp.Affine, Storage, Storage, Numel, a, 0);
        if (b == 1)
        {
            Backend.Binary(BinaryOp.Add, Storage, strides, other.Storage, strides, Storage, Shape);
            return;
        }
        using var scaled = Ops.Affine(other, b, 0, record: false);
        Backend.Binary(BinaryOp.Add, Storage, strides, scaled.Storage, strides, Storage, Shape);
    }

    /// <summary>Sets every element to a value, in place.</summary>
    public void FillInPlace(double value) => Backend.Fill(Storage, 0, Numel, value);

    /// <summary>A copy on another backend (or the same tensor when it is already there).</summary>
    public Tensor To(IBackend backend)
    {
        if (backend == Backend) return this;
        var t = Empty(Shape, DType, backend);
        t.CopyFrom(this);
        return t;
    }
}
