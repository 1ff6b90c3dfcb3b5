// Issue 12, hardening: hostile files must give one clear error (or be handled
// safely), never run code, crash, hang or read out of bounds.
// Weight-file fixtures come from tests/fixtures/gen_hostile_files.py.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/file_checks.hpp"
#include "image/idx_dataset.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {

const std::string kCli = MIRADA_CLI;

void writeBytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
}

std::string sq(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

// D1: a legacy .pth that is also a tar archive whose 'storages' member is a
// pickle calling os.system. Mirada reads it as a ResNet-50; plain torch.load
// would take the tar path and run the command. The comparison must never
// unpickle the file: the marker must not appear (the run may succeed or fail cleanly).
TEST(Hardening, BenchComparePytorchNeverRunsCodeFromTheWeightFile) {
    const fs::path dir = fixtureDir() / "hostile";
    const fs::path weights = dir / "polyglot-resnet50.pth", marker = dir / "polyglot.MARKER";
    MIRADA_REQUIRE_FIXTURE(weights);
    fs::remove(marker);
    std::string out;
    const int rc = runCommand("MIRADA_PYTHON=" + std::string(MIRADA_PYTHON) + " " + kCli +
                                  " bench --device cpu --compare-pytorch --model " + sq(weights) + " --image " +
                                  sq(samplePath("fashion-bag.png")) +
                                  " --method gradcam --evaluation plain --batch-size 1 --images 1 --repeat 1",
                              &out);
    EXPECT_FALSE(fs::exists(marker)) << "code from the weight file ran:\n" << out;
    EXPECT_TRUE(rc == 0 || rc == 1) << out;
    EXPECT_EQ(out.find("terminate"), std::string::npos) << out;
    if (rc == 0) EXPECT_NE(out.find("max |difference| / max |logit| = 0.00e+00"), std::string::npos) << out;
}

// D1, the script on its own: a state dict given with --weights goes through
// torch.load(weights_only=True), which refuses the pickled os.system.
TEST(Hardening, BenchScriptRefusesPicklesThatRunCode) {
    const fs::path dir = fixtureDir() / "hostile";
    const fs::path weights = dir / "polyglot-resnet50.pth", marker = dir / "polyglot.MARKER";
    MIRADA_REQUIRE_FIXTURE(weights);
    fs::remove(marker);
    TempDir tmp;
    writeBytes(tmp.path() / "in.f32", std::string(3 * 8 * 8 * 4, '\0'));
    std::string out;
    const int rc = runCommand(std::string(MIRADA_PYTHON) + " " + sq(sourceDir() / "scripts" / "bench_pytorch.py") +
                                  " --arch resnet50 --weights " + sq(weights) + " --input " +
                                  sq(tmp.path() / "in.f32") + " --shape 3,8,8 --batch 1 --threads 1 --images 1",
                              &out);
    EXPECT_NE(rc, 0) << out;
    EXPECT_FALSE(fs::exists(marker)) << "code from the weight file ran:\n" << out;
}

// D9: the comparison's temp files live in a fresh private folder (mode 0700,
// not /tmp/mirada-bench-<pid>), are created 0600, and are removed afterwards.
// A stand-in for Python records what it was given.
TEST(Hardening, BenchTempFolderIsPrivateAndRemoved) {
    TempDir tmp;
    const fs::path tmpdir = tmp.path() / "tmp", record = tmp.path() / "record.txt",
                   fake = tmp.path() / "fake-python.sh";
    fs::create_directories(tmpdir);
    writeText(fake,
              "#!/bin/sh\n"
              "while [ $# -gt 0 ]; do [ \"$1\" = --input ] && in=\"$2\"; shift; done\n"
              "d=$(dirname \"$in\")\n"
              "{ echo \"dir $(basename \"$d\") $(stat -c %a \"$d\")\"; for f in \"$d\"/*; do echo \"file $(stat -c %a "
              "\"$f\")\"; done; } > " +
                  sq(record) +
                  "\n"
                  "echo '{\"images_per_s\": 1.0, \"evaluations_seconds\": 1.0, \"torch\": \"fake\"}'\n");
    fs::permissions(fake, fs::perms::owner_all);
    std::string out;
    const int rc =
        runCommand("TMPDIR=" + sq(tmpdir) + " MIRADA_PYTHON=" + sq(fake) + " " + kCli +
                       " bench --device cpu --compare-pytorch --model fashion-cnn --image " +
                       sq(samplePath("fashion-bag.png")) + " --method gradcam --batch-size 2 --images 2 --repeat 1",
                   &out);
    ASSERT_EQ(rc, 0) << out;
    const std::string rec = slurp(record);
    ASSERT_FALSE(rec.empty()) << out;
    EXPECT_NE(rec.find(" 700\n"), std::string::npos) << rec;
    EXPECT_NE(rec.find("file 600\n"), std::string::npos) << rec;
    EXPECT_EQ(rec.find("file 644"), std::string::npos) << rec;
    // The folder name is not the guessable mirada-bench-<digits>.
    const auto at = rec.find("dir mirada-bench-");
    ASSERT_NE(at, std::string::npos) << rec;
    const std::string suffix = rec.substr(at + 17, rec.find(' ', at + 17) - at - 17);
    EXPECT_NE(suffix.find_first_not_of("0123456789"), std::string::npos) << rec;
    EXPECT_TRUE(fs::is_empty(tmpdir)) << "temp folder left behind";
}

namespace {
std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
}  // namespace

// D2: a 16-byte IDX header whose n * rows * cols wraps to 0 in 64 bits passed
// the size check and memcpy read out of bounds. Now: exit 1, the file named.
TEST(Hardening, IdxHeaderWithOverflowingSizesIsRefused) {
    TempDir tmp;
    const fs::path wrap = tmp.path() / "wrap-idx3-ubyte", big = tmp.path() / "big-idx3-ubyte";
    writeBytes(wrap, be32(2051) + be32(1u << 31) + be32(1u << 17) + be32(1u << 16));
    writeBytes(big, be32(2051) + be32(1u << 31) + be32(28) + be32(28) + std::string(784, '\1'));
    for (const auto& f : {wrap, big}) {
        std::string out;
        const int rc = runCommand("timeout 60 " + kCli + " evaluate --model fashion-cnn --dataset " + sq(f) +
                                      " --count 1 --out " + sq(tmp.path() / "out"),
                                  &out);
        EXPECT_EQ(rc, 1) << out;
        EXPECT_NE(out.find("'" + f.string() + "'"), std::string::npos) << out;
        EXPECT_EQ(out.find("terminate"), std::string::npos) << out;
    }
    // The same through the library, with the reason.
    EXPECT_NE(errorOf([&] { readIdxImages(wrap, 0, 1); }).find("131072 x 65536"), std::string::npos);
    EXPECT_NE(errorOf([&] { readIdxImages(big, 0, 1); }).find("truncated"), std::string::npos);
}

namespace {
// A descriptor for the bundled fashion-cnn with `extra` fields appended.
fs::path writeDescriptor(const fs::path& dir, const std::string& name, const std::string& extra) {
    const fs::path ts = sourceDir() / "models" / "fashion-cnn" / "fashion-cnn.pt";
    const fs::path d = dir / name;
    writeText(d, "{\"torchscript\": \"" + ts.string() +
                     "\", \"input\": {\"width\": 28, \"height\": 28, \"channels\": 1}, \"resize\": \"stretch\"" +
                     extra + "}");
    return d;
}
}  // namespace

// D8: labels_file was read without a limit (/dev/urandom: gigabytes). Now
// only regular files of at most 16 MiB and 1,000,000 labels.
TEST(Hardening, LabelsFileIsBounded) {
    TempDir tmp;
    const fs::path big = tmp.path() / "big.txt", many = tmp.path() / "many.txt";
    writeText(big, "a\n");
    fs::resize_file(big, (16u << 20) + 1);  // sparse: 16 MiB + 1 byte
    {
        std::ofstream out(many);
        for (int i = 0; i < 1000001; ++i) out << "l\n";
    }
    const std::vector<std::pair<fs::path, std::string>> cases = {
        {"/dev/urandom", "not a regular file"}, {big, "16 MiB"}, {many, "1000000 labels"}};
    for (const auto& [labels, why] : cases) {
        const auto d = writeDescriptor(tmp.path(), "m.json", ", \"labels_file\": \"" + labels.string() + "\"");
        std::string out;
        const int rc = runCommand(
            "timeout 60 " + kCli + " predict --model " + sq(d) + " --image " + sq(samplePath("fashion-bag.png")), &out);
        EXPECT_EQ(rc, 1) << labels << ": " << out;
        EXPECT_NE(out.find(labels.string()), std::string::npos) << out;
        EXPECT_NE(out.find(why), std::string::npos) << out;
        EXPECT_NE(out.find("labels_file"), std::string::npos) << out;
    }
}

// Special files: a FIFO as model, descriptor, TorchScript file, image, label
// map or labels file blocked forever. Now: exit 1 at once, the file named.
TEST(Hardening, SpecialFilesAreRefusedBeforeOpening) {
    TempDir tmp;
    const fs::path fifoPth = tmp.path() / "fifo.pth", fifoJson = tmp.path() / "fifo.json",
                   fifoPt = tmp.path() / "fifo.pt", fifoPng = tmp.path() / "fifo.png",
                   fifoMap = tmp.path() / "fifo-segments.png", fifoTxt = tmp.path() / "fifo.txt";
    for (const auto& f : {fifoPth, fifoJson, fifoPt, fifoPng, fifoMap, fifoTxt})
        ASSERT_EQ(::mkfifo(f.c_str(), 0600), 0);
    const fs::path loopA = tmp.path() / "loop-a.pth", loopB = tmp.path() / "loop-b.pth";
    fs::create_symlink(loopB, loopA);
    fs::create_symlink(loopA, loopB);
    const fs::path tsDesc = tmp.path() / "ts-fifo.json";
    writeText(tsDesc, "{\"torchscript\": \"" + fifoPt.string() + "\"}");
    const auto labelsDesc =
        writeDescriptor(tmp.path(), "labels-fifo.json", ", \"labels_file\": \"" + fifoTxt.string() + "\"");
    const std::string image = " --image " + sq(samplePath("fashion-bag.png"));
    struct Case {
        std::string args;
        fs::path named;
        std::string why;
    };
    const std::vector<Case> cases = {
        {"predict --model " + sq(fifoPth) + image, fifoPth, "named pipe"},
        {"predict --model " + sq(fifoJson) + image, fifoJson, "named pipe"},
        {"predict --model " + sq(tsDesc) + image, fifoPt, "named pipe"},
        {"predict --model " + sq(labelsDesc) + image, fifoTxt, "named pipe"},
        {"predict --model fashion-cnn --image " + sq(fifoPng), fifoPng, "named pipe"},
        {"explain --model fashion-cnn --methods lime" + image + " --segments " + sq(fifoMap) + " --out " +
             sq(tmp.path() / "out"),
         fifoMap, "not a regular file"},
        {"predict --model " + sq(loopA) + image, loopA, "loops"},
    };
    for (const auto& c : cases) {
        std::string out;
        const int rc = runCommand("timeout 20 " + kCli + " " + c.args, &out);
        EXPECT_EQ(rc, 1) << c.args << " -> " << out;
        EXPECT_NE(out.find(c.named.string()), std::string::npos) << c.args << " -> " << out;
        EXPECT_NE(out.find(c.why), std::string::npos) << c.args << " -> " << out;
    }
    EXPECT_NE(errorOf([&] { requireRegularFile("/dev/null", "model file"); }).find("character device"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { requireRegularFile(tmp.path(), "image"); }).find("folder"), std::string::npos);
    EXPECT_EQ(requireRegularFile(labelsDesc, "model descriptor"), fs::file_size(labelsDesc));
}

// D3: deeply nested JSON overflowed the stack (a descriptor with 100,000
// nested lists crashed `predict`). Now: at most 64 levels, exit 1, the file
// and the limit named, and no huge value echoed.
TEST(Hardening, DeeplyNestedJsonIsRefused) {
    TempDir tmp;
    const auto deep = writeDescriptor(tmp.path(), "deep.json",
                                      ", \"labels\": " + std::string(100000, '[') + std::string(100000, ']'));
    std::string out;
    const int rc = runCommand(
        "timeout 60 " + kCli + " predict --model " + sq(deep) + " --image " + sq(samplePath("fashion-bag.png")), &out);
    EXPECT_EQ(rc, 1) << out.substr(0, 2000);
    EXPECT_NE(out.find(deep.string()), std::string::npos) << out.substr(0, 2000);
    EXPECT_NE(out.find("64 levels"), std::string::npos) << out.substr(0, 2000);
    EXPECT_LT(out.size(), 1000u) << out.substr(0, 2000);

    // The limit itself: 64 levels parse, 65 do not.
    EXPECT_NO_THROW(parseJsonBounded(std::string(64, '[') + std::string(64, ']'), "x"));
    EXPECT_NE(errorOf([] {
                  parseJsonBounded(std::string(65, '[') + std::string(65, ']'), "the file 'y'");
              }).find("the file 'y' nests"),
              std::string::npos);
    EXPECT_NE(errorOf([] { parseJsonBounded("{\"a\": [1, 2", "the file 'z'"); }).find("the file 'z' is not valid JSON"),
              std::string::npos);

    // A long wrong value is cut in the message.
    const auto wide = writeDescriptor(tmp.path(), "wide.json", ", \"mean\": [\"" + std::string(100000, 'x') + "\"]");
    const int rc2 =
        runCommand(kCli + " predict --model " + sq(wide) + " --image " + sq(samplePath("fashion-bag.png")), &out);
    EXPECT_EQ(rc2, 1) << out.substr(0, 2000);
    EXPECT_NE(out.find("mean"), std::string::npos) << out.substr(0, 2000);
    EXPECT_LT(out.size(), 1000u) << out.substr(0, 2000);
}
