// `mirada-cli evaluate` end to end on the bundled fashion-cnn: the files it
// writes (explain's plus the curves CSV), the metrics in the report, the
// dataset table, bad values, and Ctrl-C.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <sstream>

#include "models/model_zoo.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {
std::string cli() { return std::string(MIRADA_CLI); }
const std::string kFashionSet = "/usr/share/datasets/fashion-mnist";
}  // namespace

TEST(EvaluateCli, WritesCurvesAndMetricsIntoTheReport) {
    ASSERT_TRUE(locateZooModel("fashion-cnn").found) << locateZooModel("fashion-cnn").message;
    TempDir out;
    std::string log;
    const int rc = runCommand(cli() + " evaluate --quiet --device cpu --model fashion-cnn --image " +
                                  samplePath("fashion-trouser.png") +
                                  " --methods gradcam,lime --set lime.samples=60 --set superpixels.count=12"
                                  " --step 1/28 --top-k 20 --sanity --set sanity.layers=2 --out " +
                                  out.path().string(),
                              &log);
    ASSERT_EQ(rc, 0) << log;
    for (const std::string f :
         {"fashion-trouser.gradcam.overlay.png", "fashion-trouser.lime.heatmap.npy", "fashion-trouser.comparison.png",
          "fashion-trouser.report.json", "fashion-trouser.metrics.csv"})
        EXPECT_TRUE(fs::exists(out / f)) << f;

    // Curves: header, then 29 points (0, 28, ..., 784 pixels) per curve for 2 methods + random.
    std::istringstream csv(slurp(out / "fashion-trouser.metrics.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "method,curve,step,fraction,score");
    std::map<std::string, int> rows;
    while (std::getline(csv, line)) rows[line.substr(0, line.find(',', line.find(',') + 1))]++;
    EXPECT_EQ(rows["gradcam,deletion"], 29);
    EXPECT_EQ(rows["lime,insertion"], 29);
    EXPECT_EQ(rows["random,deletion"], 29);

    const auto report = nlohmann::json::parse(slurp(out / "fashion-trouser.report.json"));
    const auto& m = report["extra"]["metrics"];
    EXPECT_EQ(m["curves_file"], "fashion-trouser.metrics.csv");
    for (const std::string method : {"gradcam", "lime"}) {
        const double d = m["faithfulness"]["methods"][method]["deletion_auc"].get<double>();
        const double i = m["faithfulness"]["methods"][method]["insertion_auc"].get<double>();
        EXPECT_GE(d, 0.0);
        EXPECT_LE(d, 1.0);
        EXPECT_GE(i, 0.0);
        EXPECT_LE(i, 1.0);
    }
    EXPECT_EQ(m["faithfulness"]["pixels_per_step"], 28);
    EXPECT_EQ(m["agreement"]["top_percent"], 20.0);
    EXPECT_EQ(m["agreement"]["pairs"].size(), 1u);
    EXPECT_EQ(m["sanity"]["layers"], (nlohmann::json{"fc", "block3.0"}));
    EXPECT_EQ(m["sanity"]["methods"]["gradcam"]["spearman"].size(), 2u);
    EXPECT_EQ(report["extra"]["sheet_lines"].size(), 2u);
    EXPECT_NE(report["extra"]["sheet_lines"][0][0].get<std::string>().find("deletion AUC"), std::string::npos);
    // The table on stdout.
    EXPECT_NE(log.find("insertion AUC"), std::string::npos) << log;
    EXPECT_NE(log.find("random"), std::string::npos) << log;
}

TEST(EvaluateCli, BadValuesGiveClearErrorsAndNoFiles) {
    TempDir out;
    const std::string base =
        cli() + " evaluate --quiet --device cpu --model fashion-cnn --methods gradcam --out " + out.path().string();
    const std::string image = " --image " + samplePath("fashion-bag.png");
    expectCliErrors(base, {
                              {image + " --step 0", "--step '0'"},
                              {image + " --step 2", "--step '2'"},
                              {image + " --step abc", "--step 'abc'"},
                              {image + " --step 1/0", "--step '1/0'"},
                              {image + " --top-k 200", "agreement.top_percent"},
                              {image + " --top-k ten", "agreement.top_percent"},
                              {image + " --set faithfulness.blur_kernel=4", "blur_kernel = 4"},
                              {image + " --set faithfulness.fill=purple", "faithfulness.fill"},
                              {image + " --set sanity.compare=maybe", "sanity.compare"},
                              {image + " --set metrics.x=1", "'metrics' is not one of"},
                              {"", "--image FILE, --folder DIR or --dataset DIR"},
                              {image + " --dataset " + kFashionSet, "not several"},
                              {image + " --folder " + kFashionSet, "not several"},
                              {" --dataset " + kFashionSet + " --count 0", "--count 0"},
                              {" --dataset " + kFashionSet + " --first 9999 --count 5", "holds 10000 items"},
                              {" --dataset /nonexistent/dir", "/nonexistent/dir"},
                          });
    EXPECT_TRUE(fs::is_empty(out.path()));
}

TEST(EvaluateCli, DatasetModePrintsTheMeanTable) {
    std::string log;
    const int rc = runCommand(cli() + " evaluate --quiet --device cpu --model fashion-cnn --dataset " + kFashionSet +
                                  " --count 2 --methods gradcam,cam --step 1/14 --sanity",
                              &log);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("Faithfulness of 2 images (items 0-1"), std::string::npos) << log;
    EXPECT_NE(log.find("| Grad-CAM |"), std::string::npos) << log;
    EXPECT_NE(log.find("| CAM |"), std::string::npos) << log;
    EXPECT_NE(log.find("| random ranking |"), std::string::npos) << log;
    EXPECT_NE(log.find("| 1 (fc) |"), std::string::npos) << log;
    EXPECT_NE(log.find("| 6 (... block1.0) |"), std::string::npos) << log;
}

TEST(EvaluateCli, InterruptWritesNothing) {
    TempDir out;
    const fs::path err = out / "stderr.txt";
    const fs::path dir = out / "run";
    // Start a long run, wait for its first progress line, then Ctrl-C it.
    const std::string cmd = "sh -c '" + cli() + " evaluate --device cpu --model fashion-cnn --image " +
                            samplePath("fashion-bag.png") + " --methods lime --set lime.samples=100000 --out " +
                            dir.string() + " 2>" + err.string() +
                            " & pid=$!; i=0; while [ $i -lt 400 ] && ! grep -q lime " + err.string() +
                            "; do sleep 0.05; i=$((i+1)); done; kill -INT $pid; wait $pid; echo rc=$?'";
    std::string log;
    runCommand(cmd, &log);
    EXPECT_NE(log.find("rc=130"), std::string::npos) << log;
    EXPECT_NE(slurp(err).find("cancelled"), std::string::npos) << slurp(err);
    EXPECT_FALSE(fs::exists(dir)) << "files were written";
}
