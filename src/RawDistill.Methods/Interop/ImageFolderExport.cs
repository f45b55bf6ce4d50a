namespace RawDistill.Methods.Interop;

using System.Globalization;
using System.Text;
using RawDistill.IO;
using RawDistill.Tensors;

/// <summary>What <see cref="ImageFolderExport.Export"/> wrote.</summary>
/// <param name="Folder">The set's folder.</param>
/// <param name="Images">Images written.</param>
/// <param name="Channels">1 (gray PNG) or 3 (RGB PNG).</param>
/// <param name="Size">Height × width in pixels.</param>
/// <param name="ClippedFraction">Fraction of pixel values outside [0, 1] that the 8-bit PNGs clip (the safetensors file keeps them).</param>
/// <param name="TargetDim">Width of the targets written next to the images (0 when the set has none).</param>
public sealed record ImageFolderExportResult(string Folder, int Images, int Channels, (int Height, int Width) Size, double ClippedFraction, int TargetDim);

/// <summary>
/// Writes a set's images (<c>x_syn</c>, N×C×H×W in [0, 1] pixel space: what <c>distill</c> writes
/// for every method) as PNG files in torchvision's ImageFolder layout, so any framework can read
/// them:
/// <code>
/// FOLDER/images/000000.png … (one "class" folder: the targets are regression targets, not labels)
/// FOLDER/targets.safetensors   y_syn (N×d, f32) in file-name order, plus the set's metadata
/// FOLDER/targets.csv           file,row,y_0,…,y_{d-1} for tools without a safetensors reader
/// </code>
/// <c>torchvision.datasets.ImageFolder(FOLDER)</c> lists the files sorted, so sample i pairs with
/// row i of the targets. PNGs are 8-bit: values are clamped to [0, 1] and rounded to 1/255; the
/// safetensors set stays the exact one. The folder is written under a temporary name and renamed
/// into place, so a reader never sees half of it.
/// </summary>
public static class ImageFolderExport
{
    /// <summary>The one class folder.</summary>
    public const string ClassFolder = "images";

    /// <summary>
    /// The folder name for a set: its run folder's name for a <c>distilled.safetensors</c> (every run
    /// writes one, so the file name says nothing), else the file name without extension.
    /// </summary>
    public static string DefaultName(string setPath)
    {
        string full = Path.GetFullPath(setPath);
        string stem = Path.GetFileNameWithoutExtension(full);
        string? run = Path.GetFileName(Path.GetDirectoryName(full));
        return stem == "distilled" && !string.IsNullOrEmpty(run) ? run : stem;
    }

    /// <summary>Exports the set at <paramref name="setPath"/> to <paramref name="folder"/>.</summary>
    /// <param name="setPath">A safetensors file with <c>x_syn</c> (F32, N×C×H×W, C = 1 or 3) and optionally <c>y_syn</c> (N×d).</param>
    /// <param name="folder">The folder to create.</param>
    /// <param name="overwrite">Replace an existing folder (else it is an error).</param>
    /// <exception cref="InvalidDataException">The file holds no such set.</exception>
    /// <exception cref="IOException">The folder exists and <paramref name="overwrite"/> is false.</exception>
    public static ImageFolderExportResult Export(string setPath, string folder, bool overwrite = false)
    {
        var file = Safetensors.Read(setPath);
        if (!file.TryGet("x_syn", out var x))
            throw new InvalidDataException($"{setPath}: no 'x_syn' tensor (expected a distilled set written by `rawdistill distill`)");
        if (x.DType != DType.F32 || x.Shape.Length != 4 || x.Shape[1] is not (1 or 3))
            throw new InvalidDataException($"{setPath}: 'x_syn' is {x.DType} {Shape.Format(x.Shape)}; expected F32 [N, C, H, W] with C = 1 or 3");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        float[]? targets = null;
        int d = 0;
        if (file.TryGet("y_syn", out var y))
        {
            if (y.DType != DType.F32 || y.Shape.Length != 2 || y.Shape[0] != n)
                throw new InvalidDataException($"{setPath}: 'y_syn' is {y.DType} {Shape.Format(y.Shape)}; expected F32 [{n}, d]");
            targets = file.GetF32("y_syn");
            d = y.Shape[1];
        }

        string target = Path.GetFullPath(folder);
        if (Directory.Exists(target) && !overwrite)
            throw new IOException($"{folder} exists; remove it or ask for it to be replaced");
        string parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var pixels = file.GetF32("x_syn");
            string images = Path.Combine(staging, ClassFolder);
            Directory.CreateDirectory(images);
            int digits = Math.Max(6, (n - 1).ToString(CultureInfo.InvariantCulture).Length);
            var hwc = new byte[h * w * c];
            long clipped = 0;
            var names = new string[n];
            for (int i = 0; i < n; i++)
            {
                // CHW floats → interleaved HWC bytes.
                int plane = h * w, offset = i * c * plane;
                for (int ch = 0; ch < c; ch++)
                    for (int p = 0; p < plane; p++)
                    {
                        float v = pixels[offset + ch * plane + p];
                        if (!(v >= 0f && v <= 1f)) clipped++;
                        hwc[p * c + ch] = (byte)Math.Round(Math.Clamp(float.IsNaN(v) ? 0f : v, 0f, 1f) * 255f);
                    }
                names[i] = i.ToString("D" + digits, CultureInfo.InvariantCulture) + ".png";
                File.WriteAllBytes(Path.Combine(images, names[i]), Png.Encode(hwc, w, h, c));
            }
            if (targets != null)
            {
                var meta = new Dictionary<string, string>(file.Metadata) { ["source"] = Path.GetFileName(setPath), ["order"] = $"row i is {ClassFolder}/{{i:D{digits}}}.png" };
                Safetensors.Write(Path.Combine(staging, "targets.safetensors"), [SafetensorsEntry.Create("y_syn", [n, d], targets)], meta);
                WriteCsv(Path.Combine(staging, "targets.csv"), names, targets, d);
            }
            if (Directory.Exists(target)) Directory.Delete(target, true);
            Directory.Move(staging, target);
            return new ImageFolderExportResult(target, n, c, (h, w), pixels.Length == 0 ? 0 : (double)clipped / pixels.Length, d);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            throw;
        }
    }

    static void WriteCsv(string path, string[] names, float[] targets, int d)
    {
        using var s = new StreamWriter(path, false, new UTF8Encoding(false));
        s.Write("file,row");
        for (int j = 0; j < d; j++) s.Write($",y_{j}");
        s.Write('\n');
        for (int i = 0; i < names.Length; i++)
        {
            s.Write($"{ClassFolder}/{names[i]},{i}");
            for (int j = 0; j < d; j++)
            {
                s.Write(',');
                s.Write(targets[i * d + j].ToString("R", CultureInfo.InvariantCulture));
            }
            s.Write('\n');
        }
    }
}
