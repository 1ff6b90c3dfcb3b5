// Tests for the Python-free state_dict reader. Fixtures come from
// tests/fixtures/gen_state_dicts.py (in MIRADA_FIXTURE_DIR/state_dicts).
#include "common/error.hpp"
#include "models/state_dict_reader.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <unistd.h>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using mirada::readStateDict;
using mirada::sniffWeightFileFormat;
using mirada::WeightFileFormat;

namespace {

fs::path fixtureDir() {
    if (const char* env = std::getenv("MIRADA_FIXTURE_DIR")) return fs::path(env) / "state_dicts";
    return fs::path(MIRADA_FIXTURE_DIR) / "state_dicts";
}

fs::path fixture(const std::string& name) {
    fs::path p = fixtureDir() / name;
    if (!fs::exists(p))
        throw std::runtime_error("fixture " + p.string() + " is missing; run ctest (fixture.gen_state_dicts) first");
    return p;
}

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeAll(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A scratch folder unique to the running test.
class ScratchDir {
public:
    ScratchDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ =
            fs::temp_directory_path() / ("mirada_sdr_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

std::string dtypeName(c10::ScalarType t) {
    switch (t) {
        case c10::ScalarType::Float: return "float32";
        case c10::ScalarType::Double: return "float64";
        case c10::ScalarType::Half: return "float16";
        case c10::ScalarType::BFloat16: return "bfloat16";
        case c10::ScalarType::Long: return "int64";
        case c10::ScalarType::Int: return "int32";
        case c10::ScalarType::Short: return "int16";
        case c10::ScalarType::Char: return "int8";
        case c10::ScalarType::Byte: return "uint8";
        case c10::ScalarType::Bool: return "bool";
        default: return "other";
    }
}

// Values, dtypes, shapes and order equal the reference written by Python.
void expectMatchesReference(const mirada::StateDict& sd) {
    const auto ref = nlohmann::json::parse(readAll(fixture("sd_reference.json")));
    const auto& tensors = ref.at("tensors");
    ASSERT_EQ(sd.size(), tensors.size());
    for (std::size_t i = 0; i < sd.size(); ++i) {
        const auto& r = tensors[i];
        const auto& [name, t] = sd[i];
        SCOPED_TRACE(name);
        EXPECT_EQ(name, r.at("name").get<std::string>());
        EXPECT_EQ(dtypeName(t.scalar_type()), r.at("dtype").get<std::string>());
        EXPECT_EQ(t.sizes().vec(), r.at("shape").get<std::vector<int64_t>>());
        EXPECT_TRUE(t.device().is_cpu());
        EXPECT_FALSE(t.requires_grad());
        const auto expected = r.at("values").get<std::vector<double>>();
        const torch::Tensor flat = t.to(torch::kFloat64).contiguous().flatten();
        ASSERT_EQ(flat.numel(), static_cast<int64_t>(expected.size()));
        const double* got = flat.data_ptr<double>();
        for (std::size_t k = 0; k < expected.size(); ++k) ASSERT_EQ(got[k], expected[k]) << "element " << k;
    }
}

// Reading `file` throws mirada::Error whose message names the file (and contains `also`).
void expectReadError(const fs::path& file, const std::string& also = {}, bool show = true) {
    try {
        readStateDict(file);
        ADD_FAILURE() << "no error for " << file;
    } catch (const mirada::Error& e) {
        const std::string msg = e.what();
        if (show) std::cout << "  " << msg << "\n";
        EXPECT_NE(msg.find(file.filename().string()), std::string::npos) << msg;
        if (!also.empty()) EXPECT_NE(msg.find(also), std::string::npos) << msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type for " << file << ": " << e.what();
    }
}

// Either a clean result or a mirada::Error; nothing else.
void expectReadOrError(const fs::path& file) {
    try {
        readStateDict(file);
    } catch (const mirada::Error& e) {
        EXPECT_NE(std::string(e.what()).find(file.filename().string()), std::string::npos) << e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type for " << file << ": " << e.what();
    }
}

}  // namespace

TEST(StateDictReader, ZipMatchesReference) { expectMatchesReference(readStateDict(fixture("sd_zip.pth"))); }

TEST(StateDictReader, LegacyMatchesReference) { expectMatchesReference(readStateDict(fixture("sd_legacy.pth"))); }

TEST(StateDictReader, PickleProtocol4MatchesReference) {
    expectMatchesReference(readStateDict(fixture("sd_zip_proto4.pth")));
    expectMatchesReference(readStateDict(fixture("sd_legacy_proto4.pth")));
}

TEST(StateDictReader, WrappedCheckpointGivesInnerStateDict) {
    expectMatchesReference(readStateDict(fixture("sd_wrapped.pth")));
    expectMatchesReference(readStateDict(fixture("sd_wrapped_legacy.pth")));
}

TEST(StateDictReader, ModelCheckpointWithOptimizerGivesModelTensors) {
    expectMatchesReference(readStateDict(fixture("sd_model_ckpt.pth")));
}

TEST(StateDictReader, SharedStorageViewsAreCorrectAndOwnTheirMemory) {
    const auto sd = readStateDict(fixture("sd_zip.pth"));
    auto find = [&](const std::string& n) {
        for (const auto& e : sd)
            if (e.name == n) return e.tensor;
        throw std::runtime_error("no tensor " + n);
    };
    const auto base = find("shared.base");
    const auto view = find("shared.view");
    EXPECT_TRUE(torch::equal(view, base.slice(0, 2).slice(1, 0, 10, 2)));
    EXPECT_TRUE(view.is_contiguous());
    // The view was copied: changing the base leaves it alone.
    const float before = view[0][0].item<float>();
    base.add_(1000);
    EXPECT_EQ(view[0][0].item<float>(), before);
    EXPECT_EQ(find("extra.scalar_f32").dim(), 0);
    EXPECT_EQ(find("bn.num_batches_tracked").item<int64_t>(), 17);
}

TEST(StateDictReader, SniffsFormats) {
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_zip.pth")), WeightFileFormat::PickleZip);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_wrapped.pth")), WeightFileFormat::PickleZip);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_legacy.pth")), WeightFileFormat::PickleLegacy);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_legacy_trunc.pth")), WeightFileFormat::PickleLegacy);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_legacy_proto4.pth")), WeightFileFormat::PickleLegacy);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_zip_proto4.pth")), WeightFileFormat::PickleZip);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_zip_trunc.pth")), WeightFileFormat::PickleZip);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_torchscript.pt")), WeightFileFormat::TorchScript);
    EXPECT_EQ(sniffWeightFileFormat(fixture("sd_text.pth")), WeightFileFormat::Unknown);
    EXPECT_EQ(sniffWeightFileFormat(fixtureDir() / "does_not_exist.pth"), WeightFileFormat::Unknown);
    ScratchDir dir;
    writeAll(dir / "empty.pth", "");
    EXPECT_EQ(sniffWeightFileFormat(dir / "empty.pth"), WeightFileFormat::Unknown);
    EXPECT_EQ(mirada::toString(WeightFileFormat::PickleZip), "pickle-zip");
}

