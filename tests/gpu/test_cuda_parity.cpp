// GPU-labelled tests (built with -DMIRADA_BUILD_GPU_TESTS=ON, run by
// scripts/gpu-check.sh on a machine with a CUDA LibTorch): every method's map
// on CUDA equals the CPU map for the same seed, within the stated tolerance.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"

namespace mirada {
namespace {

const std::string kSample = std::string(MIRADA_SOURCE_DIR) + "/resources/samples/fashion-bag.png";

LoadedModel load(DeviceChoice device) {
    ModelLoadOptions o;
    o.device = device;
    return loadModel("fashion-cnn", o);
}

Explanation explainOn(Model& model, const std::string& method) {
    auto ex = makeExplainer(method);
    ExplainRequest req;
    req.model = &model;
    req.image = loadImage(kSample).rgb;
    req.seed = 11;
    req.batch_size = 64;
    req.params = ex->defaultParams();
    if (method == "lime" || method == "kernelshap") req.params.set("samples", int64_t(1000));
    req.superpixels = superpixelParams();
    return ex->explain(req, {});
}

double correlation(const cv::Mat& a, const cv::Mat& b) {
    cv::Mat fa, fb;
    a.convertTo(fa, CV_64F);
    b.convertTo(fb, CV_64F);
    const cv::Scalar ma = cv::mean(fa), mb = cv::mean(fb);
    fa -= ma[0];
    fb -= mb[0];
    const double den = std::sqrt(fa.dot(fa) * fb.dot(fb));
    return den > 0 ? fa.dot(fb) / den : 0.0;
}

class CudaParity : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        ASSERT_TRUE(torch::cuda::is_available())
            << "no CUDA device is visible to LibTorch: run the GPU tests on a machine with a CUDA LibTorch "
               "(scripts/gpu-check.sh)";
    }
};

// Grad-CAM family: correlation >= 0.999; LIME / KernelSHAP (the same coalitions,
// drawn on the CPU from the seed): every superpixel's value within 1e-3.
TEST_P(CudaParity, MapOnCudaEqualsMapOnCpu) {
    auto cpu = load(DeviceChoice::Cpu);
    auto gpu = load(DeviceChoice::Cuda);
    ASSERT_TRUE(gpu.model->device().is_cuda());
    const Explanation a = explainOn(*cpu.model, GetParam());
    const Explanation b = explainOn(*gpu.model, GetParam());
    ASSERT_EQ(a.heatmap.size(), b.heatmap.size());
    if (GetParam() == "lime" || GetParam() == "kernelshap") {
        EXPECT_LE(cv::norm(a.heatmap, b.heatmap, cv::NORM_INF), 1e-3);
    } else {
        EXPECT_GE(correlation(a.heatmap, b.heatmap), 0.999);
    }
    EXPECT_EQ(a.target_index, b.target_index);
}

INSTANTIATE_TEST_SUITE_P(AllMethods, CudaParity,
                         ::testing::Values("gradcam", "gradcampp", "cam", "lime", "kernelshap"));

}  // namespace
}  // namespace mirada
