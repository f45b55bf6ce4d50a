using BenchmarkDotNet.Running;
using RawDistill.Benchmarks;

// `gemm-ratio` is a quick side-by-side timing loop (seconds, not minutes); everything else goes
// to BenchmarkDotNet's switcher (e.g. `--filter *GemmBenchmarks*`, `--list flat`).
if (args.Length > 0 && args[0] == "gemm-ratio")
{
    return GemmRatio.Run(args[1..]);
}

// `conv-versions`: conv2d version 1 against version 2, alternating rep by rep.
if (args.Length > 0 && args[0] == "conv-versions")
{
    return ConvVersions.Run(args[1..]);
}

// `cholesky-versions`: the unblocked Cholesky and solves against the blocked ones (the crossover).
if (args.Length > 0 && args[0] == "cholesky-versions")
{
    return CholeskyVersions.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