TEST(StateDictReader, BadInputsThrowErrorsNamingTheFile) {
    ScratchDir dir;
    writeAll(dir / "empty.pth", "");
    expectReadError(dir / "empty.pth", "empty");
    std::mt19937 rng(42);
    std::string noise(4096, '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    writeAll(dir / "random.pth", noise);
    expectReadError(dir / "random.pth", "not a PyTorch weight file");
    writeAll(dir / "page.pth", "<!DOCTYPE html><html><body>404 Not Found</body></html>");
    expectReadError(dir / "page.pth", "HTML");
    expectReadError(dir / "missing.pth", "does not exist");

    expectReadError(fixture("sd_text.pth"), "not a PyTorch weight file");
    expectReadError(fixture("sd_zip_trunc.pth"), "download it again");
    expectReadError(fixture("sd_legacy_trunc.pth"), "is truncated: storage");
    expectReadError(fixture("sd_torchscript.pt"), "TorchScript");
    expectReadError(fixture("sd_bad_global.pth"), "argparse.Namespace");
    expectReadError(fixture("sd_whole_module.pth"), "torch.nn.modules.linear.Linear");
    expectReadError(fixture("sd_bad_opcode_legacy.pth"), "0xfe");
}

// Every prefix of either format is a clean error, never a crash or a hang.
TEST(StateDictReader, EveryTruncationIsACleanError) {
    ScratchDir dir;
    for (const char* name : {"sd_zip.pth", "sd_legacy.pth"}) {
        const std::string bytes = readAll(fixture(name));
        std::vector<std::size_t> cuts;
        for (std::size_t c = 1; c < 400 && c < bytes.size(); ++c) cuts.push_back(c);  // inside the pickles
        for (int k = 1; k < 50; ++k) cuts.push_back(bytes.size() * k / 50);
        for (std::size_t c = bytes.size() - 64; c < bytes.size(); ++c) cuts.push_back(c);
        const fs::path p = dir / ("cut_" + std::string(name));
        for (std::size_t c : cuts) {
            SCOPED_TRACE(std::string(name) + " cut at " + std::to_string(c));
            writeAll(p, bytes.substr(0, c));
            expectReadError(p, {}, false);
        }
    }
}

// Random byte changes in the legacy file's pickles: a result or a clean error.
TEST(StateDictReader, CorruptedLegacyPicklesNeverCrash) {
    ScratchDir dir;
    const std::string bytes = readAll(fixture("sd_legacy.pth"));
    std::mt19937 rng(7);
    const fs::path p = dir / "mutated.pth";
    const auto start = std::chrono::steady_clock::now();
    for (int trial = 0; trial < 400; ++trial) {
        std::string m = bytes;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            const std::size_t at = 14 + rng() % 4000;  // keep the magic number; hit the pickles
            m[at] = static_cast<char>(rng());
        }
        writeAll(p, m);
        SCOPED_TRACE("trial " + std::to_string(trial));
        expectReadOrError(p);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

// Damaged bytes inside a zip's records are caught by the CRC: a clean error.
TEST(StateDictReader, CorruptedZipIsACleanError) {
    ScratchDir dir;
    const std::string bytes = readAll(fixture("sd_zip.pth"));
    std::mt19937 rng(11);
    const fs::path p = dir / "mutated.pth";
    for (int trial = 0; trial < 100; ++trial) {
        std::string m = bytes;
        m[100 + rng() % (bytes.size() - 200)] ^= static_cast<char>(1 + rng() % 255);
        writeAll(p, m);
        SCOPED_TRACE("trial " + std::to_string(trial));
        expectReadOrError(p);
    }
}
