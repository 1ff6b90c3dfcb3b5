// Issue 18: explain / evaluate a folder (core batch layer). The folder is a
// small ImageFolder of Fashion-MNIST test images made at test time
// (fixtures/gen_image_folder.py: 3 per class, folders named like the
// fashion-cnn's labels, the true classes listed in fashion-folder-labels.txt).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "batch/batch.hpp"
#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "models/model_zoo.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using mirada::test::errorOf;
using mirada::test::fixtureDir;
using mirada::test::slurp;
using mirada::test::TempDir;
namespace fs = std::filesystem;

namespace {

Model& fashionModel() {
    static std::unique_ptr<Model> model = [] {
        ModelLoadOptions opt;
        opt.device = DeviceChoice::Cpu;
        return loadModel("fashion-cnn", opt).model;
    }();
    return *model;
}

fs::path fashionFolder() { return fixtureDir() / "fashion-folder"; }

// id -> true class index, as the fixture wrote them.
std::map<std::string, int> trueClasses() {
    std::map<std::string, int> m;
    std::istringstream in(slurp(fixtureDir() / "fashion-folder-labels.txt"));
    std::string line;
    while (std::getline(in, line)) {
        const auto comma = line.rfind(',');
        if (comma != std::string::npos) m[line.substr(0, comma)] = std::stoi(line.substr(comma + 1));
    }
    return m;
}

// A copy of the fixture folder (tests that add files or run into it must not share it).
fs::path copyFolder(const TempDir& tmp) {
    const fs::path dst = tmp / "images-in";
    fs::copy(fashionFolder(), dst, fs::copy_options::recursive);
    return dst;
}

// Grad-CAM with the deletion/insertion curves: fast enough for 30 images in a unit test.
BatchSettings gradcamSettings(bool metrics) {
    BatchSettings s;
    PlannedMethod m;
    m.method = "gradcam";
    m.params = makeExplainer("gradcam")->paramsForLayers(fashionModel().layers());
    s.plan.methods.push_back(m);
    s.plan.superpixels = superpixelParams();
    s.plan.perturbation = perturbationParams();
    s.plan.metrics = metrics;
    s.plan.faithfulness = faithfulnessParams();
    s.plan.faithfulness.set("step_fraction", 0.05);  // 21 points per curve: enough to compare, quick
    s.plan.faithfulness.setFromString("random_repeats", "2");
    s.plan.agreement = agreementParams();
    s.target = "true";
    return s;
}

struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    int col(const std::string& name) const {
        for (size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return static_cast<int>(i);
        ADD_FAILURE() << "no column " << name;
        return 0;
    }
};

// CSV with quoted fields ("" inside quotes).
CsvTable readCsv(const fs::path& p) {
    CsvTable t;
    const std::string text = slurp(p);
    std::vector<std::string> row;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
        } else if (c == '\n') {
            row.push_back(field);
            field.clear();
            if (t.header.empty())
                t.header = row;
            else
                t.rows.push_back(row);
            row.clear();
        } else {
            field += c;
        }
    }
    return t;
}

}  // namespace

TEST(BatchFolder, ImageFolderLayoutGivesEveryImageItsTrueClass) {
    const auto truth = trueClasses();
    ASSERT_EQ(truth.size(), 30u);
    const FolderScan scan = scanImageFolder(fashionFolder(), {}, fashionModel().info().labels);
    EXPECT_TRUE(scan.labelled);
    EXPECT_EQ(scan.found, 30);
    ASSERT_EQ(scan.items.size(), 30u);
    EXPECT_EQ(scan.class_folders.size(), 10u);
    for (const auto& item : scan.items) {
        ASSERT_TRUE(truth.count(item.id)) << item.id;
        EXPECT_EQ(item.true_index, truth.at(item.id)) << item.id;
        EXPECT_EQ(item.true_label, fashionModel().info().labels.at(item.true_index));
        EXPECT_EQ(item.folder + ".png", item.id);
    }
    // "T-shirt_top" is the label "T-shirt/top".
    EXPECT_EQ(scan.items.back().class_folder, "Trouser");
    bool tshirt = false;
    for (const auto& item : scan.items) tshirt = tshirt || (item.class_folder == "T-shirt_top" && item.true_index == 0);
    EXPECT_TRUE(tshirt);
}

