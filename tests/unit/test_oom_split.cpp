// Out-of-memory during a batch: the batch is split and retried, results unchanged.
#include <gtest/gtest.h>

#include "explain/explainer.hpp"
#include "metrics_test_models.hpp"
#include "models/oom_split.hpp"

namespace mirada {
namespace {

// The region model, but any batch larger than `limit` "runs out of memory".
class SmallMemoryModel : public test::RegionFractionModel {
public:
    explicit SmallMemoryModel(int64_t limit) : limit_(limit) {}
    torch::Tensor forward(const torch::Tensor& batch) override {
        ++calls;
        if (batch.size(0) > limit_)
            throw c10::OutOfMemoryError({__func__, __FILE__, static_cast<uint32_t>(__LINE__)},
                                        "CUDA out of memory. Tried to allocate 2.00 GiB (test)");
        return RegionFractionModel::forward(batch);
    }
    int calls = 0;

private:
    int64_t limit_;
};

TEST(OomSplit, SplitsTheBatchAndGivesTheSameOutputs) {
    SmallMemoryModel small(3);
    test::RegionFractionModel plain;
    const auto batch = torch::rand({10, 1, 8, 8});
    int splits = 0;
    const auto out = forwardSplittingOnOom(small, batch, &splits);
    EXPECT_TRUE(torch::allclose(out, plain.forward(batch)));
    EXPECT_EQ(out.size(0), 10);
    EXPECT_GT(splits, 0);
    EXPECT_GT(small.calls, 4);  // the refused batches plus the halves that fit
}

TEST(OomSplit, NoSplitWhenTheBatchFits) {
    SmallMemoryModel small(64);
    int splits = 0;
    forwardSplittingOnOom(small, torch::rand({10, 1, 8, 8}), &splits);
    EXPECT_EQ(splits, 0);
    EXPECT_EQ(small.calls, 1);
}

TEST(OomSplit, ASingleImageThatDoesNotFitIsAClearError) {
    SmallMemoryModel none(0);
    try {
        forwardSplittingOnOom(none, torch::rand({4, 1, 8, 8}));
        FAIL() << "expected mirada::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("region-fraction"), std::string::npos) << e.what();
    }
}

TEST(OomSplit, LimeFinishesWithTheSameMapWhenBatchesDoNotFit) {
    SmallMemoryModel small(5);
    test::RegionFractionModel plain;
    auto explain = [](Model& model) {
        auto lime = makeExplainer("lime");
        ExplainRequest req;
        req.model = &model;
        req.image = test::RegionFractionModel().regionImage(8);
        req.seed = 3;
        req.batch_size = 16;
        req.params = lime->defaultParams();
        req.params.set("samples", int64_t(120));
        req.superpixels = superpixelParams();
        req.superpixels.setFromString("algorithm", "grid");
        req.superpixels.set("count", int64_t(4));
        return lime->explain(req, {});
    };
    const Explanation a = explain(small);
    const Explanation b = explain(plain);
    ASSERT_EQ(a.heatmap.size(), b.heatmap.size());
    EXPECT_LT(cv::norm(a.heatmap, b.heatmap, cv::NORM_INF), 1e-6);
    EXPECT_GT(small.calls, 120 / 16 + 1);  // batches of 16 were refused and split
}

}  // namespace
}  // namespace mirada
