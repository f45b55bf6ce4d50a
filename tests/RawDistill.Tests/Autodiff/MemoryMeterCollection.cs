namespace RawDistill.Tests.Autodiff;

/// <summary>
/// Tests that read a backend's <see cref="RawDistill.Backends.MemoryMeter"/>: the meter is
/// process-wide, so they run alone, after the parallel tests, where no other test allocates.
/// </summary>
[CollectionDefinition("memory meter", DisableParallelization = true)]
public sealed class MemoryMeterCollection;
