namespace RawDistill.Methods.Ssl;

using System.Globalization;
using RawDistill.Backends;
using RawDistill.Data;
using RawDistill.Methods.Common;

/// <summary>
/// The cache of teachers `distill` (and `experts`) train when none is given: one file per
/// (dataset, encoder, epochs, seed) under the cache folder. Two processes never train the same
/// teacher (the second waits on the entry's lock and then reuses the file); an interrupted
/// training resumes from its per-epoch checkpoint beside the entry, and the checkpoint is
/// removed once the teacher is written.
/// </summary>
public static class TeacherCache
{
    /// <summary>$RAWDISTILL_CACHE, else ~/.cache/rawdistill.</summary>
    public static string DefaultFolder() =>
        Environment.GetEnvironmentVariable("RAWDISTILL_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "rawdistill");

    /// <summary>The entry of a ConvNet teacher of the dataset spec, epochs (null: the default) and seed.</summary>
    public static string EntryPath(string folder, DataSpec spec, int? epochs, ulong seed)
    {
        string key = new string(spec.ToString().Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray());
        return Path.Combine(folder, $"teacher-{key}-convnet-e{epochs?.ToString(CultureInfo.InvariantCulture) ?? "default"}-seed{seed}.safetensors");
    }

    /// <summary>
    /// Epochs <see cref="GetOrTrain"/> will train for the entry: none when the teacher is cached,
    /// the rest after an interrupted training's checkpoint (when it is of <paramref name="epochs"/>
    /// epochs), else all of them. For the plan printed before the work.
    /// </summary>
    public static int EpochsToTrain(string path, int epochs)
    {
        if (File.Exists(path)) return 0;
        try
        {
            if (File.Exists(path + ".ckpt"))
            {
                var meta = IO.Safetensors.Read(path + ".ckpt").Metadata;
                if (BarlowTwinsOptions.FromJson(meta["options"]).Epochs == epochs)
                    return Math.Max(0, epochs - (int)System.Text.Json.Nodes.JsonNode.Parse(meta[BarlowTwinsTrainer.CheckpointKey])!["completed_epochs"]!);
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
        {
            // An unreadable checkpoint is started over (GetOrTrain says so): all the epochs.
        }
        return epochs;
    }

    /// <summary>
    /// The teacher at <paramref name="path"/>: the cached file when it exists, else trained on
    /// <paramref name="train"/> (Barlow Twins with the default ConvNet encoder and
    /// <paramref name="options"/>), resuming from <c>path.ckpt</c> when an earlier run was
    /// interrupted. Holds <c>path.lock</c> while it checks and trains.
    /// </summary>
    /// <exception cref="InvalidDataException">The cached file cannot be read (the message says how to clear it).</exception>
    public static string GetOrTrain(string path, ImageDataset train, string dataset, BarlowTwinsOptions options, IBackend backend, Action<string> log,
        Action<TrainProgress>? progress = null)
    {
        using var entryLock = FileLock.Acquire(path + ".lock", log);
        string checkpoint = path + ".ckpt";
        if (File.Exists(path))
        {
            try
            {
                IO.Safetensors.Read(path);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                throw new InvalidDataException($"the cached teacher {path} is unreadable ({e.Message}); delete it (rm '{path}') and run again to retrain it");
            }
            log($"teacher: reusing the cached {path}");
            if (File.Exists(checkpoint)) File.Delete(checkpoint);
            return path;
        }
        var encoder = EncoderConfig.Default("convnet", train.Channels, train.Height);
        var data = train.WithChannels(encoder.Channels).Resize(encoder.Size, encoder.Size);
        BarlowTwinsTrainer? trainer = null;
        if (File.Exists(checkpoint))
        {
            try
            {
                trainer = BarlowTwinsTrainer.LoadCheckpoint(checkpoint, backend);
                if (trainer.TrainImages != data.Count || trainer.Options.Epochs != options.Epochs || trainer.Options.Seed != options.Seed)
                {
                    log($"teacher: the checkpoint {checkpoint} belongs to other settings ({trainer.TrainImages} images, {trainer.Options.Epochs} epochs, seed {trainer.Options.Seed}); starting over");
                    trainer.Dispose();
                    trainer = null;
                }
                else
                {
                    log($"teacher: resuming the interrupted training from {checkpoint} ({trainer.CompletedEpochs}/{trainer.Options.Epochs} epochs done)");
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException or FormatException or ArgumentException or KeyNotFoundException or System.Text.Json.JsonException)
            {
                log($"teacher: the checkpoint {checkpoint} cannot be read ({e.Message}); starting over");
                trainer = null;
            }
        }
        if (trainer == null)
        {
            log($"teacher: none cached; training Barlow Twins ({options.Epochs} epochs on {data.Count} images) → {path}");
            trainer = new BarlowTwinsTrainer(encoder, options, data.ComputeNormalization(), data.Count, dataset, backend);
        }
        using (trainer)
        {
            trainer.Train(data, checkpoint, progress);
            trainer.SaveTeacher(path);
        }
        File.Delete(checkpoint);
        return path;
    }
}
