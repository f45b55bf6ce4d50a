namespace RawDistill.Methods.Common;

/// <summary>
/// What the long phases cost, for the plan printed before them (<see cref="WorkPlan"/>): per-image
/// costs measured on the 2-core reference VM (AMD EPYC, CPU backend, quiet machine) with the
/// default ConvNet 32-64-128 at 28×28, scaled linearly by image area (the convolutions' share).
/// They are the reference machine's figures, not this one's: another CPU, other widths, a ResNet
/// or a GPU change them, and each phase's progress display then measures the real rate from its
/// second unit of work on. Sources, in benchmarks/results/:
/// <list type="bullet">
/// <item>teacher: 10 epochs × 10 000 images ≈ 6 min in the quiet main-job run
/// (krr-st-fashion-mnist-mini.md), 40 epochs in 25 min 55 s (room-fashion-mnist-mini.md), 100
/// epochs × 8 000 images in 36 min (issue 14): 2.7–3.9 ms per image-epoch (two views, forward
/// and backward, projector);</item>
/// <item>KRR-ST: 200 outer steps at 0.26 s/step (m 100, B 256, M 4) in the same quiet run;</item>
/// <item>evaluation: 3 seeds × (2 pre-trained sets + no pre-training) ≈ 2.5 min there, i.e.
/// about 1.5 ms per image-epoch of pre-training plus embedding the labelled and test images and
/// the probe fits;</item>
/// <item>MKDT: 3 experts × 2 epochs × 10 000 images in 229 s and iterations of 17–30 s at load
/// 10–60 (mkdt-fashion-mnist-mini.md): rough, loaded-machine figures scaled down.</item>
/// </list>
/// </summary>
public static class CostModel
{
    /// <summary>The machine the figures were measured on.</summary>
    public const string ReferenceMachine = "the 2-core reference VM";

    const double ReferenceArea = 28 * 28;
    const double TeacherImageEpoch = 3.3e-3;     // s; 2.7–3.9 ms measured
    const double KrrStStep = 0.26;               // s at m + B = 356 real and synthetic images
    const double TrainImagePass = 1.5e-3;        // s; one forward + backward of one image (evaluation, pool models, experts)
    const double EmbedImage = 0.5e-3;            // s; one forward of one image
    const double ProbeFit = 1.5;                 // s; one L-BFGS linear probe
    const double MkdtImageStep = 6e-3;           // s; one image through a synthetic step: forward, backward, and the backward of both

    static double Area(int height, int width) => height * width / ReferenceArea;

    /// <summary>Barlow Twins for <paramref name="epochs"/> on <paramref name="images"/> images of the given size.</summary>
    public static double TeacherSeconds(int images, int epochs, int height, int width) =>
        TeacherImageEpoch * images * epochs * Area(height, width);

    /// <summary>KRR-ST: the pool's staggered start (M models, on average T_max/2 steps on m images), then the outer steps.</summary>
    public static double KrrStSeconds(int steps, int m, int realBatch, int poolSize, int tMax, int height, int width) =>
        (poolSize * tMax / 2.0 * m * TrainImagePass + steps * KrrStStep * (m + realBatch) / 356.0) * Area(height, width);

    /// <summary>MKDT's expert trajectories: regression epochs over the training images.</summary>
    public static double ExpertSeconds(int experts, int epochs, int images, int height, int width) =>
        experts * epochs * images * TrainImagePass * Area(height, width);

    /// <summary>MKDT's matching iterations: N synthetic steps on a minibatch each, differentiated through.</summary>
    public static double MkdtSeconds(int iterations, int synSteps, int batch, int height, int width) =>
        iterations * synSteps * batch * MkdtImageStep * Area(height, width);

    /// <summary>
    /// The evaluation: per seed, each pre-trained set (<paramref name="m"/> images × epochs), the
    /// full-data row when asked, and the fixed rows (no pre-training, teacher); each embeds the
    /// labelled and test images and fits one probe per fraction. Fine-tuning and other
    /// architectures are not counted.
    /// </summary>
    public static double EvaluationSeconds(int seeds, int pretrainedSets, int fixedSets, int m, int epochs, bool fullData, int fullDataEpochs,
        int trainImages, int testImages, IReadOnlyList<double> fractions, int height, int width)
    {
        double labelled = Math.Min(trainImages, fractions.Sum(f => f * trainImages));
        double perCell = (labelled + testImages) * EmbedImage + fractions.Count * ProbeFit;
        double pretrain = pretrainedSets * m * epochs * TrainImagePass + (fullData ? trainImages * (double)fullDataEpochs * TrainImagePass : 0);
        int cells = pretrainedSets + fixedSets + (fullData ? 1 : 0);
        return seeds * (pretrain + cells * perCell) * Area(height, width);
    }
}
