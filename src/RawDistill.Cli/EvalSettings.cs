namespace RawDistill.Cli;

using RawDistill.Methods.Eval;
using RawDistill.Nn.Models;

/// <summary>
/// What `distill` and `eval` evaluate (design page evaluation.md): seeds, the pre-training
/// protocol, the baselines beside the distilled set, and the downstream protocols.
/// </summary>
/// <param name="Seeds">Seeds 0..Seeds−1.</param>
/// <param name="Protocol">krr-st | mkdt.</param>
/// <param name="Epochs">Pre-training epochs of the KRR-ST protocol.</param>
/// <param name="Fractions">Label fractions of the linear probe (text of the flag).</param>
/// <param name="Baselines">Comma-separated baselines of <see cref="DistilledSetEvaluation.KnownBaselines"/> (random = random-kd).</param>
/// <param name="FullDataEpochs">Pre-training epochs of the full-data baseline (it sees every image each epoch).</param>
/// <param name="FineTuneEpochs">Fine-tuning passes over the labelled subset; 0 = not by epochs.</param>
/// <param name="FineTuneFractions">Label fractions of the fine-tuning (text of the flag).</param>
/// <param name="Archs">Comma-separated architectures to pre-train and evaluate: convnet (the distillation ConvNet) and zoo names.</param>
/// <param name="Probe">ours | mkdt | both.</param>
/// <param name="FineTuneSteps">Fine-tuning SGD steps; 0 = not by steps.</param>
/// <param name="FineTuneReference">Fine-tune with the KRR-ST reference recipe (its step count) when neither steps nor epochs are given.</param>
internal sealed record EvalSettings(int Seeds, string Protocol, int Epochs, string Fractions, string Baselines, int FullDataEpochs,
    int FineTuneEpochs, string FineTuneFractions, string Archs = "convnet", string Probe = "ours", int FineTuneSteps = 0, bool FineTuneReference = false)
{
    /// <summary>The settings of the shared flags of `distill` and `eval`.</summary>
    public static EvalSettings Of(EvaluationFlags f, int seeds, string protocol, int epochs, string fractions, string baselines) =>
        new(seeds, protocol, epochs, fractions, baselines, f.FullDataEpochs, f.FineTuneEpochs, f.FineTuneFractions, f.Archs, f.Probe, f.FineTuneSteps, f.FineTune);

    /// <summary>The linear probes to run, by protocol name.</summary>
    public IReadOnlyList<(string Protocol, LinearProbeOptions Options)> Probes() => Probe.ToLowerInvariant() switch
    {
        "ours" => [(PretrainEvaluation.LinearProbeProtocol, new LinearProbeOptions())],
        "mkdt" => [(PretrainEvaluation.MkdtProbeProtocol, LinearProbeOptions.Mkdt())],
        "both" => [(PretrainEvaluation.LinearProbeProtocol, new LinearProbeOptions()), (PretrainEvaluation.MkdtProbeProtocol, LinearProbeOptions.Mkdt())],
        _ => throw new CliException($"--probe {Probe}: expected ours, mkdt or both"),
    };

    /// <summary>Help text of the --archs flag.</summary>
    public const string ArchsHelp = "Architectures to pre-train and evaluate (each gets its own d-dim MSE head): convnet (the distillation ConvNet) | resnet10 | resnet18 | vgg11bn | alexnetbn | mobilenetv2, comma-separated.";

    /// <summary>Help text of the --baselines flag.</summary>
    public const string BaselinesHelp = "Rows beside the distilled set, at the same budget m: random-kd (random real subset with teacher targets, MSE: the bar a distilled set must clear; 'random' is accepted for it) | random-ce (random real subset with class labels and cross-entropy, the KRR-ST paper's 'Random': a weaker bar) | init (the images the set started from — MKDT's high-loss subset, KRR-ST's random draw — with teacher targets: the paired control; 'highloss' is accepted for it) | kmeans (nearest real image to each of m centroids in teacher feature space) | full (all real images, teacher targets) | none (random init: the floor) | teacher (the teacher's own encoder: the ceiling), comma-separated.";

    /// <summary>The architecture names, validated.</summary>
    IReadOnlyList<string> ArchNames()
    {
        var names = Archs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (names.Count == 0) throw new CliException("--archs: expected at least one architecture");
        var unknown = names.FirstOrDefault(n => !EvalArchitecture.IsKnown(n));
        if (unknown != null) throw new CliException($"--archs: unknown architecture '{unknown}'; expected convnet or one of {string.Join(", ", EvalArchitecture.Zoo)}");
        return names;
    }

    /// <summary>The architectures for sets of the distillation ConvNet's input.</summary>
    public IReadOnlyList<EvalArchitecture> Architectures(ConvNetConfig distillNet) => ArchNames().Select(n => EvalArchitecture.Of(n, distillNet)).ToList();

    /// <summary>The pre-training options of the protocol.</summary>
    public PretrainOptions Pretrain() => Protocol.ToLowerInvariant() switch
    {
        "krr-st" => PretrainOptions.KrrSt(Epochs),
        "mkdt" => PretrainOptions.Mkdt(),
        _ => throw new CliException($"--eval-protocol {Protocol}: expected krr-st or mkdt"),
    };

    /// <summary>The requested baselines, validated, in report order.</summary>
    public IReadOnlyList<string> BaselineList()
    {
        var known = DistilledSetEvaluation.KnownBaselines;
        var asked = Baselines.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DistilledSetEvaluation.Canonical).ToList();
        var unknown = asked.Where(b => !known.Contains(b)).ToList();
        if (unknown.Count > 0) throw new CliException($"--baselines: unknown '{string.Join(",", unknown)}'; expected a comma-separated list of {string.Join(", ", known)}");
        return known.Where(asked.Contains).ToList();
    }

    /// <summary>
    /// Fine-tuning options, or null when it is off: --finetune-steps N steps, --finetune-epochs N
    /// passes, else with --finetune the reference's step count (the rows say which:
    /// <see cref="FineTuneOptions.ProtocolName"/>).
    /// </summary>
    public FineTuneOptions? FineTune()
    {
        if (FineTuneEpochs < 0) throw new CliException("--finetune-epochs: expected 0 (off) or a positive count");
        if (FineTuneSteps < 0) throw new CliException("--finetune-steps: expected 0 (off) or a positive count");
        if (FineTuneEpochs > 0 && FineTuneSteps > 0) throw new CliException("--finetune-epochs and --finetune-steps: give one of them");
        if (FineTuneSteps > 0) return FineTuneOptions.Reference(FineTuneSteps);
        if (FineTuneEpochs > 0) return new FineTuneOptions(FineTuneEpochs);
        return FineTuneReference ? FineTuneOptions.Reference() : null;
    }

    /// <summary>Throws a <see cref="CliException"/> naming the first invalid flag.</summary>
    public void Validate()
    {
        if (Seeds < 0) throw new CliException("--eval-seeds: expected 0 or more");
        if (Epochs < 1) throw new CliException("--eval-epochs: expected a positive count");
        if (FullDataEpochs < 1) throw new CliException("--full-data-epochs: expected a positive count");
        Pretrain();
        BaselineList();
        Probes();
        FineTune();
        DistillCommand.ParseFractions(Fractions, "--fractions");
        DistillCommand.ParseFractions(FineTuneFractions, "--finetune-fractions");
        ArchNames();
    }

    /// <summary>The validated plan for sets of the distillation ConvNet's input.</summary>
    public EvaluationPlan Plan(ConvNetConfig distillNet)
    {
        Validate();
        return new EvaluationPlan(Seeds, Pretrain(), BaselineList(), FullDataEpochs, DistillCommand.ParseFractions(Fractions), FineTune(),
            DistillCommand.ParseFractions(FineTuneFractions, "--finetune-fractions"), Architectures(distillNet), Probes(),
            MkdtProtocol: Protocol.Equals("mkdt", StringComparison.OrdinalIgnoreCase));
    }
}
