namespace RawDistill.Cli;

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CommandLine;
using CommandLine.Text;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.IO;
using RawDistill.Methods.Eval;
using RawDistill.Methods.Ssl;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

[Verb("teacher", HelpText = "Train a Barlow Twins teacher (train), import one trained in PyTorch (import), linear-probe it against a random encoder (eval), or write its representations (embed).")]
public sealed class TeacherOptions
{
    [Value(0, MetaName = "action", Required = true, HelpText = "train | import | eval | embed.")]
    public string Action { get; set; } = "";

    [Option("data", Default = DataSpec.Default, HelpText = "Dataset spec: fashion-mnist-mini | fashion-mnist[:DIR] | idx:DIR | cifar10:DIR | cifar100:DIR | safetensors:TRAIN[,TEST].")]
    public string Data { get; set; } = DataSpec.Default;

    [Option("arch", HelpText = "train: encoder architecture, convnet | resnet10 | resnet18 | resnet34 | resnet50 (CIFAR stem; default convnet). import: the architecture the weights are checked against, resnet10 | resnet18 | resnet34 | resnet50 (default resnet18).")]
    public string? Arch { get; set; }

    [Option("widths", HelpText = "train: ConvNet block widths (default 32,64,128).")]
    public string? Widths { get; set; }

    [Option("epochs", HelpText = "train: epochs (default 10 for fashion-mnist-mini, else 100).")]
    public int? Epochs { get; set; }

    [Option("batch", Default = 256, HelpText = "train: images per step (two views each); eval/embed: images per forward batch.")]
    public int Batch { get; set; } = 256;

    [Option("out", HelpText = "train/import: teacher file to write (default teacher.safetensors); embed: representations file (required).")]
    public string? Out { get; set; }

    [Option("checkpoint", HelpText = "train: checkpoint file, rewritten after every epoch (default OUT.ckpt).")]
    public string? Checkpoint { get; set; }

    [Option("resume", HelpText = "train: continue from the checkpoint (same settings as the run that wrote it).")]
    public bool Resume { get; set; }

    [Option("seed", Default = 0UL, HelpText = "Seed: initialization, data order and augmentation (train); label subsets and the random encoder (eval).")]
    public ulong Seed { get; set; }

    [Option("projector", Default = "512,512,512", HelpText = "train: projector widths (hidden..., output); 2048,2048,2048 at CIFAR scale.")]
    public string Projector { get; set; } = "512,512,512";

    [Option("lambda-off", HelpText = "train: off-diagonal weight λ_off: a number (default 5e-3), or 'scaled' for 5e-3 · 8192 / (projector output width).")]
    public string? LambdaOff { get; set; }

    [Option("optimizer", Default = "lars", HelpText = "train: lars | sgd.")]
    public string Optimizer { get; set; } = "lars";

    [Option("lr", Default = 0.3, HelpText = "train: learning rate at batch 256 (scaled by batch/256).")]
    public double Lr { get; set; } = 0.3;

    [Option("weight-decay", Default = 1e-4, HelpText = "train: weight decay (biases and norm parameters excluded under LARS).")]
    public double WeightDecay { get; set; } = 1e-4;

    [Option("warmup-epochs", HelpText = "train: linear warm-up in epochs (default 10% of the run).")]
    public double? WarmupEpochs { get; set; }

    [Option("train-images", HelpText = "train: use a seeded random subset of this many training images (quick runs).")]
    public int? TrainImages { get; set; }

    [Option("weights", HelpText = "import: the PyTorch state dict as safetensors (convert a .pt/.ckpt with tools/torch_to_safetensors.py).")]
    public string? Weights { get; set; }

    [Option("normalization", HelpText = "import (required): the statistics the teacher was trained with: cifar10 | cifar100 | svhn | tinyimagenet (KRR-ST's values) | imagenet (torchvision's) | MEAN,MEAN,MEAN/STD,STD,STD | data (computed from --data's training split).")]
    public string? Normalization { get; set; }

    [Option("prefix", HelpText = "import: key prefix of the encoder in the state dict, e.g. backbone. or module. (default: found from the keys; \"\" for none).")]
    public string? Prefix { get; set; }

