namespace RawDistill.Methods.Ssl;

using System.Globalization;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Eval;
using RawDistill.Nn;
using RawDistill.Nn.Models;
using RawDistill.Tensors;

/// <summary>
/// A frozen SSL encoder g as distillation uses it: the network (eval mode), how to rebuild it,
/// and how its inputs are normalized.
/// <para>
/// File format: a safetensors file whose tensors are the encoder's state dict under its own
/// names (<c>features.0.weight</c>, <c>conv1.weight</c>, <c>layer1.0.bn1.running_mean</c>, …;
/// no prefix, no projector), and whose metadata holds:
/// <c>format</c> = <see cref="Format"/>; <c>encoder</c> = the <see cref="EncoderConfig"/> JSON
/// (enough to rebuild the network); <c>arch</c>; <c>stem_padding</c> (first-conv padding);
/// <c>input_channels</c>, <c>input_size</c>; <c>feature_dim</c>; <c>normalization</c> (the
/// <see cref="NormalizationStats"/> JSON); <c>dataset</c>; and from training <c>method</c>,
/// <c>epochs</c>, <c>seed</c>, <c>final_loss</c>, <c>lambda_off</c>, <c>options</c>.
/// A teacher trained in PyTorch becomes such a file through <see cref="TeacherImport"/>
/// (<c>rawdistill teacher import</c>), which also records <c>method</c> = imported and where the
/// weights came from.
/// </para>
/// </summary>
public sealed class Teacher : IDisposable
{
    /// <summary>Value of the <c>format</c> metadata key.</summary>
    public const string Format = "rawdistill-teacher/1";

    Teacher(ImageModel encoder, EncoderConfig config, NormalizationStats normalization, IReadOnlyDictionary<string, string> metadata, string? path)
    {
        Encoder = encoder; Config = config; Normalization = normalization; Metadata = metadata; Path = path;
        Encoder.Eval();
    }

    /// <summary>The encoder, in eval mode.</summary>
    public ImageModel Encoder { get; }

    /// <summary>Its architecture.</summary>
    public EncoderConfig Config { get; }

    /// <summary>The statistics its inputs are normalized with.</summary>
    public NormalizationStats Normalization { get; }

    /// <summary>Every metadata entry of the file.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The file it was loaded from.</summary>
    public string? Path { get; }

    /// <summary>Size d of the representation.</summary>
    public int FeatureDim => Encoder.FeatureDim;

    /// <summary>Writes an encoder as a teacher file (atomically).</summary>
    public static void Save(string path, ImageModel encoder, EncoderConfig config, NormalizationStats normalization, string dataset,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var meta = new Dictionary<string, string>();
        if (extra != null) foreach (var (k, v) in extra) meta[k] = v;
        meta["format"] = Format;
        meta[EncoderConfig.MetadataKey] = config.ToJson();
        meta["arch"] = config.Arch;
        meta["stem_padding"] = (config.Arch == "convnet" ? config.FirstPadding ?? 1 : config.StemPadding ?? (config.Stem == "imagenet" ? 3 : 1)).ToString(CultureInfo.InvariantCulture);
        meta["input_channels"] = config.Channels.ToString(CultureInfo.InvariantCulture);
        meta["input_size"] = config.Size.ToString(CultureInfo.InvariantCulture);
        meta["feature_dim"] = encoder.FeatureDim.ToString(CultureInfo.InvariantCulture);
        meta[NormalizationStats.MetadataKey] = normalization.ToJson();
        meta["dataset"] = dataset;
        StateDictIO.Save(encoder, path, meta);
    }

    /// <summary>Rebuilds the encoder from a teacher file (strict key match) on a backend.</summary>
    /// <exception cref="InvalidDataException">Missing metadata, or weights that do not fit the described architecture.</exception>
    public static Teacher Load(string path, IBackend? backend = null)
    {
        var file = Safetensors.Read(path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path}: not a teacher file (no '{key}' metadata; expected the keys of {Format})");
        var config = EncoderConfig.FromJson(Meta(EncoderConfig.MetadataKey));
        var norm = NormalizationStats.FromJson(Meta(NormalizationStats.MetadataKey));
        if (norm.Channels != config.Channels) throw new InvalidDataException($"{path}: normalization has {norm.Channels} channels, the encoder takes {config.Channels}");
        var encoder = config.Build();
        try
        {
            if (backend != null && backend != Tensor.DefaultBackend) encoder.To(backend);
            try
            {
                StateDictIO.Load(encoder, file, strict: true);
            }
            catch (StateLoadException e)
            {
                throw new InvalidDataException($"{path}: the weights do not fit the encoder {config.ToJson()}: {e.Message}", e);
            }
            return new Teacher(encoder, config, norm, file.Metadata, path);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>The data converted to the encoder's input geometry (channels, then size), when it differs.</summary>
    public ImageDataset Fit(ImageDataset data) => data.WithChannels(Config.Channels).Resize(Config.Size, Config.Size);

    /// <summary>Representations g(norm(x)) of every image, N × d on the host (eval mode, no gradient, in batches).</summary>
    public float[] Embed(ImageDataset data, int batch = 256, IProgress<int>? progress = null) =>
        FeatureExtractor.Extract(Encoder, Fit(data), Normalization, batch, progress);

    /// <summary>Disposes the encoder.</summary>
    public void Dispose() => Encoder.Dispose();
}