TEST(BatchFolder, PatternsMaximumAndSeededSample) {
    const auto& labels = fashionModel().info().labels;
    EXPECT_TRUE(patternMatches("*.PNG", "a.png"));
    EXPECT_TRUE(patternMatches("0000?.png", "00001.png"));
    EXPECT_FALSE(patternMatches("*.jpg", "a.png"));
    EXPECT_FALSE(patternMatches("a*b", "ab.c"));

    FolderScanOptions o;
    o.patterns = {"*.jpg"};
    EXPECT_NE(errorOf([&] { scanImageFolder(fashionFolder(), o, labels); }).find("holds no image matching *.jpg"),
              std::string::npos);
    o.patterns = {"0000*.png"};  // the test set's images 0-9
    size_t expected = 0;
    for (const auto& [id, c] : trueClasses()) expected += fs::path(id).filename().string().rfind("0000", 0) == 0;
    ASSERT_GT(expected, 0u);
    EXPECT_EQ(scanImageFolder(fashionFolder(), o, labels).items.size(), expected);

    o = {};
    o.max_count = 7;
    const auto first = scanImageFolder(fashionFolder(), o, labels);
    ASSERT_EQ(first.items.size(), 7u);
    EXPECT_EQ(first.found, 30);
    EXPECT_EQ(first.items.front().id, "Ankle_boot/00000.png");  // name order

    o.random_sample = true;
    o.seed = 1;
    const auto a = scanImageFolder(fashionFolder(), o, labels);
    const auto b = scanImageFolder(fashionFolder(), o, labels);
    o.seed = 2;
    const auto c = scanImageFolder(fashionFolder(), o, labels);
    auto ids = [](const FolderScan& s) {
        std::vector<std::string> v;
        for (const auto& i : s.items) v.push_back(i.id);
        return v;
    };
    ASSERT_EQ(a.items.size(), 7u);
    EXPECT_EQ(ids(a), ids(b));  // the same seed, the same sample
    EXPECT_NE(ids(a), ids(c));
    EXPECT_NE(ids(a), ids(first));
}

TEST(BatchFolder, UnknownClassFoldersAreRefusedUnlessMapped) {
    TempDir tmp;
    const fs::path dir = copyFolder(tmp);
    fs::rename(dir / "Sneaker", dir / "trainers");
    const auto& labels = fashionModel().info().labels;
    const std::string e = errorOf([&] { scanImageFolder(dir, {}, labels); });
    EXPECT_NE(e.find("9 of 10 sub-folders name a class"), std::string::npos) << e;
    EXPECT_NE(e.find("'trainers'"), std::string::npos) << e;
    EXPECT_NE(e.find("--labels"), std::string::npos) << e;

    FolderScanOptions o;
    o.label_map = tmp / "map.txt";
    mirada::test::writeText(o.label_map, "# folder,label\ntrainers,Sneaker\n");
    const auto scan = scanImageFolder(dir, o, labels);
    for (const auto& item : scan.items)
        if (item.class_folder == "trainers") EXPECT_EQ(item.true_index, 7);
    EXPECT_EQ(scan.class_folders.size(), 10u);  // the others by their names

    mirada::test::writeText(o.label_map, "trainers,Shoe\n");
    EXPECT_NE(errorOf([&] { scanImageFolder(dir, o, labels); }).find("'Shoe' is not one of the model's 10 labels"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { scanImageFolder(tmp / "nope", {}, labels); }).find("does not exist"), std::string::npos);
}