    [Option("stem", HelpText = "import: cifar (3×3 stride-1 conv1, no max-pool) | imagenet (7×7 stride-2 conv1 + max-pool) (default: from conv1's kernel size).")]
    public string? Stem { get; set; }

    [Option("stem-padding", HelpText = "import: conv1's padding, which the weights cannot tell (default 2 with the CIFAR stem as in KRR-ST's and solo-learn's teachers; 3 with the ImageNet stem).")]
    public int? StemPadding { get; set; }

    [Option("size", HelpText = "import: input height = width the teacher was trained at (default 32 with the CIFAR stem, 224 with the ImageNet stem); data is resized to it.")]
    public int? Size { get; set; }

    [Option("dataset-name", HelpText = "import: the dataset the teacher was trained on, recorded in the file (default: the normalization preset's name, or --data with --normalization data).")]
    public string? DatasetName { get; set; }

    [Option("teacher", HelpText = "eval/embed: the teacher file.")]
    public string? Teacher { get; set; }

    [Option("fractions", Default = "0.01,1", HelpText = "eval: label fractions of the training split for the probe (class-agnostic random subsets).")]
    public string Fractions { get; set; } = "0.01,1";

    [Option("l2", Default = 1e-3, HelpText = "eval: L2 penalty of the logistic-regression probe.")]
    public double L2 { get; set; } = 1e-3;

    [Option("split", Default = "train", HelpText = "embed: train | test.")]
    public string Split { get; set; } = "train";

    [Option("json", HelpText = "eval: also write the results to this JSON file.")]
    public string? Json { get; set; }

    [Option("device", Default = "auto", HelpText = "auto | cpu | cuda[:N].")]
    public string Device { get; set; } = "auto";

    [Option("quiet", HelpText = "Only epoch summaries, no per-step progress.")]
    public bool Quiet { get; set; }

    static readonly UnParserSettings SkipDefaults = new() { SkipDefault = true };

    public static IEnumerable<Example> Examples =>
    [
        new Example("Train the default teacher on the embedded Fashion-MNIST subset", SkipDefaults, new TeacherOptions { Action = "train", Out = "teacher.safetensors" }),
        new Example("ResNet-18 teacher on CIFAR-10, 200 epochs", SkipDefaults, new TeacherOptions { Action = "train", Data = "cifar10:/data/cifar-10-batches-bin", Arch = "resnet18", Epochs = 200, Projector = "2048,2048,2048", Out = "bt-r18.safetensors" }),
        new Example("Continue an interrupted run", SkipDefaults, new TeacherOptions { Action = "train", Out = "teacher.safetensors", Resume = true }),
        new Example("Import KRR-ST's CIFAR-100 Barlow Twins ResNet-18 (after: python3 tools/torch_to_safetensors.py barlow_twins_resnet18_cifar100.pt bt-r18.safetensors)", SkipDefaults,
            new TeacherOptions { Action = "import", Weights = "bt-r18.safetensors", Normalization = "cifar100", Out = "teacher-cifar100.safetensors" }),
        new Example("Import a torchvision/solo-learn ImageNet ResNet-50 (7×7 stem found from the weights)", SkipDefaults,
            new TeacherOptions { Action = "import", Weights = "r50.safetensors", Arch = "resnet50", Normalization = "imagenet", Size = 64, Out = "teacher-r50.safetensors" }),
        new Example("Linear probe at 1% and 100% of the labels vs a random encoder", SkipDefaults, new TeacherOptions { Action = "eval", Teacher = "teacher.safetensors" }),
        new Example("Representations of the training split", SkipDefaults, new TeacherOptions { Action = "embed", Teacher = "teacher.safetensors", Out = "features.safetensors" }),
    ];
}

/// <summary>`rawdistill teacher train|import|eval|embed`.</summary>
public static class TeacherCommand
{
    public static int Run(TeacherOptions o) => o.Action.ToLowerInvariant() switch
    {
        "train" => Train(o),
        "import" => Import(o),
        "eval" => Eval(o),
        "embed" => Embed(o),
        _ => throw new CliException($"teacher: unknown action '{o.Action}'; expected train, import, eval or embed"),
    };

