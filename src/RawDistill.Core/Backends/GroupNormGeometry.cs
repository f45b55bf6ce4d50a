namespace RawDistill.Backends;

/// <summary>
/// Group normalization of x [N, C, S...] (S = spatial elements per channel): statistics per
/// sample over each group of C/G consecutive channels, a per-channel affine after.
/// Instance norm is G = C; layer norm over channels and space is G = 1. Each (sample,
/// group) is one contiguous block of <see cref="GroupLength"/> elements.
/// </summary>
public readonly record struct GroupNormGeometry(int N, int C, long Spatial, int Groups, double Eps)
{
    /// <summary>Channels per group.</summary>
    public int ChannelsPerGroup => C / Groups;

    /// <summary>Elements normalized together: C/G · S.</summary>
    public long GroupLength => ChannelsPerGroup * Spatial;

    /// <summary>Number of (sample, group) blocks, and of mean/rstd entries: N · G.</summary>
    public int Blocks => N * Groups;

    /// <summary>Elements of x.</summary>
    public long Numel => (long)N * C * Spatial;

    /// <summary>Throws when the sizes do not describe a group norm.</summary>
    public void Validate()
    {
        if (N <= 0 || C <= 0 || Spatial <= 0 || Groups <= 0 || C % Groups != 0)
            throw new ArgumentException($"group_norm: N {N}, C {C}, spatial {Spatial}, {Groups} groups do not describe a group norm");
        if (!(Eps >= 0)) throw new ArgumentException($"group_norm: eps must be ≥ 0, got {Eps}");
    }
}