TEST(BatchRun, CsvRowsTablesRerunAndCorruptImage) {
    TempDir tmp;
    const fs::path in = copyFolder(tmp);
    // A file that claims to be a PNG but is not: reported, and the others finish.
    mirada::test::writeText(in / "Bag" / "broken.png", "\x89PNG\r\n\x1a\nthis is not an image");
    const fs::path out = tmp / "out";
    Model& model = fashionModel();
    const FolderScan scan = scanImageFolder(in, {}, model.info().labels);
    ASSERT_EQ(scan.items.size(), 31u);
    const BatchSettings settings = gradcamSettings(true);
    int progressCalls = 0;
    BatchObserver observer;
    observer.progress = [&](const BatchProgress& p) {
        ++progressCalls;
        EXPECT_EQ(p.total, 31);
        EXPECT_LE(p.done, p.total);
    };
    const BatchSummary s = runBatch(model, scan, settings, out, observer, nullptr);
    EXPECT_GT(progressCalls, 31);
    EXPECT_FALSE(s.cancelled);
    EXPECT_EQ(s.done, 30);
    EXPECT_EQ(s.failed, 1);
    EXPECT_EQ(s.skipped, 0);
    EXPECT_TRUE(s.labelled);

    // One row per image x method; the broken image is one row with its error.
    const CsvTable csv = readCsv(out / "results.csv");
    ASSERT_EQ(csv.rows.size(), 31u);
    const auto truth = trueClasses();
    std::vector<double> del, ins;
    int correct = 0;
    for (const auto& row : csv.rows) {
        ASSERT_EQ(row.size(), csv.header.size());
        const std::string id = row[csv.col("id")];
        if (id == "Bag/broken.png") {
            EXPECT_EQ(row[csv.col("status")], "failed");
            EXPECT_NE(row[csv.col("error")].find("broken.png"), std::string::npos) << row[csv.col("error")];
            continue;
        }
        EXPECT_EQ(row[csv.col("status")], "done");
        EXPECT_EQ(row[csv.col("method")], "gradcam");
        EXPECT_EQ(std::stoi(row[csv.col("true_index")]), truth.at(id)) << id;
        EXPECT_EQ(row[csv.col("true_label")], model.info().labels.at(truth.at(id)));
        EXPECT_EQ(row[csv.col("target_index")], row[csv.col("true_index")]);  // target true
        const bool isCorrect = row[csv.col("predicted_index")] == row[csv.col("true_index")];
        EXPECT_EQ(row[csv.col("correct")], isCorrect ? "1" : "0");
        correct += isCorrect;
        del.push_back(std::stod(row[csv.col("deletion_auc")]));
        ins.push_back(std::stod(row[csv.col("insertion_auc")]));
    }
    ASSERT_EQ(del.size(), 30u);
    // The aggregated table is the mean of the rows.
    double dsum = 0, isum = 0;
    for (size_t i = 0; i < del.size(); ++i) dsum += del[i], isum += ins[i];
    ASSERT_EQ(s.all.methods.size(), 1u);
    EXPECT_EQ(s.all.methods[0].deletion.n, 30);
    EXPECT_NEAR(s.all.methods[0].deletion.mean, dsum / 30, 1e-5);
    EXPECT_NEAR(s.all.methods[0].insertion.mean, isum / 30, 1e-5);
    EXPECT_EQ(s.correct_images, correct);
    EXPECT_NEAR(s.accuracy, correct / 30.0, 1e-12);
    EXPECT_GT(correct, 20);  // the bundled model is right on most Fashion-MNIST test images
    int confusionTotal = 0, diagonal = 0;
    for (size_t t = 0; t < s.confusion.size(); ++t)
        for (size_t p = 0; p < s.confusion[t].size(); ++p)
            confusionTotal += s.confusion[t][p], diagonal += t == p ? s.confusion[t][p] : 0;
    EXPECT_EQ(confusionTotal, 30);
    EXPECT_EQ(diagonal, correct);
    ASSERT_EQ(s.per_class.size(), 10u);
    int perClass = 0;
    for (const auto& g : s.per_class) perClass += g.images;
    EXPECT_EQ(perClass, 30);
    EXPECT_EQ(s.correct.images + s.wrong.images, 30);
    // The mean curves: Grad-CAM's and the random floor's, 101 points from 0 to 1.
    ASSERT_EQ(s.curves.size(), 2u);
    EXPECT_EQ(s.curves[1].method, "random");
    EXPECT_EQ(s.curves[0].fraction.size(), 101u);
    EXPECT_EQ(s.curves[0].images, 30);

    // The summary files are there; the JSON's table equals the returned one.
    for (const char* f : {"results.csv", "summary.json", "summary.md", "curves.csv", "report.html", "batch.json"})
        EXPECT_TRUE(fs::exists(out / f)) << f;
    const auto sj = nlohmann::json::parse(slurp(out / "summary.json"));
    EXPECT_NEAR(sj["all"]["methods"][0]["deletion_auc"]["mean"].get<double>(), dsum / 30, 1e-5);
    EXPECT_EQ(sj["failed"].size(), 1u);
    const std::string html = slurp(out / "report.html");
    EXPECT_NE(html.find("broken.png"), std::string::npos);
    EXPECT_EQ(html.find("src=\"http"), std::string::npos);  // nothing from elsewhere
    // Each image's files as explain writes them, plus its result.
    EXPECT_TRUE(fs::exists(out / "images" / "Sneaker" / "00009" / "00009.gradcam.overlay.png"));
    EXPECT_TRUE(fs::exists(out / "images" / "Sneaker" / "00009" / "00009.report.json"));
    EXPECT_TRUE(fs::exists(out / "images" / "Sneaker" / "00009" / "result.json"));

    // A rerun with the same settings skips every finished image (the broken one is tried again).
    const auto resultTime = fs::last_write_time(out / "images" / "Sneaker" / "00009" / "result.json");
    const BatchSummary again = runBatch(model, scan, settings, out, {}, nullptr);
    EXPECT_EQ(again.skipped, 30);
    EXPECT_EQ(again.done, 30);
    EXPECT_EQ(again.failed, 1);
    EXPECT_EQ(fs::last_write_time(out / "images" / "Sneaker" / "00009" / "result.json"), resultTime);
    EXPECT_NEAR(again.all.methods[0].deletion.mean, s.all.methods[0].deletion.mean, 1e-12);
    EXPECT_EQ(slurp(out / "results.csv"), batchCsv(s));

    // Other settings: nothing is reused (three images suffice to show it).
    BatchSettings other = settings;
    other.plan.seed = 7;
    FolderScan firstThree = scan;
    firstThree.items.resize(3);
    const BatchSummary changed = runBatch(model, firstThree, other, out, {}, nullptr);
    EXPECT_EQ(changed.skipped, 0);
    EXPECT_EQ(changed.done, 3);
}

