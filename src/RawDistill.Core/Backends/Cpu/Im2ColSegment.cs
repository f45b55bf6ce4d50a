namespace RawDistill.Backends.Cpu;

/// <summary>
/// A run of consecutive output pixels of one image and one output row, as
/// <see cref="Im2ColOperandB{T}"/> walks them: pixels Q0 .. Q0+Length of row P of the image at
/// ImageOffset, landing at column Column of the packed panel.
/// </summary>
internal readonly record struct Im2ColSegment(long ImageOffset, int P, int Q0, int Length, int Column)
{
    /// <summary>
    /// Splits the <paramref name="count"/> pixels starting at flat pixel index <paramref name="first"/>
    /// (image · P·Q + p·Q + q) into runs along output rows; returns how many it wrote.
    /// </summary>
    public static int Split(in Conv2dGeometry g, long imageStride, int first, int count, Span<Im2ColSegment> into)
    {
        int pq = g.P * g.Q;
        int n = 0, j = first, done = 0;
        while (done < count)
        {
            int image = j / pq, pixel = j % pq;
            int p = pixel / g.Q, q = pixel % g.Q;
            int length = Math.Min(g.Q - q, count - done);
            into[n++] = new Im2ColSegment(image * imageStride, p, q, length, done);
            done += length;
            j += length;
        }

        return n;
    }
}
