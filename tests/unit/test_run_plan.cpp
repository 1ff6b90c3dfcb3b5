// Issue 13: one run plan in core (run/run_plan.hpp), used by the GUI, `explain`
// and `evaluate`: the methods in order with the shared target, seed and batch
// size, then the metrics on the finished maps; a failed method is reported and
// the run goes on (OnFailure::Continue) or the failure is thrown (Stop);
// cancelling reports the steps left as cancelled.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "models/model_zoo.hpp"
#include "run/run_plan.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using mirada::test::samplePath;

namespace {

Model& fashion() {
    static std::unique_ptr<Model> model = [] {
        ModelLoadOptions opt;
        opt.device = DeviceChoice::Cpu;
        return loadModel("fashion-cnn", opt).model;
    }();
    return *model;
}

std::string stateText(StepState s) {
    switch (s) {
        case StepState::Running: return "running";
        case StepState::Done: return "done";
        case StepState::Failed: return "failed";
        case StepState::Cancelled: return "cancelled";
    }
    return "?";
}

struct Recorder {
    std::vector<std::string> events;  // "0 running", "0 done", "-1 running", ...
    std::vector<std::string> messages;
    RunObserver observer() {
        RunObserver o;
        o.step = [this](const StepEvent& e) {
            events.push_back(std::to_string(e.step) + " " + stateText(e.state));
            if (!e.message.empty()) messages.push_back(e.message);
            EXPECT_NE(e.results, nullptr);
            if (e.state == StepState::Done && e.step >= 0) EXPECT_NE(e.explanation, nullptr);
        };
        return o;
    }
};

RunPlan smallPlan() {
    RunPlan plan;
    plan.methods = {{"gradcam", {}}, {"saliency", {}}};
    plan.seed = 5;
    plan.batch_size = 8;
    plan.metrics = true;
    plan.faithfulness = faithfulnessParams();
    plan.faithfulness.set("random_repeats", int64_t{1});
    plan.agreement = agreementParams();
    return plan;
}

}  // namespace

TEST(RunPlan, RunsTheMethodsInOrderThenTheMetricsWithTheSameResultsAsTheMethodsAlone) {
    const cv::Mat image = loadImage(samplePath("fashion-sneaker.png")).rgb;
    Recorder rec;
    const RunPlan plan = smallPlan();
    const RunResults r = runPlan(fashion(), image, plan, rec.observer(), nullptr, OnFailure::Stop);
    const std::vector<std::string> expected = {"0 running", "0 done", "1 running", "1 done", "-1 running", "-1 done"};
    EXPECT_EQ(rec.events, expected);
    ASSERT_EQ(r.explanations.size(), 2u);
    EXPECT_EQ(r.steps, (std::vector<int>{0, 1}));
    EXPECT_EQ(r.batch_size, 8);
    ASSERT_TRUE(r.has_metrics);
    EXPECT_FALSE(r.has_sanity);
    ASSERT_EQ(r.faithfulness.curves.size(), 2u);
    EXPECT_EQ(r.agreement.methods.size(), 2u);

    // The same maps as each method called on its own with the plan's target, seed and batch size.
    for (size_t i = 0; i < 2; ++i) {
        ExplainRequest req;
        req.model = &fashion();
        req.image = image;
        req.target_index = r.target_index;
        req.seed = plan.seed;
        req.batch_size = plan.batch_size;
        const Explanation alone = makeExplainer(plan.methods[i].method)->explain(req, {});
        EXPECT_EQ(alone.target_index, r.explanations[i].target_index);
        EXPECT_EQ(cv::norm(alone.heatmap, r.explanations[i].heatmap, cv::NORM_INF), 0.0) << plan.methods[i].method;
    }
}

TEST(RunPlan, AFailedMethodIsReportedAndTheOthersStillRunOrTheFailureIsThrown) {
    const cv::Mat image = loadImage(samplePath("fashion-sneaker.png")).rgb;
    RunPlan plan = smallPlan();
    plan.methods = {{"nosuchmethod", {}}, {"gradcam", {}}};
    Recorder rec;
    const RunResults r = runPlan(fashion(), image, plan, rec.observer(), nullptr, OnFailure::Continue);
    const std::vector<std::string> expected = {"0 running", "0 failed", "1 running", "1 done", "-1 running", "-1 done"};
    EXPECT_EQ(rec.events, expected);
    ASSERT_FALSE(rec.messages.empty());
    EXPECT_NE(rec.messages.front().find("nosuchmethod"), std::string::npos) << rec.messages.front();
    ASSERT_EQ(r.explanations.size(), 1u);
    EXPECT_EQ(r.steps, std::vector<int>{1});
    EXPECT_EQ(r.faithfulness.curves.size(), 1u) << "the metrics measure the finished map only";

    Recorder stop;
    EXPECT_THROW(runPlan(fashion(), image, plan, stop.observer(), nullptr, OnFailure::Stop), Error);
    EXPECT_EQ(stop.events, (std::vector<std::string>{"0 running", "0 failed"}));

    // Nothing finished: nothing to measure, said so.
    plan.methods = {{"nosuchmethod", {}}};
    Recorder none;
    const RunResults empty = runPlan(fashion(), image, plan, none.observer(), nullptr, OnFailure::Continue);
    EXPECT_TRUE(empty.explanations.empty());
    EXPECT_FALSE(empty.has_metrics);
    EXPECT_EQ(none.events.back(), "-1 failed");
}

TEST(RunPlan, CancellingReportsEveryStepLeftAsCancelled) {
    const cv::Mat image = loadImage(samplePath("fashion-sneaker.png")).rgb;
    RunPlan plan = smallPlan();
    plan.sanity = true;
    std::atomic<bool> cancel{true};
    Recorder rec;
    const RunResults r = runPlan(fashion(), image, plan, rec.observer(), &cancel, OnFailure::Continue);
    const std::vector<std::string> expected = {"0 cancelled", "1 cancelled", "-1 cancelled", "-2 cancelled"};
    EXPECT_EQ(rec.events, expected);
    EXPECT_TRUE(r.explanations.empty());
    Recorder stop;
    EXPECT_THROW(runPlan(fashion(), image, plan, stop.observer(), &cancel, OnFailure::Stop), Cancelled);
    EXPECT_EQ(stop.events, std::vector<std::string>{"0 cancelled"});
}