TEST(BatchRun, CancelLeavesCompleteImagesAndAConsistentSummary) {
    TempDir tmp;
    const fs::path out = tmp / "out";
    Model& model = fashionModel();
    const FolderScan scan = scanImageFolder(fashionFolder(), {}, model.info().labels);
    std::atomic<bool> cancel{false};
    BatchObserver observer;
    int finished = 0;
    observer.image_done = [&](const BatchImageResult&) {
        if (++finished == 4) cancel = true;  // as Ctrl-C would, between two images
    };
    const BatchSummary s = runBatch(model, scan, gradcamSettings(true), out, observer, &cancel);
    EXPECT_TRUE(s.cancelled);
    EXPECT_EQ(s.done, 4);
    EXPECT_EQ(s.not_run, 26);
    // The summary on disk describes exactly the complete images.
    const CsvTable csv = readCsv(out / "results.csv");
    EXPECT_EQ(csv.rows.size(), 4u);
    const auto sj = nlohmann::json::parse(slurp(out / "summary.json"));
    EXPECT_TRUE(sj["cancelled"].get<bool>());
    EXPECT_EQ(sj["images"]["done"].get<int>(), 4);
    EXPECT_EQ(sj["all"]["methods"][0]["deletion_auc"]["n"].get<int>(), 4);
    int results = 0;
    for (const auto& e : fs::recursive_directory_iterator(out / "images"))
        results += e.path().filename() == "result.json";
    EXPECT_EQ(results, 4);
    // Reading the folder back gives the same tables.
    const BatchSummary read = readBatch(out);
    EXPECT_EQ(read.done, 4);
    EXPECT_NEAR(read.all.methods[0].insertion.mean, s.all.methods[0].insertion.mean, 1e-12);

    // Cancelled in the middle of an image: that image leaves nothing behind.
    std::atomic<bool> now{false};
    BatchObserver mid;
    mid.progress = [&](const BatchProgress& p) {
        if (p.done == 5 && p.image_fraction > 0) now = true;
    };
    const BatchSummary s2 = runBatch(model, scan, gradcamSettings(true), out, mid, &now);
    EXPECT_TRUE(s2.cancelled);
    EXPECT_EQ(s2.skipped, 4);
    EXPECT_EQ(s2.done, 5);
    results = 0;
    for (const auto& e : fs::recursive_directory_iterator(out / "images"))
        results += e.path().filename() == "result.json";
    EXPECT_EQ(results, 5);
    // Finishing it: the rest run, the first five are skipped.
    const BatchSummary s3 = runBatch(model, scan, gradcamSettings(true), out, {}, nullptr);
    EXPECT_FALSE(s3.cancelled);
    EXPECT_EQ(s3.skipped, 5);
    EXPECT_EQ(s3.done, 30);
}

