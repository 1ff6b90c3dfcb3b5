#include "metrics/agreement.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "metrics/input_grid.hpp"

namespace mirada {

ParamSet agreementParams() {
    const AgreementSettings d;
    return ParamSet("agreement", {floatParam("top_percent", d.top_percent, 0.01, 100.0,
                                             "k of the top-k% intersection-over-union between two maps", "%")});
}

AgreementSettings agreementSettingsFrom(const ParamSet& given) {
    const ParamSet p = given.specs().empty() ? agreementParams() : given;
    if (p.group() != "agreement") throw Error("the settings given are for '" + p.group() + "', not 'agreement'");
    AgreementSettings s;
    s.top_percent = p.getFloat("top_percent");
    return s;
}

std::vector<double> averageRanks(const std::vector<double>& v) {
    const size_t n = v.size();
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> rank(n);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[idx[j]] == v[idx[i]]) ++j;
        const double avg = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // ranks i+1 .. j
        for (size_t k = i; k < j; ++k) rank[idx[k]] = avg;
        i = j;
    }
    return rank;
}

namespace {

void checkPair(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
    if (a.type() != CV_32F || b.type() != CV_32F || a.size() != b.size())
        throw Error("comparing maps of " + std::to_string(a.cols) + "x" + std::to_string(a.rows) + " and " +
                    std::to_string(b.cols) + "x" + std::to_string(b.rows) +
                    ": both must be float maps of the same size");
    if (!mask.empty() && (mask.type() != CV_8U || mask.size() != a.size()))
        throw Error("comparing maps: the mask must be an 8-bit map of the maps' size");
}

std::vector<double> valuesOf(const cv::Mat& m, const cv::Mat& mask) {
    std::vector<double> out;
    out.reserve(m.total());
    for (int y = 0; y < m.rows; ++y)
        for (int x = 0; x < m.cols; ++x)
            if (mask.empty() || mask.at<uint8_t>(y, x)) {
                const float f = m.at<float>(y, x);
                out.push_back(std::isfinite(f) ? f : 0.0);  // heatmaps are never NaN; be safe anyway
            }
    return out;
}

}  // namespace

double spearman(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
    checkPair(a, b, mask);
    const auto va = valuesOf(a, mask), vb = valuesOf(b, mask);
    if (va.empty()) throw Error("comparing maps: no pixel to compare");
    if (va == vb) return 1.0;
    const auto ra = averageRanks(va), rb = averageRanks(vb);
    const double n = static_cast<double>(ra.size());
    const double mean = (n + 1) / 2;  // of ranks 1..n, ties averaged or not
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < ra.size(); ++i) {
        const double da = ra[i] - mean, db = rb[i] - mean;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    if (saa <= 0 || sbb <= 0) return 0.0;  // a constant map: no order to correlate
    return std::clamp(sab / std::sqrt(saa * sbb), -1.0, 1.0);
}

cv::Mat topFractionMask(const cv::Mat& map, double fraction, const cv::Mat& mask) {
    checkPair(map, map, mask);
    if (!(fraction > 0 && fraction <= 1))
        throw Error("top fraction " + std::to_string(fraction) + " is out of range; use a value in (0, 1]");
    std::vector<int> idx;
    for (int i = 0; i < static_cast<int>(map.total()); ++i)
        if (mask.empty() || mask.at<uint8_t>(i / map.cols, i % map.cols)) idx.push_back(i);
    const size_t k = std::min(idx.size(), static_cast<size_t>(std::ceil(fraction * idx.size() - 1e-9)));
    auto value = [&](int i) {
        const float f = map.at<float>(i / map.cols, i % map.cols);
        return std::isfinite(f) ? f : 0.0f;
    };
    std::stable_sort(idx.begin(), idx.end(), [&](int x, int y) { return value(x) > value(y); });
    cv::Mat out = cv::Mat::zeros(map.size(), CV_8U);
    for (size_t i = 0; i < k; ++i) out.at<uint8_t>(idx[i] / map.cols, idx[i] % map.cols) = 1;
    return out;
}

double topFractionIoU(const cv::Mat& a, const cv::Mat& b, double fraction, const cv::Mat& mask) {
    checkPair(a, b, mask);
    const cv::Mat ta = topFractionMask(a, fraction, mask), tb = topFractionMask(b, fraction, mask);
    const int inter = cv::countNonZero(ta & tb), uni = cv::countNonZero(ta | tb);
    return uni == 0 ? 1.0 : static_cast<double>(inter) / uni;
}

AgreementMatrix agreementMatrix(const std::vector<std::string>& names, const std::vector<cv::Mat>& maps,
                                const AgreementSettings& settings, const cv::Mat& mask) {
    if (names.size() != maps.size()) throw Error("agreement: as many names as maps are needed");
    if (!(settings.top_percent > 0 && settings.top_percent <= 100))
        throw Error("agreement.top_percent = " + std::to_string(settings.top_percent) +
                    " is out of range; use a percentage in (0, 100]");
    AgreementMatrix m;
    m.methods = names;
    m.top_percent = settings.top_percent;
    const size_t n = maps.size();
    m.spearman.assign(n, std::vector<double>(n, 1.0));
    m.top_iou.assign(n, std::vector<double>(n, 1.0));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j) {
            m.spearman[i][j] = m.spearman[j][i] = spearman(maps[i], maps[j], mask);
            m.top_iou[i][j] = m.top_iou[j][i] = topFractionIoU(maps[i], maps[j], settings.top_percent / 100.0, mask);
        }
    return m;
}

AgreementMatrix agreementMatrix(const std::vector<Explanation>& explanations, const InputGeometry& geometry,
                                const AgreementSettings& settings) {
    std::vector<std::string> names;
    std::vector<cv::Mat> maps;
    cv::Mat inside;
    for (const auto& e : explanations) {
        names.push_back(e.method);
        maps.push_back(heatmapToInputGrid(e.heatmap, geometry, 0.0f, &inside));
    }
    return agreementMatrix(names, maps, settings, inside);
}

nlohmann::json toJson(const AgreementMatrix& m) {
    nlohmann::json j;
    j["top_percent"] = m.top_percent;
    j["methods"] = m.methods;
    j["spearman"] = m.spearman;
    j["top_iou"] = m.top_iou;
    j["pairs"] = nlohmann::json::array();
    for (size_t i = 0; i < m.methods.size(); ++i)
        for (size_t k = i + 1; k < m.methods.size(); ++k)
            j["pairs"].push_back({{"a", m.methods[i]},
                                  {"b", m.methods[k]},
                                  {"spearman", m.spearman[i][k]},
                                  {"top_iou", m.top_iou[i][k]}});
    return j;
}

}  // namespace mirada
