namespace RawDistill.Data;

/// <summary>
/// A dataset's training split and, when it has one, its test split. Normalization statistics
/// always come from the training split (the test split must not leak into them).
/// </summary>
/// <param name="Train">The training images: what teachers and distillation see.</param>
/// <param name="Test">The held-out images for evaluation, or null.</param>
public sealed record DataSplits(ImageDataset Train, ImageDataset? Test)
{
    /// <summary>Per-channel statistics of the training split.</summary>
    public NormalizationStats ComputeNormalization() => Train.ComputeNormalization();

    /// <summary>Both splits resized (bilinear) to height×width.</summary>
    public DataSplits Resize(int height, int width) => new(Train.Resize(height, width), Test?.Resize(height, width));

    /// <summary>Both splits converted to a channel count (1→3 repeats, 3→1 takes luma).</summary>
    public DataSplits WithChannels(int channels) => new(Train.WithChannels(channels), Test?.WithChannels(channels));
}
