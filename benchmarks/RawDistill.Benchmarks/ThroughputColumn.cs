using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RawDistill.Benchmarks;

/// <summary>
/// A throughput column: work per invocation (flops, images, bytes, …, from the case's
/// parameters and method) divided by the mean time, scaled to the column's unit.
/// </summary>
/// <param name="columnName">Header, e.g. "GFLOP/s".</param>
/// <param name="legend">What the work is.</param>
/// <param name="workPerInvocation">Units of work one call of the case does (null: not applicable, prints "-").</param>
/// <param name="scale">Divisor applied to work per second (1e9 for GFLOP/s, 1 for img/s).</param>
public sealed class ThroughputColumn(string columnName, string legend, Func<BenchmarkCase, double?> workPerInvocation, double scale) : IColumn
{
    public string Id => nameof(ThroughputColumn) + "." + columnName;

    public string ColumnName => columnName;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        var work = workPerInvocation(benchmarkCase);
        if (stats is null || work is null)
        {
            return "-";
        }

        // Mean is in nanoseconds.
        double perSecond = work.Value / (stats.Mean * 1e-9);
        return (perSecond / scale).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <summary>The string value of parameter <paramref name="name"/> of a case.</summary>
    public static string Param(BenchmarkCase c, string name) => c.Parameters[name]?.ToString() ?? throw new ArgumentException($"no parameter {name}");
}
