namespace RawDistill.IO;

/// <summary>
/// A 3×5-pixel font, just enough for plot labels: digits, '.', '-', '+', '(', ')', ' ' and
/// the lowercase letters a–z. Each glyph is five rows of three bits (most significant bit =
/// left column). Drawn at an integer scale, so 2 gives 6×10-pixel characters.
/// </summary>
public static class BitmapFont
{
    /// <summary>Glyph width in font pixels (plus one pixel of spacing between characters).</summary>
    public const int GlyphWidth = 3;

    /// <summary>Glyph height in font pixels.</summary>
    public const int GlyphHeight = 5;

    static readonly Dictionary<char, byte[]> Glyphs = new()
    {
        ['0'] = [0b111, 0b101, 0b101, 0b101, 0b111],
        ['1'] = [0b010, 0b110, 0b010, 0b010, 0b111],
        ['2'] = [0b111, 0b001, 0b111, 0b100, 0b111],
        ['3'] = [0b111, 0b001, 0b111, 0b001, 0b111],
        ['4'] = [0b101, 0b101, 0b111, 0b001, 0b001],
        ['5'] = [0b111, 0b100, 0b111, 0b001, 0b111],
        ['6'] = [0b111, 0b100, 0b111, 0b101, 0b111],
        ['7'] = [0b111, 0b001, 0b010, 0b010, 0b010],
        ['8'] = [0b111, 0b101, 0b111, 0b101, 0b111],
        ['9'] = [0b111, 0b101, 0b111, 0b001, 0b111],
        ['.'] = [0b000, 0b000, 0b000, 0b000, 0b010],
        ['-'] = [0b000, 0b000, 0b111, 0b000, 0b000],
        ['+'] = [0b000, 0b010, 0b111, 0b010, 0b000],
        ['('] = [0b001, 0b010, 0b010, 0b010, 0b001],
        [')'] = [0b100, 0b010, 0b010, 0b010, 0b100],
        [' '] = [0, 0, 0, 0, 0],
        ['a'] = [0b000, 0b011, 0b101, 0b101, 0b011],
        ['b'] = [0b100, 0b110, 0b101, 0b101, 0b110],
        ['c'] = [0b000, 0b011, 0b100, 0b100, 0b011],
        ['d'] = [0b001, 0b011, 0b101, 0b101, 0b011],
        ['e'] = [0b000, 0b111, 0b111, 0b100, 0b011],
        ['f'] = [0b011, 0b100, 0b110, 0b100, 0b100],
        ['g'] = [0b011, 0b101, 0b111, 0b001, 0b110],
        ['h'] = [0b100, 0b110, 0b101, 0b101, 0b101],
        ['i'] = [0b010, 0b000, 0b010, 0b010, 0b010],
        ['j'] = [0b001, 0b000, 0b001, 0b101, 0b010],
        ['k'] = [0b100, 0b101, 0b110, 0b101, 0b101],
        ['l'] = [0b110, 0b010, 0b010, 0b010, 0b111],
        ['m'] = [0b000, 0b111, 0b111, 0b101, 0b101],
        ['n'] = [0b000, 0b110, 0b101, 0b101, 0b101],
        ['o'] = [0b000, 0b010, 0b101, 0b101, 0b010],
        ['p'] = [0b000, 0b110, 0b101, 0b110, 0b100],
        ['q'] = [0b000, 0b011, 0b101, 0b011, 0b001],
        ['r'] = [0b000, 0b101, 0b110, 0b100, 0b100],
        ['s'] = [0b000, 0b011, 0b110, 0b001, 0b110],
        ['t'] = [0b010, 0b111, 0b010, 0b010, 0b011],
        ['u'] = [0b000, 0b101, 0b101, 0b101, 0b011],
        ['v'] = [0b000, 0b101, 0b101, 0b101, 0b010],
        ['w'] = [0b000, 0b101, 0b101, 0b111, 0b111],
        ['x'] = [0b000, 0b101, 0b010, 0b010, 0b101],
        ['y'] = [0b000, 0b101, 0b011, 0b001, 0b110],
        ['z'] = [0b000, 0b111, 0b010, 0b100, 0b111],
    };

    /// <summary>Whether <paramref name="c"/> has a glyph (upper-case letters are drawn lower-case).</summary>
    public static bool Has(char c) => Glyphs.ContainsKey(char.ToLowerInvariant(c));

    /// <summary>Width in pixels of <paramref name="text"/> at <paramref name="scale"/> (one font pixel between characters).</summary>
    public static int Width(string text, int scale) => text.Length == 0 ? 0 : (text.Length * (GlyphWidth + 1) - 1) * scale;

    /// <summary>
    /// Draws <paramref name="text"/> with its top-left corner at (x, y) by calling
    /// <paramref name="set"/> for every ink pixel. A character without a glyph is drawn as a
    /// filled box, so a missing glyph is visible rather than silently dropped.
    /// </summary>
    public static void Draw(string text, int x, int y, int scale, Action<int, int> set)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        foreach (char ch in text)
        {
            var rows = Glyphs.TryGetValue(char.ToLowerInvariant(ch), out var g) ? g : [0b111, 0b111, 0b111, 0b111, 0b111];
            for (int r = 0; r < GlyphHeight; r++)
                for (int c = 0; c < GlyphWidth; c++)
                    if ((rows[r] >> (GlyphWidth - 1 - c) & 1) != 0)
                        for (int dy = 0; dy < scale; dy++)
                            for (int dx = 0; dx < scale; dx++)
                                set(x + c * scale + dx, y + r * scale + dy);
            x += (GlyphWidth + 1) * scale;
        }
    }
}
