namespace RawDistill.Methods.Eval;

using System.Globalization;
using RawDistill.Data;

/// <summary>
/// The two datasets of an evaluation, as in the transfer papers (KRR-ST, MKDT): the
/// <em>source</em>, from which the baseline sets are drawn (random-kd, random-ce, k-means,
/// init, full data — the dataset the teacher and the distillation saw), and the
/// <em>downstream</em> dataset, on whose labelled training split the encoders are probed and
/// fine-tuned and on whose test split they are scored. They are the same dataset unless the
/// user asks for transfer.
/// </summary>
/// <param name="Source">The source splits (only the training split is used).</param>
/// <param name="SourceSpec">The source's data spec, for the report.</param>
/// <param name="Downstream">The downstream splits (labelled train and test).</param>
/// <param name="DownstreamSpec">The downstream data spec, for the report.</param>
public sealed record EvalDatasets(DataSplits Source, string SourceSpec, DataSplits Downstream, string DownstreamSpec)
{
    /// <summary>One dataset as both source and downstream (no transfer).</summary>
    public static EvalDatasets Same(DataSplits splits, string spec) => new(splits, spec, splits, spec);

    /// <summary>Whether the downstream dataset differs from the source.</summary>
    public bool IsTransfer => !ReferenceEquals(Source, Downstream) && SourceSpec != DownstreamSpec;

    /// <summary>
    /// A dataset in the distilled set's input shape: channels first (1→3 repeats the gray plane,
    /// 3→1 takes the luma 0.299 R + 0.587 G + 0.114 B: <see cref="ImageDataset.WithChannels"/>),
    /// then a bilinear resize to size×size (align_corners = false, no antialiasing:
    /// <see cref="ImageDataset.Resize"/>). Other channel counts are refused with the dataset's name.
    /// </summary>
    public static ImageDataset Fit(ImageDataset data, int channels, int size) => data.WithChannels(channels).Resize(size, size);

    /// <summary>
    /// What <see cref="Fit"/> did to a dataset, for the report: "" when nothing, else e.g.
    /// "28×28×1 → 32×32×3 (gray repeated to 3 channels, bilinear resize)".
    /// </summary>
    public static string Conversion(ImageDataset data, int channels, int size)
    {
        if (data.Channels == channels && data.Height == size && data.Width == size) return "";
        var how = new List<string>();
        if (data.Channels != channels) how.Add(data.Channels == 1 ? $"gray repeated to {channels} channels" : $"{data.Channels} channels to luma");
        if (data.Height != size || data.Width != size) how.Add("bilinear resize");
        return string.Create(CultureInfo.InvariantCulture, $"{data.Height}×{data.Width}×{data.Channels} → {size}×{size}×{channels} ({string.Join(", ", how)})");
    }

    /// <summary>The sentence of the report that names both datasets and any conversion.</summary>
    public string Describe(int channels, int size)
    {
        var down = Downstream.Train;
        string conv = Conversion(down, channels, size);
        if (!IsTransfer)
            return $"Data `{DownstreamSpec}` ({Source.Train.Count} training images{(Downstream.Test != null ? $", {Downstream.Test.Count} test images" : "")}): source of the baselines and downstream task{(conv.Length > 0 ? $"; images converted {conv}" : "")}.";
        string srcConv = Conversion(Source.Train, channels, size);
        return $"Source (baselines drawn from) `{SourceSpec}` ({Source.Train.Count} training images{(srcConv.Length > 0 ? $", converted {srcConv}" : "")}); " +
            $"downstream (probe, fine-tuning, test) `{DownstreamSpec}` ({down.Count} training images{(Downstream.Test != null ? $", {Downstream.Test.Count} test images" : "")}, {down.ClassCount} classes" +
            $"{(conv.Length > 0 ? $", converted {conv}" : "")}; normalized with the source's statistics, as the encoders were pre-trained).";
    }
}
