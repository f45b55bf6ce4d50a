namespace RawDistill.Methods.KrrSt;

/// <summary>What happens to a pool model's step counter when it is re-initialized.</summary>
public enum PoolResetMode
{
    /// <summary>
    /// The counter goes back to 0 (the evident intent of the method, and FRePo's pool): a
    /// re-initialized model trains again for up to T_max steps before its next reset.
    /// </summary>
    Reset,

    /// <summary>
    /// The public reference code's behaviour: the counter is never reset, so once a model
    /// reaches T_max it is re-initialized every time it is picked and the pool fills with
    /// untrained networks. Only for reproducing the reference.
    /// </summary>
    Legacy,
}
