namespace RawDistill.Tests.IO;

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using RawDistill.IO;
using RawDistill.Tensors;

[Trait("Category", "IO")]
public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rawdistill-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ---------------------------------------------------------------- round trips

    [Fact]
    public void RoundTripsAllDTypesMetadataScalarAndEmptyTensor()
    {
        var entries = new[]
        {
            SafetensorsEntry.Create("f32", [2, 3], [1.5f, -2f, 0f, float.MaxValue, float.Epsilon, -0f]),
            SafetensorsEntry.Create("f64", [3], [Math.PI, -1e-300, double.MinValue]),
            SafetensorsEntry.Create("u8", [2, 2], [(byte)0, (byte)1, (byte)128, (byte)255]),
            SafetensorsEntry.Create("i32", [2, 1, 2], [int.MinValue, -1, 0, int.MaxValue]),
            SafetensorsEntry.Create("scalar", [], [42.25]),
            SafetensorsEntry.Create("empty", [0, 3], ReadOnlySpan<float>.Empty),
        };
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["config"] = "{\"lr\":0.1,\"tags\":[\"a<b\",\"é\"]}",
            ["unicode"] = "héllo ✓ 日本",
        };
        string path = Path.Combine(_dir, "all.safetensors");

        Safetensors.Write(path, entries, metadata);
        var file = Safetensors.Read(path);

        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(entries.Length, file.Entries.Count);
        foreach (var expected in entries)
        {
            var actual = file[expected.Name];
            Assert.Equal(expected.DType, actual.DType);
            Assert.Equal(expected.Shape, actual.Shape);
            Assert.Equal(expected.Data, actual.Data);
        }

        Assert.Equal([1.5f, -2f, 0f, float.MaxValue, float.Epsilon, -0f], file.GetF32("f32"));
        Assert.Equal([Math.PI, -1e-300, double.MinValue], file.GetF64("f64"));
        Assert.Equal([0, 1, 128, 255], file.GetU8("u8"));
        Assert.Equal([int.MinValue, -1, 0, int.MaxValue], file.GetI32("i32"));
        Assert.Equal([42.25], file.GetF64("scalar"));
        Assert.Empty(file.GetF32("empty"));
        Assert.Equal(1, file["scalar"].ElementCount);
        Assert.Equal(0, file["empty"].ElementCount);
    }

    [Fact]
    public void LayoutFollowsTheReferenceWriter()
    {
        string path = Path.Combine(_dir, "layout.safetensors");
        Safetensors.Write(path,
        [
            SafetensorsEntry.Create("b_u8", [3], [(byte)1, (byte)2, (byte)3]),
            SafetensorsEntry.Create("a_f32", [1], [1f]),
            SafetensorsEntry.Create("z_f64", [1], [1.0]),
            SafetensorsEntry.Create("a_f64", [1], [2.0]),
            SafetensorsEntry.Create("i", [1], [7]),
        ]);

        byte[] bytes = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"", header);
        Assert.Equal(header.TrimEnd(' ').Length + ((8 - header.TrimEnd(' ').Length % 8) % 8), header.Length);
        Assert.Equal(8 + n + 8 + 8 + 4 + 4 + 3, bytes.Length);

        // Descending element size (F64, F32, I32, U8), then by name.
        var file = Safetensors.Read(path);
        Assert.Equal(["a_f64", "z_f64", "a_f32", "i", "b_u8"], file.Names);
    }

    [Fact]
    public void RewritingThePythonFixtureReproducesItsBytes()
    {
        // tests/pytorch/safetensors_io.py mirrors the reference writer; the C# writer must emit
        // the very same bytes (order, compact JSON, padding), so both agree with the reference.
        string fixture = FixturePath("python_written.safetensors");
        var file = Safetensors.Read(fixture);
        string path = Path.Combine(_dir, "rewritten.safetensors");

        Safetensors.Write(path, file.Entries.Reverse(), file.Metadata);

        Assert.Equal(File.ReadAllBytes(fixture), File.ReadAllBytes(path));
    }

    [Fact]
    public void WritesAFileWithoutTensorsOrMetadata()
    {
        string path = Path.Combine(_dir, "nothing.safetensors");
        Safetensors.Write(path, []);

        Assert.Equal("{}      ", Encoding.UTF8.GetString(File.ReadAllBytes(path), 8, 8));
        var file = Safetensors.Read(path);
        Assert.Empty(file.Entries);
        Assert.Empty(file.Metadata);
    }

    // ---------------------------------------------------------------- atomic write

    [Fact]
    public void FailingMidWriteLeavesTheOldFileIntactAndNoTempFile()
    {
        string path = Path.Combine(_dir, "ckpt.safetensors");
        Safetensors.Write(path, [SafetensorsEntry.Create("old", [2], [1.0, 2.0])]);
        byte[] before = File.ReadAllBytes(path);

        var big = SafetensorsEntry.Create("new", [4096], new double[4096]);
        var ex = Assert.Throws<IOException>(() =>
            Safetensors.Write(path, [big], null, s => new FailAfterStream(s, failAfterBytes: 1000)));

        Assert.Equal("disk full (simulated)", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void ExceptionWhileEnumeratingEntriesLeavesTheOldFileIntact()
    {
        string path = Path.Combine(_dir, "ckpt.safetensors");
        Safetensors.Write(path, [SafetensorsEntry.Create("old", [1], [3f])]);
        byte[] before = File.ReadAllBytes(path);

        static IEnumerable<SafetensorsEntry> Failing()
        {
            yield return SafetensorsEntry.Create("a", [1], [1f]);
            throw new InvalidOperationException("tensor could not be copied from the device");
        }

        Assert.Throws<InvalidOperationException>(() => Safetensors.Write(path, Failing()));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void WriteReplacesAnExistingFile()
    {
        string path = Path.Combine(_dir, "ckpt.safetensors");
        Safetensors.Write(path, [SafetensorsEntry.Create("old", [1], [3f])]);
        Safetensors.Write(path, [SafetensorsEntry.Create("new", [1], [4f])]);

        var file = Safetensors.Read(path);
        Assert.Equal(["new"], file.Names);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Theory]
    [InlineData("bytes", "needs 8 bytes but has 4")]
    [InlineData("negative", "negative dimension")]
    [InlineData("reserved", "reserved")]
    [InlineData("duplicate", "appears twice")]
    public void InconsistentEntriesAreRejectedBeforeTouchingTheFile(string problem, string expectedMessage)
    {
        string path = Path.Combine(_dir, "ckpt.safetensors");
        SafetensorsEntry[] entries = problem switch
        {
            "bytes" => [new SafetensorsEntry("w", DType.F32, [2], new byte[4])],
            "negative" => [new SafetensorsEntry("w", DType.F32, [-1], [])],
            "reserved" => [SafetensorsEntry.Create("__metadata__", [1], [1f])],
            _ => [SafetensorsEntry.Create("w", [1], [1f]), SafetensorsEntry.Create("w", [1], [2f])],
        };

        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Write(path, entries));
        Assert.Contains(expectedMessage, ex.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    // ---------------------------------------------------------------- accessors

    [Fact]
    public void MissingNameErrorNamesTheFileAndListsAvailableNames()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        Safetensors.Write(path, [SafetensorsEntry.Create("conv1.w", [1], [1f]), SafetensorsEntry.Create("conv1.b", [1], [1f])]);
        var file = Safetensors.Read(path);

        Assert.True(file.Contains("conv1.w"));
        Assert.False(file.Contains("conv2.w"));
        Assert.False(file.TryGet("conv2.w", out _));
        var ex = Assert.Throws<KeyNotFoundException>(() => file["conv2.w"]);
        Assert.Contains(path, ex.Message);
        Assert.Contains("'conv2.w'", ex.Message);
        Assert.Contains("conv1.w", ex.Message);
        Assert.Contains("conv1.b", ex.Message);
    }

    [Fact]
    public void TypedAccessorChecksTheDType()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        Safetensors.Write(path, [SafetensorsEntry.Create("w", [2], [1.0, 2.0])]);
        var file = Safetensors.Read(path);

        var ex = Assert.Throws<InvalidDataException>(() => file.GetF32("w"));
        Assert.Contains(path, ex.Message);
        Assert.Contains("is F64 [2], not F32", ex.Message);
    }

    // ---------------------------------------------------------------- malformed files
    // Each test crafts the bytes by hand; every message must name the file and the problem.

    private const string Ok = """{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""";

    [Fact]
    public void RejectsFileShorterThan8Bytes()
        => AssertMalformed([1, 0, 0], "shorter than the 8-byte header length prefix");

    [Fact]
    public void RejectsHeaderLengthZero()
        => AssertMalformed(WithLength(0, "{}"u8.ToArray()), "header length is 0");

    [Fact]
    public void RejectsHeaderLengthLargerThanTheFile()
        => AssertMalformed(WithLength(64, "{}      "u8.ToArray()), "header length 64 bytes is larger than the file");

    [Fact]
    public void RejectsHeaderLengthAbove100MB()
        => AssertMalformed(WithLength(100_000_001, "{}      "u8.ToArray()), "above the 100 MB limit");

    [Fact]
    public void RejectsHeaderThatIsNotUtf8()
    {
        byte[] header = [.. "{\"a"u8, 0xFF, 0xFE, .. "\":{}}"u8];
        AssertMalformed(WithLength((ulong)header.Length, header), "not valid UTF-8");
    }

    [Fact]
    public void RejectsHeaderThatIsNotJson()
        => AssertMalformed(Crafted("{\"a\":{\"dtype\":", 0), "not valid JSON");

    [Fact]
    public void RejectsHeaderThatIsNotAJsonObject()
        => AssertMalformed(Crafted("[1, 2]", 0), "not a JSON object");

    [Fact]
    public void RejectsMetadataThatIsNotAnObject()
        => AssertMalformed(Crafted("""{"__metadata__":["a","b"]}""", 0), "'__metadata__' is a JSON array, but it must be an object mapping strings to strings");

    [Fact]
    public void RejectsMetadataWithNonStringValue()
        => AssertMalformed(Crafted("""{"__metadata__":{"epoch":3}}""", 0), "key 'epoch' holds a JSON number");

    [Theory]
    [InlineData("dtype", """{"shape":[2],"data_offsets":[0,8]}""")]
    [InlineData("shape", """{"dtype":"F32","data_offsets":[0,8]}""")]
    [InlineData("data_offsets", """{"dtype":"F32","shape":[2]}""")]
    public void RejectsEntryMissingAField(string field, string entry)
        => AssertMalformed(Crafted($$"""{"w":{{entry}}}""", 8), $"tensor 'w' is missing the \"{field}\" field");

    [Theory]
    [InlineData("""[1,2]""", "tensor 'w' is a JSON array, expected an object")]
    [InlineData("""{"dtype":32,"shape":[2],"data_offsets":[0,8]}""", "\"dtype\" is a JSON number, expected a string")]
    [InlineData("""{"dtype":"F32","shape":"2","data_offsets":[0,8]}""", "\"shape\" is a JSON string, expected an array")]
    [InlineData("""{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}""", "shape[0] is 2.5, expected a non-negative integer")]
    [InlineData("""{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}""", "shape[0] is \"2\", expected a non-negative integer")]
    [InlineData("""{"dtype":"F32","shape":[2],"data_offsets":"0-8"}""", "\"data_offsets\" must be an array [begin, end]")]
    [InlineData("""{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}""", "data_offsets end is \"8\", expected a non-negative integer")]
    public void RejectsEntryWithWrongJsonTypes(string entry, string expectedMessage)
        => AssertMalformed(Crafted($$"""{"w":{{entry}}}""", 8), expectedMessage);

    [Fact]
    public void RejectsUnsupportedDTypeNamingIt()
    {
        var ex = AssertMalformed(Crafted("""{"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}""", 8), "dtype BF16");
        Assert.Contains("not supported", ex.Message);
        Assert.Contains("F32, F64, U8, I32", ex.Message);
    }

    [Fact]
    public void RejectsUnknownDTypeNamingIt()
    {
        var ex = AssertMalformed(Crafted("""{"w":{"dtype":"float32","shape":[2],"data_offsets":[0,8]}}""", 8), "unknown dtype \"float32\"");
        Assert.Contains("F32, F64, U8, I32", ex.Message);
    }

    [Fact]
    public void RejectsNegativeShape()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8), "shape[0] is negative (-2)");

    [Fact]
    public void RejectsShapeDimensionTooLarge()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F32","shape":[4294967296],"data_offsets":[0,8]}}""", 8), "shape[0] = 4294967296 is too large");

    [Fact]
    public void RejectsShapeWhoseElementCountOverflows()
        => AssertMalformed(
            Crafted("""{"w":{"dtype":"F64","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""", 8),
            "is too large (element count overflows)");

    [Fact]
    public void RejectsDataOffsetsThatAreNotAPair()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,16]}}""", 8), "\"data_offsets\" must be an array [begin, end] of two integers, got [0,8,16]");

    [Fact]
    public void RejectsNegativeDataOffset()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8), "data_offsets begin is -8");

    [Fact]
    public void RejectsDataOffsetsWithBeginAfterEnd()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8), "data_offsets [8, 0] has begin > end");

    [Fact]
    public void RejectsDataOffsetsEndingBeyondTheDataSection()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 6), "end 8 lies beyond the end of the data section (6 bytes)");

    [Fact]
    public void RejectsByteLengthThatDoesNotMatchShapeAndDType()
        => AssertMalformed(Crafted("""{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}""", 8), "needs 2 x 8 = 16 bytes, but data_offsets [0, 8] span 8 bytes");

    [Fact]
    public void RejectsOverlappingEntries()
        => AssertMalformed(
            Crafted("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12),
            "tensor 'b' (bytes [4, 12)) overlaps tensor 'a' (bytes [0, 8))");

    [Fact]
    public void RejectsGapBetweenEntries()
        => AssertMalformed(
            Crafted("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12),
            "gap in the data section: bytes [4, 8) before tensor 'b' belong to no tensor");

    [Fact]
    public void RejectsGapAtTheStartOfTheDataSection()
        => AssertMalformed(Crafted("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "bytes [0, 4) before tensor 'a' belong to no tensor");

    [Fact]
    public void RejectsTrailingBytesNotCoveredByAnyEntry()
        => AssertMalformed(Crafted("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12), "the last 8 bytes belong to no tensor");

    [Fact]
    public void RejectsDuplicateNames()
        => AssertMalformed(Crafted($$"""{"w":{{Ok}},"w":{{Ok}}}""", 8), "duplicate tensor name 'w'");

    [Fact]
    public void AcceptsAHandCraftedValidFile()
    {
        // Guards the helpers above: the same construction with a valid header loads.
        string path = Path.Combine(_dir, "ok.safetensors");
        byte[] bytes = Crafted($$"""{"__metadata__":{"k":"v"},"w":{{Ok}}}""", 8);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(bytes.Length - 8), 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(bytes.Length - 4), -2f);
        File.WriteAllBytes(path, bytes);

        var file = Safetensors.Read(path);
        Assert.Equal("v", file.Metadata["k"]);
        Assert.Equal([1.5f, -2f], file.GetF32("w"));
    }

    // ---------------------------------------------------------------- PyTorch-written fixtures

    private static readonly string[] ExpectedFixtures =
        ["batchnorm", "conv2d", "groupnorm", "linalg", "losses", "pool", "python_written"];

    [Fact]
    public void LoadsTheFileWrittenByPythonWithKnownValues()
    {
        var file = Safetensors.Read(FixturePath("python_written.safetensors"));

        Assert.Equal("written by tests/pytorch/safetensors_io.py — héllo ✓", file.Metadata["note"]);
        Assert.Equal("""{"a": 1, "b": [1, 2]}""", file.Metadata["json"]);
        Assert.Equal([2, 3], file["f32_arange"].Shape);
        Assert.Equal([-1f, -0.5f, 0f, 0.5f, 1f, 1.5f], file.GetF32("f32_arange"));
        Assert.Equal([3, 2], file["f64_arange"].Shape);
        Assert.Equal([0, 0.125, 0.25, 0.375, 0.5, 0.625], file.GetF64("f64_arange"));
        Assert.Equal([2, 2, 3], file["u8_ramp"].Shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (byte)(i * 21)), file.GetU8("u8_ramp"));
        Assert.Equal([int.MinValue, -1, 0, 1, int.MaxValue], file.GetI32("i32_values"));
        Assert.Empty(file["f32_scalar"].Shape);
        Assert.Equal([3.5f], file.GetF32("f32_scalar"));
        Assert.Equal([0, 3], file["f32_empty"].Shape);
        Assert.Empty(file["f32_empty"].Data);
    }

    [Fact]
    public void EveryFixtureFileLoadsAndFollowsTheNamingConvention()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        var files = Directory.GetFiles(dir, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        // At least the committed ones (catches a broken copy-to-output); later fixture files
        // are welcome and are checked by the same loop.
        Assert.Subset(files.Select(f => Path.GetFileNameWithoutExtension(f)).ToHashSet(), ExpectedFixtures.ToHashSet());

        foreach (string path in files)
        {
            var file = Safetensors.Read(path);
            Assert.NotEmpty(file.Entries);
            foreach (var e in file.Entries)
            {
                Assert.True(e.Data.LongLength == e.ElementCount * e.DType.SizeOf(), $"{path}: {e.Name} byte length");
            }

            // Op families: every key is <case>.<name>, every case has a JSON hyperparameter
            // object in the metadata and the y / grad_out pair of the same shape.
            string[] cases = JsonSerializer.Deserialize<string[]>(file.Metadata["cases"]) ?? [];
            if (Path.GetFileName(path) == "python_written.safetensors")
            {
                Assert.Empty(cases);
                continue;
            }

            Assert.NotEmpty(cases);
            foreach (var e in file.Entries)
            {
                Assert.Contains(e.Name[..e.Name.IndexOf('.')], cases);
            }

            foreach (string c in cases)
            {
                using var hyper = JsonDocument.Parse(file.Metadata[c]);
                Assert.Equal(JsonValueKind.Object, hyper.RootElement.ValueKind);
                var y = file[$"{c}.y"];
                Assert.Equal(y.Shape, file[$"{c}.grad_out"].Shape);
                var expectedDType = hyper.RootElement.GetProperty("dtype").GetString() == "F32" ? DType.F32 : DType.F64;
                Assert.Equal(expectedDType, y.DType);
                Assert.Contains(file.Names, n => n.StartsWith($"{c}.grad_", StringComparison.Ordinal) && n != $"{c}.grad_out");
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>A file with the given header (padded like the reference) and zeroed data.</summary>
    private static byte[] Crafted(string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        byte[] bytes = new byte[8 + padded + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        return bytes;
    }

    /// <summary>A file whose length prefix says <paramref name="length"/>, followed by <paramref name="rest"/>.</summary>
    private static byte[] WithLength(ulong length, byte[] rest)
    {
        byte[] bytes = new byte[8 + rest.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        rest.CopyTo(bytes, 8);
        return bytes;
    }

    private InvalidDataException AssertMalformed(byte[] bytes, string expectedProblem)
    {
        string path = Path.Combine(_dir, "bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(expectedProblem, ex.Message);
        return ex;
    }

    // ---------------------------------------------------------------- header only, one tensor

    [Fact]
    public void ReadHeaderListsTensorsWithoutDataAndReadTensorLoadsOneStraight()
    {
        var a = new float[] { 1, 2, 3, 4, 5, 6 };
        var b = new double[] { -1, 0.5 };
        string path = Path.Combine(_dir, "two.safetensors");
        Safetensors.Write(path, [SafetensorsEntry.Create("a", [2, 3], a), SafetensorsEntry.Create("b", [2], b)], new Dictionary<string, string> { ["k"] = "v" });

        var header = Safetensors.ReadHeader(path);
        Assert.Equal("v", header.Metadata["k"]);
        Assert.Equal(["a", "b"], header.Tensors.Select(t => t.Name).Order()); // in data-section order, which the writer chooses
        var ta = header.Find("a")!;
        Assert.Equal(DType.F32, ta.DType);
        Assert.Equal([2, 3], ta.Shape);
        Assert.Null(header.Find("c"));
        // FileOffset points at the tensor's bytes: reading there gives its elements.
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(4f, BitConverter.ToSingle(bytes, (int)ta.FileOffset + 3 * sizeof(float)));
        Assert.Equal(0.5, BitConverter.ToDouble(bytes, (int)header.Find("b")!.FileOffset + sizeof(double)));

        Assert.Equal(a, Safetensors.ReadTensor<float>(path, "a"));
        Assert.Equal(b, Safetensors.ReadTensor<double>(path, "b"));
        var wrongType = Assert.Throws<InvalidDataException>(() => Safetensors.ReadTensor<double>(path, "a"));
        Assert.Contains("'a' is F32", wrongType.Message);
        var missing = Assert.Throws<KeyNotFoundException>(() => Safetensors.ReadTensor<float>(path, "c"));
        Assert.Contains("no tensor named 'c'", missing.Message);
        Assert.Matches("it holds: (a, b|b, a)", missing.Message);
    }

    [Fact]
    public void ReadHeaderRejectsAMalformedFileLikeRead()
    {
        string path = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("shorter than the 8-byte", Assert.Throws<InvalidDataException>(() => Safetensors.ReadHeader(path)).Message);
        Assert.Contains("shorter than the 8-byte", Assert.Throws<InvalidDataException>(() => Safetensors.ReadTensor<float>(path, "a")).Message);
    }

    /// <summary>Passes writes through until a byte budget is spent, then fails like a full disk.</summary>
    private sealed class FailAfterStream(Stream inner, long failAfterBytes) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfterBytes)
            {
                throw new IOException("disk full (simulated)");
            }

            inner.Write(buffer);
            _written += buffer.Length;
        }
    }
}
