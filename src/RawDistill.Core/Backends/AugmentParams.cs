namespace RawDistill.Backends;

using System.Runtime.InteropServices;

/// <summary>Extents of a batch of images, N×C×H×W, contiguous row-major f32.</summary>
public readonly record struct ImageBatchGeometry(int N, int C, int H, int W)
{
    /// <summary>Elements per image, C·H·W.</summary>
    public int ImageSize => C * H * W;

    /// <summary>Elements per channel plane, H·W.</summary>
    public int Plane => H * W;

    /// <summary>Elements of the whole batch.</summary>
    public long Numel => (long)N * C * H * W;

    /// <summary>The geometry of a tensor's shape (which must be rank 4).</summary>
    public static ImageBatchGeometry Of(int[] shape) => shape.Length == 4
        ? new ImageBatchGeometry(shape[0], shape[1], shape[2], shape[3])
        : throw new ArgumentException($"expected an N×C×H×W batch, got shape [{string.Join(", ", shape)}]");
}

/// <summary>
/// The source box of one image for <see cref="IAugmentBackend.ResizedCrop"/>: rows
/// [Top, Top + Height) and columns [Left, Left + Width), which may extend past the image
/// (pixels outside are zero: that is how padded random crops are expressed), and whether the
/// output is mirrored left–right. Blittable, so a GPU backend can upload an array of them as is.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct CropBox(int Top, int Left, int Height, int Width, int Flip)
{
    /// <summary>The whole image, not mirrored.</summary>
    public static CropBox Full(int height, int width) => new(0, 0, height, width, 0);

    /// <summary>True when the output is mirrored.</summary>
    public bool Flipped => Flip != 0;
}

/// <summary>
/// Color-jitter parameters of one image (torchvision's ColorJitter): factors for the four
/// adjustments, the order they run in, and which of them run. Op codes (torchvision's
/// fn_id): 0 brightness, 1 contrast, 2 saturation, 3 hue. Blittable.
/// </summary>
/// <param name="Brightness">x ← clamp(b·x, 0, 1).</param>
/// <param name="Contrast">x ← clamp(c·x + (1 − c)·mean(gray(x)), 0, 1) (mean over the whole image).</param>
/// <param name="Saturation">x ← clamp(s·x + (1 − s)·gray(x), 0, 1) (3 channels only).</param>
/// <param name="Hue">Shift of the HSV hue, in turns, in [−0.5, 0.5] (3 channels only).</param>
/// <param name="Order">Op code of step k in bits 2k..2k+1, k = 0..3.</param>
/// <param name="Enabled">Bit (op code) set when that op runs for this image; 0 leaves the image untouched.</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct JitterParams(float Brightness, float Contrast, float Saturation, float Hue, int Order, int Enabled)
{
    /// <summary>Op code of brightness.</summary>
    public const int BrightnessOp = 0;

    /// <summary>Op code of contrast.</summary>
    public const int ContrastOp = 1;

    /// <summary>Op code of saturation.</summary>
    public const int SaturationOp = 2;

    /// <summary>Op code of hue.</summary>
    public const int HueOp = 3;

    /// <summary>The op run at step k (0..3).</summary>
    public int Step(int k) => (Order >> (2 * k)) & 3;

    /// <summary>True when op <paramref name="op"/> runs.</summary>
    public bool Runs(int op) => (Enabled & (1 << op)) != 0;

    /// <summary>Packs an order given as four op codes.</summary>
    public static int PackOrder(ReadOnlySpan<int> ops) => ops[0] | (ops[1] << 2) | (ops[2] << 4) | (ops[3] << 6);
}
