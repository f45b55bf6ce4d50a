namespace RawDistill.Tests.IO;

using RawDistill.IO;

/// <summary>The PNG line plot and its bitmap font.</summary>
public sealed class LinePlotTests
{
    static HashSet<(int, int)> Ink(string text, int scale)
    {
        var ink = new HashSet<(int, int)>();
        BitmapFont.Draw(text, 0, 0, scale, (x, y) => ink.Add((x, y)));
        return ink;
    }

    [Fact]
    public void GlyphsDrawTheirBitsAtScale()
    {
        // '1' = .#. / ##. / .#. / .#. / ###  → 8 ink pixels, ×4 at scale 2.
        var one = Ink("1", 1);
        Assert.Equal(8, one.Count);
        Assert.Contains((1, 0), one);
        Assert.Contains((0, 1), one);
        Assert.DoesNotContain((0, 0), one);
        Assert.Equal(32, Ink("1", 2).Count);
        // The second character starts one font pixel after the first.
        Assert.Contains((4 + 1, 0), Ink("11", 1));
        Assert.Equal(7 * 2, BitmapFont.Width("11", 2));
        // Upper case draws as lower case; a character without a glyph is a full box, never nothing.
        Assert.Equal(Ink("loss", 1), Ink("LOSS", 1));
        Assert.False(BitmapFont.Has('%'));
        Assert.Equal(15, Ink("%", 1).Count);
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(100.0, "100")]
    [InlineData(0.15, "0.15")]
    [InlineData(12345.678, "12346")]
    [InlineData(1234.0, "1234")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1.25e-5, "1.25e-5")]
    [InlineData(250000.0, "2.5e+5")]
    public void TickLabelsAreShort(double v, string expected)
    {
        Assert.Equal(expected, LinePlot.TickLabel(v));
        Assert.All(expected, c => Assert.True(BitmapFont.Has(c), $"no glyph for '{c}'"));
    }

    [Fact]
    public void PlotHasTickValuesTitlesAndTheSeries()
    {
        var x = Enumerable.Range(0, 101).Select(i => (double)i).ToList();
        var (px, w, h) = LinePlot.Render(x, x, width: 320, height: 240, xLabel: "step", yLabel: "loss");
        bool Dark(int cx, int cy) => px[(cy * w + cx) * 3] < 128 && px[(cy * w + cx) * 3 + 2] < 128;
        bool Blue(int cx, int cy) => px[(cy * w + cx) * 3] == 31 && px[(cy * w + cx) * 3 + 2] == 180;
        int DarkIn(int x0, int y0, int x1, int y1)
        {
            int n = 0;
            for (int cy = y0; cy < y1; cy++)
                for (int cx = x0; cx < x1; cx++)
                    if (Dark(cx, cy)) n++;
            return n;
        }
        // The y tick values ("100" at the top, "0" at the bottom) stand left of the axis: find the axis first.
        int axisX = Enumerable.Range(0, w).First(cx => Enumerable.Range(h / 3, h / 3).All(cy => Dark(cx, cy)));
        Assert.True(axisX >= BitmapFont.Width("100", 2), $"axis at x = {axisX} leaves no room for the labels");
        Assert.True(DarkIn(0, 0, axisX - 2, h) >= Ink("100", 2).Count + Ink("0", 2).Count, "y tick values missing");
        // The x tick values and the title sit below the axis.
        int axisY = Enumerable.Range(0, h).Last(cy => Enumerable.Range(w / 3, w / 3).All(cx => Dark(cx, cy)));
        Assert.True(DarkIn(0, axisY + 6, w, h) >= Ink("025507510 step", 2).Count - Ink(" ", 2).Count, "x tick values or title missing");
        // The series runs from the bottom-left to the top-right corner of the plot area.
        Assert.True(Blue(axisX, axisY) || Blue(axisX, axisY - 1) || Blue(axisX + 1, axisY - 1), "series does not start at the origin");
        Assert.Contains(Enumerable.Range(0, h), cy => Blue(w - 1 - Enumerable.Range(0, w).First(d => Enumerable.Range(0, h).Any(yy => Blue(w - 1 - d, yy))), cy) && cy < h / 4);
        // Without labels the axis moves left: the margin follows the tick text.
        var (px2, _, _) = LinePlot.Render(x, x.Select(v => v / 1000).ToList(), width: 320, height: 240);
        Assert.NotEqual(px, px2);
    }

    [Theory]
    [InlineData(0.0, 100.0, new[] { 0.0, 20, 40, 60, 80, 100 })]
    [InlineData(1.0, 200.0, new[] { 0.0, 50, 100, 150, 200 })]
    [InlineData(0.13, 0.97, new[] { 0.0, 0.2, 0.4, 0.6, 0.8, 1.0 })]
    [InlineData(-0.35, 0.35, new[] { -0.4, -0.2, 0, 0.2, 0.4 })]
    public void LinearTicksAreRoundNumbersCoveringTheData(double lo, double hi, double[] expected) =>
        // Issue 14 item 12: the ticks were lo + t·(hi − lo)/4, e.g. 0.13, 0.34, 0.55, 0.76, 0.97.
        Assert.Equal(expected, LinePlot.NiceTicks(lo, hi));

    [Fact]
    public void LogTicksAreDecadesOrRoundMantissas()
    {
        // A KRR-ST loss falling from 0.26 to 0.15 (less than a decade): 0.1, 0.2, 0.3, not 0.15, 0.172, ….
        Assert.Equal([0.1, 0.2, 0.3], LinePlot.NiceLogTicks(Math.Log10(0.15), Math.Log10(0.26)));
        // 0.01 to 10: the decades.
        Assert.Equal([0.01, 0.1, 1, 10], LinePlot.NiceLogTicks(-2, 1));
        // 0.8 to 3: 1-2-5 × 10^k (0.5, 1, 2, 5).
        Assert.Equal([0.5, 1, 2, 5], LinePlot.NiceLogTicks(Math.Log10(0.8), Math.Log10(3)));
        // Every label is one the font can draw.
        Assert.All(LinePlot.NiceLogTicks(-7, 5).Select(LinePlot.TickLabel), l => Assert.All(l, c => Assert.True(BitmapFont.Has(c))));
    }

    [Fact]
    public void ATitleIsDrawnAboveThePlot()
    {
        var x = Enumerable.Range(0, 50).Select(i => (double)i).ToList();
        var y = x.Select(v => 0.3 - v / 400).ToList();
        var (plain, w, _) = LinePlot.Render(x, y, logY: true, width: 320, height: 240, xLabel: "outer step", yLabel: "loss (log)");
        var (titled, _, _) = LinePlot.Render(x, y, logY: true, width: 320, height: 240, xLabel: "outer step", yLabel: "loss (log)", title: "KRR-ST outer loss");
        int DarkRows(byte[] px, int rows) => Enumerable.Range(0, rows).Sum(cy => Enumerable.Range(w / 3, w / 3).Count(cx => px[(cy * w + cx) * 3] < 128));
        // The title's ink sits in the top band, in the middle third where no y label reaches.
        int band = 6 + BitmapFont.GlyphHeight * 2;
        Assert.Equal(0, DarkRows(plain, band));
        Assert.True(DarkRows(titled, band) >= Ink("KRR-ST", 2).Count / 2, "no title");
    }

    [Fact]
    public void TooSmallForTheLabelsIsAnError() =>
        Assert.Throws<ArgumentException>(() => LinePlot.Render([0, 1], [0, 1], width: 30, height: 30));
}
