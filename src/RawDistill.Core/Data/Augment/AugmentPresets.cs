namespace RawDistill.Data.Augment;

/// <summary>Standard augmentation recipes.</summary>
public static class AugmentPresets
{
    /// <summary>
    /// The two asymmetric views of Barlow Twins (Zbontar et al. 2021, after BYOL): both take a
    /// random resized crop (scale 0.08–1, ratio 3/4–4/3) back to the input size, flip 0.5,
    /// color jitter 0.8 × (0.4, 0.4, 0.2, 0.1), grayscale 0.2; view 1 always blurs and never
    /// solarizes, view 2 blurs with p = 0.1 and solarizes with p = 0.2. (The paper resizes with
    /// bicubic interpolation; ours is bilinear.)
    /// </summary>
    public static (AugmentRecipe View1, AugmentRecipe View2) BarlowTwins(NormalizationStats? normalize = null)
    {
        var common = new AugmentRecipe
        {
            ResizedCrop = new RandomResizedCrop(),
            Flip = new HorizontalFlip(0.5),
            Jitter = new ColorJitter(0.4, 0.4, 0.2, 0.1, Probability: 0.8),
            Grayscale = new RandomGrayscale(0.2),
            Normalize = normalize,
        };
        return (common with { Blur = new GaussianBlur(1.0), Solarize = new Solarize(0.0) },
                common with { Blur = new GaussianBlur(0.1), Solarize = new Solarize(0.2) });
    }

    /// <summary>
    /// The real-batch augmentation of KRR-ST (and of the usual CIFAR training): a random crop of
    /// the input size from the image zero-padded by <paramref name="padding"/>, then a flip with p = 0.5.
    /// </summary>
    public static AugmentRecipe CropFlip(int padding = 4, NormalizationStats? normalize = null) => new()
    {
        PaddedCrop = new RandomCrop(padding),
        Flip = new HorizontalFlip(0.5),
        Normalize = normalize,
    };
}