TEST(BatchRun, TargetTrueNeedsClassFoldersAndExplainWritesNoMetrics) {
    TempDir tmp;
    Model& model = fashionModel();
    // A flat folder: no classes.
    const fs::path flat = tmp / "flat";
    fs::create_directories(flat);
    fs::copy_file(fashionFolder() / "Sneaker" / "00009.png", flat / "a.png");
    fs::copy_file(fashionFolder() / "Bag" / fs::directory_iterator(fashionFolder() / "Bag")->path().filename(),
                  flat / "b.png");
    const FolderScan scan = scanImageFolder(flat, {}, model.info().labels);
    EXPECT_FALSE(scan.labelled);
    const std::string e = errorOf([&] { runBatch(model, scan, gradcamSettings(false), tmp / "out", {}, nullptr); });
    EXPECT_NE(e.find("target 'true' needs the true class"), std::string::npos) << e;

    BatchSettings top1 = gradcamSettings(false);
    top1.target = "top1";
    const BatchSummary s = runBatch(model, scan, top1, tmp / "out", {}, nullptr);
    EXPECT_EQ(s.done, 2);
    EXPECT_FALSE(s.labelled);
    EXPECT_FALSE(s.has_metrics);
    EXPECT_TRUE(s.curves.empty());
    EXPECT_TRUE(std::isnan(s.accuracy));
    for (const auto& r : s.images) {
        EXPECT_EQ(r.target_index, r.predicted_index);
        EXPECT_NEAR(r.target_probability, r.predicted_probability, 1e-12);
    }
    EXPECT_EQ(s.images[0].predicted_label, "Sneaker");
    const CsvTable csv = readCsv(tmp / "out" / "results.csv");
    ASSERT_EQ(csv.rows.size(), 2u);
    EXPECT_EQ(csv.rows[0][csv.col("deletion_auc")], "");
    EXPECT_EQ(csv.rows[0][csv.col("correct")], "");

    // A fixed class for every image.
    BatchSettings bag = top1;
    bag.target = "Bag";
    const BatchSummary sb = runBatch(model, scan, bag, tmp / "out2", {}, nullptr);
    for (const auto& r : sb.images) EXPECT_EQ(r.target_index, 8);
}

TEST(BatchCli, FolderOptionsExitCodesAndFiles) {
    TempDir tmp;
    const std::string cli = MIRADA_CLI;
    const fs::path in = copyFolder(tmp);
    std::string output;
    // explain --folder: maps, no metrics; 3 of the folder's images in name order.
    const std::string explain = cli + " explain --model fashion-cnn --folder " + in.string() +
                                " --methods gradcam --max 3 --quiet --out " + (tmp / "ex").string();
    ASSERT_EQ(mirada::test::runCommand(explain, &output), 0) << output;
    EXPECT_NE(output.find("Accuracy"), std::string::npos) << output;
    EXPECT_NE(output.find("wrote " + (tmp / "ex" / "report.html").string()), std::string::npos) << output;
    EXPECT_EQ(readCsv(tmp / "ex" / "results.csv").rows.size(), 3u);
    EXPECT_FALSE(fs::exists(tmp / "ex" / "curves.csv"));  // explain measures nothing
    EXPECT_TRUE(fs::exists(tmp / "ex" / "images" / "Ankle_boot" / "00000" / "00000.gradcam.overlay.png"));
    // Again: all skipped, said so.
    ASSERT_EQ(mirada::test::runCommand(explain, &output), 0) << output;
    EXPECT_NE(output.find("0 images run"), std::string::npos) << output;
    EXPECT_NE(output.find("3 skipped (done before)"), std::string::npos) << output;

    // evaluate --folder with an unreadable image: the others finish, exit code 2 names the failure.
    fs::create_directories(in / "Bag");
    mirada::test::writeText(in / "Bag" / "00001-broken.png", "not a png");
    const std::string evaluate = cli + " evaluate --model fashion-cnn --folder " + in.string() +
                                 " --patterns '0000*.png' --methods gradcam --target true --set "
                                 "faithfulness.step_fraction=0.05 --quiet --out " +
                                 (tmp / "ev").string();
    EXPECT_EQ(mirada::test::runCommand(evaluate, &output), 2) << output;
    EXPECT_NE(output.find("1 of "), std::string::npos) << output;
    EXPECT_NE(output.find("could not be explained"), std::string::npos) << output;
    EXPECT_NE(output.find("00001-broken.png"), std::string::npos) << output;
    EXPECT_NE(output.find("deletion AUC"), std::string::npos) << output;
    EXPECT_TRUE(fs::exists(tmp / "ev" / "curves.csv"));

    // Bad input: named, exit code 1, nothing written.
    EXPECT_EQ(mirada::test::runCommand(cli + " evaluate --model fashion-cnn --folder " + (tmp / "nope").string() +
                                           " --out " + (tmp / "bad").string(),
                                       &output),
              1);
    EXPECT_NE(output.find("does not exist"), std::string::npos) << output;
    EXPECT_FALSE(fs::exists(tmp / "bad"));
    EXPECT_EQ(mirada::test::runCommand(cli + " explain --model fashion-cnn --folder " + in.string() +
                                           " --sample --out " + (tmp / "bad").string(),
                                       &output),
              1);
    EXPECT_NE(output.find("--sample needs --max N"), std::string::npos) << output;
    EXPECT_EQ(mirada::test::runCommand(cli + " explain --model fashion-cnn --folder " + in.string() + " --image " +
                                           (in / "Bag" / "00001-broken.png").string(),
                                       &output),
              1);
    EXPECT_NE(output.find("not both"), std::string::npos) << output;
}