    static DataSplits LoadData(string spec)
    {
        try
        {
            var splits = DataSpec.Parse(spec).Load();
            Console.Error.WriteLine($"data: {splits.Train}{(splits.Test != null ? $"; test {splits.Test.Count} images" : "")}");
            return splits;
        }
        catch (InvalidDataException e)
        {
            throw new CliException(e.Message);
        }
    }

    static int[] ParseWidths(string s, string flag = "--projector")
    {
        try
        {
            var w = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (w.Length == 0 || w.Any(v => v <= 0)) throw new FormatException();
            return w;
        }
        catch (FormatException)
        {
            throw new CliException($"{flag}: expected comma-separated positive widths such as 512,512,512, got '{s}'");
        }
    }

    // ---- train ---------------------------------------------------------------------------------

    static int Train(TeacherOptions o)
    {
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        string output = o.Out ?? "teacher.safetensors";
        string checkpoint = o.Checkpoint ?? output + ".ckpt";
        foreach (var f in new[] { output, checkpoint }) Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(f))!);
        var splits = LoadData(o.Data);
        var data = splits.Train;

        BarlowTwinsTrainer trainer;
        if (o.Resume)
        {
            if (!File.Exists(checkpoint))
                throw new CliException(File.Exists(output)
                    ? $"--resume: {output} is a finished teacher (its checkpoint {checkpoint} is removed once the teacher is written); nothing to continue"
                    : $"--resume: no checkpoint at {checkpoint} (give --checkpoint or the --out of the interrupted run)");
            try
            {
                trainer = BarlowTwinsTrainer.LoadCheckpoint(checkpoint, backend);
            }
            catch (InvalidDataException e)
            {
                throw new CliException(e.Message);
            }
            Console.Error.WriteLine($"resuming {checkpoint}: {trainer.CompletedEpochs}/{trainer.Options.Epochs} epochs done (settings are the checkpoint's)");
            data = PrepareTrainImages(data, trainer.EncoderConfig, trainer.Options.Seed, trainer.TrainImages == data.Count ? null : trainer.TrainImages);
        }
        else
        {
            if (o.Batch < 2) throw new CliException("--batch: expected at least 2");
            var options = new BarlowTwinsOptions
            {
                Epochs = DistillCommand.TeacherEpochs(o.Epochs, DataSpec.Parse(o.Data)),
                Batch = o.Batch,
                Projector = ParseWidths(o.Projector),
                LambdaOff = ParseLambdaOff(o.LambdaOff, ParseWidths(o.Projector)[^1]),
                Optimizer = o.Optimizer.ToLowerInvariant(),
                Lr = o.Lr,
                WeightDecay = o.WeightDecay,
                WarmupEpochs = o.WarmupEpochs,
                Seed = o.Seed,
            };
            EncoderConfig encoder;
            try
            {
                options.Validate();
                encoder = EncoderConfig.Default(o.Arch ?? "convnet", data.Channels, data.Height);
                if (o.Widths != null)
                {
                    if (encoder.Arch != "convnet") throw new CliException("--widths: only for --arch convnet");
                    encoder = encoder with { Widths = ParseWidths(o.Widths, "--widths") };
                }
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }
            if (data.Height != data.Width) throw new CliException($"images are {data.Height}×{data.Width}; the encoders take square images");
            data = PrepareTrainImages(data, encoder, o.Seed, o.TrainImages);
            if (data.Count < options.Batch) throw new CliException($"{data.Count} training images make no full batch of {options.Batch}; lower --batch");
            // Statistics of the images actually trained on (the whole training split unless --train-images).
            trainer = new BarlowTwinsTrainer(encoder, options, data.ComputeNormalization(), data.Count, DataSpec.Parse(o.Data).ToString(), backend);
        }

        using (trainer)
        {
            var opt = trainer.Options;
            Console.Error.WriteLine($"barlow twins: encoder {trainer.EncoderConfig.ToJson()} ({trainer.Encoder.ParameterCount:N0} parameters, {trainer.Encoder.FeatureDim}-d), " +
                $"projector {string.Join('-', opt.Projector)}, λ_off {trainer.LambdaOff:G4}, {opt.Optimizer} lr {opt.Lr * opt.Batch / 256:G4}, " +
                $"batch {opt.Batch}, {trainer.StepsPerEpoch} steps/epoch × {opt.Epochs} epochs, seed {opt.Seed}");
            Console.Error.WriteLine($"checkpoint after every epoch: {checkpoint} (removed once the teacher is written)");
            int left = opt.Epochs - trainer.CompletedEpochs;
            DistillCommand.Print(new WorkPlan().Add($"train the teacher {left} epochs on {WorkPlan.Count(data.Count)} {data.Height}×{data.Width} images",
                CostModel.TeacherSeconds(data.Count, left, data.Height, data.Width)), backend);
            var clock = Stopwatch.StartNew();
            using (var progress = new TeacherProgress(Console.Error.WriteLine))
                trainer.Train(data, checkpoint, progress.Report);
            var losses = trainer.EpochLosses;
            Console.Error.WriteLine($"epoch losses: {string.Join(", ", losses.Select(l => l.ToString("F2", CultureInfo.InvariantCulture)))}");
            trainer.SaveTeacher(output);
            // A finished teacher needs no checkpoint (a resume would have nothing to do), and it is as large as the model and optimizer state.
            File.Delete(checkpoint);
            Console.WriteLine($"wrote teacher {output} ({trainer.EncoderConfig.Arch}, {trainer.Encoder.FeatureDim}-d, {trainer.CompletedEpochs} epochs, final loss {losses[^1]:F3}) in {ProgressDisplay.Format(clock.Elapsed)}");
        }
        return 0;
    }

    static double? ParseLambdaOff(string? s, int projectorOutput)
    {
        if (s == null) return null;
        if (s.Trim().Equals("scaled", StringComparison.OrdinalIgnoreCase)) return BarlowTwinsOptions.ScaledLambdaOff(projectorOutput);
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0) return v;
        throw new CliException($"--lambda-off: expected a non-negative number or 'scaled', got '{s}'");
    }

    static ImageDataset PrepareTrainImages(ImageDataset data, EncoderConfig encoder, ulong seed, int? count)
    {
        data = data.WithChannels(encoder.Channels).Resize(encoder.Size, encoder.Size);
        if (count is { } n)
        {
            if (n < 2 || n > data.Count) throw new CliException($"--train-images: expected 2..{data.Count}, got {n}");
            data = data.Subset(Subsample.Random(data.Count, n, seed), $"{data.Name}[{n}]");
        }
        return data;
    }

    // ---- import --------------------------------------------------------------------------------

    static int Import(TeacherOptions o)
    {
        if (o.Weights == null) throw new CliException("--weights: required (the state dict as safetensors; convert a .pt/.ckpt with tools/torch_to_safetensors.py)");
        if (!File.Exists(o.Weights)) throw new CliException($"--weights: no file at {o.Weights}");
        if (o.Normalization == null)
            throw new CliException($"--normalization: required (the statistics the teacher was trained with: {TeacherNormalization.Presets} | MEAN,MEAN,MEAN/STD,STD,STD | data)");
        ResNetStem? stem = o.Stem?.Trim().ToLowerInvariant() switch
        {
            null => null,
            "cifar" => ResNetStem.Cifar,
            "imagenet" => ResNetStem.ImageNet,
            _ => throw new CliException($"--stem: expected cifar or imagenet, got '{o.Stem}'"),
        };
        if (o.StemPadding is < 0) throw new CliException($"--stem-padding: expected 0 or more, got {o.StemPadding}");
        if (o.Size is < 8) throw new CliException($"--size: expected at least 8 pixels, got {o.Size}");
        string output = o.Out ?? "teacher.safetensors";

        NormalizationStats norm;
        string normSource, dataset;
        if (o.Normalization.Trim().Equals("data", StringComparison.OrdinalIgnoreCase))
        {
            // The statistics of the training split, at the channel count the teacher takes.
            var train = LoadData(o.Data).Train;
            norm = train.ComputeNormalization();
            normSource = $"computed from {o.Data}";
            dataset = o.DatasetName ?? o.Data;
        }
        else
        {
            try
            {
                norm = TeacherNormalization.Parse(o.Normalization);
            }
            catch (ArgumentException e)
            {
                throw new CliException($"--normalization: {e.Message}");
            }
            bool preset = TeacherNormalization.IsPreset(o.Normalization);
            normSource = preset ? o.Normalization.Trim().ToLowerInvariant() : "explicit";
            dataset = o.DatasetName ?? (preset ? normSource : "unknown");
        }

        var options = new TeacherImportOptions
        {
            Arch = o.Arch ?? "resnet18",
            Prefix = o.Prefix,
            Stem = stem,
            StemPadding = o.StemPadding,
            Size = o.Size,
            Normalization = norm,
            NormalizationSource = normSource,
            Dataset = dataset,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        TeacherImportResult r;
        try
        {
            r = TeacherImport.Import(o.Weights, output, options);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(e.Message);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"teacher import: {e.Message}");
        }
        var p = r.Plan;
        var enc = p.Encoder;
        Console.Error.WriteLine($"{o.Weights}: encoder under prefix {(p.Prefix.Length > 0 ? $"'{p.Prefix}'" : "(none)")}, {r.Loaded} tensors loaded" +
            (p.Dropped.Count > 0 ? $"; dropped the head: {string.Join(", ", p.Dropped)}" : "") +
            (p.Renamed.Count > 0 ? $"; renamed {p.Renamed.Count} keys ({p.Renamed[0]}, …)" : "") +
            (r.MissingCounters.Count > 0 ? $"; {r.MissingCounters.Count} BatchNorm num_batches_tracked counters absent (unused in eval mode)" : ""));
        if (p.Ignored.Count > 0)
        {
            var groups = p.Ignored.GroupBy(k => k.Contains('.') ? k[..(k.IndexOf('.') + 1)] : k).Select(g => $"{g.Key}* ({g.Count()})");
            Console.Error.WriteLine($"ignored {p.Ignored.Count} keys outside the encoder: {string.Join(", ", groups)}");
        }
        if (p.OtherEncoders.Count > 0)
            Console.Error.WriteLine($"note: the file holds other ResNets under {string.Join(", ", p.OtherEncoders.Select(x => $"'{x}'"))}; --prefix picks one");
        Console.WriteLine($"wrote teacher {output}: {enc.Arch}, {(enc.Stem == "imagenet" ? "ImageNet stem (7×7 stride 2, max-pool)" : "CIFAR stem (3×3 stride 1, no max-pool)")}, " +
            $"conv1 padding {enc.StemPadding}, width {enc.Width}, {enc.Channels}×{enc.Size}×{enc.Size} input, {r.FeatureDim}-d features, {r.Parameters:N0} parameters; " +
            $"normalization {normSource} mean [{string.Join(", ", norm.Mean.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}] " +
            $"std [{string.Join(", ", norm.Std.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}]");
        return 0;
    }

    // ---- eval ----------------------------------------------------------------------------------

    static Teacher LoadTeacher(string? path, IBackend backend)
    {
        if (path == null) throw new CliException("--teacher: required (a file written by `rawdistill teacher train`)");
        if (!File.Exists(path)) throw new CliException($"--teacher: no file at {path}");
        try
        {
            return Teacher.Load(path, backend);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(e.Message);
        }
    }

    static double[] ParseFractions(string s)
    {
        try
        {
            var f = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (f.Length == 0 || f.Any(v => !(v > 0 && v <= 1))) throw new FormatException();
            return f;
        }
        catch (FormatException)
        {
            throw new CliException($"--fractions: expected comma-separated fractions in (0, 1] such as 0.01,0.1,1, got '{s}'");
        }
    }

    /// <summary>One row of the probe table.</summary>
    public sealed record ProbeRow(double Fraction, int Labels, double TeacherAccuracy, double RandomAccuracy);

    static int Eval(TeacherOptions o)
    {
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        var fractions = ParseFractions(o.Fractions);
        using var teacher = LoadTeacher(o.Teacher, backend);
        var splits = LoadData(o.Data);
        if (!splits.Train.HasLabels) throw new CliException($"{o.Data}: the training split has no labels; the probe needs them");
        if (splits.Test is not { HasLabels: true }) throw new CliException($"{o.Data}: no labelled test split to measure the probe on");
        var train = teacher.Fit(splits.Train);
        var test = teacher.Fit(splits.Test);
        var probe = new LinearProbeOptions(L2: o.L2);
        var clock = Stopwatch.StartNew();

        float[] trainT = teacher.Embed(train, o.Batch), testT = teacher.Embed(test, o.Batch);
        Console.Error.WriteLine($"teacher features: {train.Count} + {test.Count} × {teacher.FeatureDim} in {ProgressDisplay.Format(clock.Elapsed)}");
        float[] trainR, testR;
        using (var random = teacher.Config.Build(new Generator(o.Seed).Fork(0x52414E44)))
        {
            if (backend != Tensor.DefaultBackend) random.To(backend);
            trainR = FeatureExtractor.Extract(random, train, teacher.Normalization, o.Batch);
            testR = FeatureExtractor.Extract(random, test, teacher.Normalization, o.Batch);
        }
        int d = teacher.FeatureDim, k = train.ClassCount;
        var rows = new List<ProbeRow>();
        foreach (var f in fractions)
        {
            var idx = Subsample.Fraction(train.Count, f, o.Seed);
            var labels = train.LabelsAt(idx);
            var (accT, mT) = LinearProbe.FitAndScore(Rows(trainT, idx, d), labels, testT, test.Labels, k, probe, backend);
            var (accR, mR) = LinearProbe.FitAndScore(Rows(trainR, idx, d), labels, testR, test.Labels, k, probe, backend);
            Console.Error.WriteLine($"fraction {f:G4}: {idx.Length} labels, L-BFGS {mT.Iterations}/{mR.Iterations} iterations (teacher/random)");
            rows.Add(new ProbeRow(f, idx.Length, accT, accR));
        }
        Console.WriteLine($"linear probe (L2 {o.L2:G3}, L-BFGS) of {o.Teacher} on {o.Data}, test split {test.Count} images; random = same architecture, fresh init (seed {o.Seed})");
        Console.WriteLine($"{"fraction",9} {"labels",7} {"teacher",9} {"random",9}");
        foreach (var r in rows)
            Console.WriteLine($"{r.Fraction,9:P1} {r.Labels,7} {r.TeacherAccuracy,9:P2} {r.RandomAccuracy,9:P2}");
        Console.Error.WriteLine($"eval took {ProgressDisplay.Format(clock.Elapsed)}");
        if (o.Json != null)
        {
            var doc = new { teacher = o.Teacher, data = o.Data, l2 = o.L2, seed = o.Seed, feature_dim = d, test_images = test.Count, results = rows };
            AtomicFile.WriteAllText(o.Json, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        }
        return 0;
    }

    static float[] Rows(float[] x, int[] idx, int d)
    {
        var r = new float[(long)idx.Length * d];
        for (int i = 0; i < idx.Length; i++) x.AsSpan(idx[i] * d, d).CopyTo(r.AsSpan(i * d, d));
        return r;
    }

    // ---- embed ---------------------------------------------------------------------------------

    static int Embed(TeacherOptions o)
    {
        if (o.Out == null) throw new CliException("--out: required (the representations file to write)");
        var backend = DeviceOption.Resolve(o.Device, Console.Error);
        using var teacher = LoadTeacher(o.Teacher, backend);
        var splits = LoadData(o.Data);
        var data = o.Split.ToLowerInvariant() switch
        {
            "train" => splits.Train,
            "test" => splits.Test ?? throw new CliException($"{o.Data} has no test split"),
            _ => throw new CliException($"--split: expected train or test, got '{o.Split}'"),
        };
        var clock = Stopwatch.StartNew();
        var features = teacher.Embed(data, o.Batch);
        var entries = new List<SafetensorsEntry> { SafetensorsEntry.Create("features", [data.Count, teacher.FeatureDim], features) };
        if (data.HasLabels) entries.Add(SafetensorsEntry.Create("labels", [data.Count], data.Labels));
        var meta = new Dictionary<string, string>
        {
            ["teacher"] = Path.GetFullPath(o.Teacher!),
            ["data"] = o.Data,
            ["split"] = o.Split.ToLowerInvariant(),
            [EncoderConfig.MetadataKey] = teacher.Config.ToJson(),
            [NormalizationStats.MetadataKey] = teacher.Normalization.ToJson(),
        };
        Safetensors.Write(o.Out, entries, meta);
        Console.WriteLine($"wrote {o.Out}: features {data.Count} × {teacher.FeatureDim} (f32){(data.HasLabels ? ", labels" : "")} in {ProgressDisplay.Format(clock.Elapsed)}");
        return 0;
    }
}
