namespace RawDistill.Cli;

using CommandLine;

/// <summary>
/// The evaluation flags `distill` and `eval` share (each verb declares its own seeds,
/// epochs, fractions and baselines, whose defaults differ). CommandLineParser reads the
/// inherited options.
/// </summary>
public abstract class EvaluationFlags
{
    [Option("full-data-epochs", Default = 5, HelpText = "Pre-training epochs of the full-data baseline.")]
    public int FullDataEpochs { get; set; } = 5;

    [Option("finetune", HelpText = "Also fine-tune every pre-trained encoder with the KRR-ST reference recipe: new head, 10000 SGD steps of batch 128, lr 0.01 (cosine), momentum 0.9, wd 5e-4, crop+flip.")]
    public bool FineTune { get; set; }

    [Option("finetune-steps", Default = 0, HelpText = "Fine-tune for this many SGD steps instead of the reference's 10000 (the row is labelled \"short (N steps; reference 10000)\" below it); implies --finetune.")]
    public int FineTuneSteps { get; set; }

    [Option("finetune-epochs", Default = 0, HelpText = "Fine-tune for this many passes over the labelled subset instead (the row is labelled by the steps that makes, short below the reference's 10000); implies --finetune.")]
    public int FineTuneEpochs { get; set; }

    [Option("finetune-fractions", Default = "0.01", HelpText = "Label fractions of the fine-tuning.")]
    public string FineTuneFractions { get; set; } = "0.01";

    [Option("probe", Default = "ours", HelpText = "Linear probe: ours (standardized features, L-BFGS to convergence) | mkdt (the MKDT reference: raw features, L-BFGS 20 steps, history 100, no line search, + 1e-3‖W‖²) | both.")]
    public string Probe { get; set; } = "ours";

    [Option("archs", Default = "convnet", HelpText = EvalSettings.ArchsHelp)]
    public string Archs { get; set; } = "convnet";
}
