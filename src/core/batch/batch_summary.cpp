// The per-image results of a batch as JSON, the aggregated tables, and the
// summary files (CSV, JSON, Markdown).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "batch/batch.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/sha256.hpp"

namespace fs = std::filesystem;

namespace mirada {
namespace {

constexpr int kCurvePoints = 101;  // mean curves on 0, 0.01, ..., 1

// JSON has no NaN: absent values are null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double numFrom(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? NAN : it->get<double>();
}

nlohmann::json curveJson(const Curve& c) { return {{"fraction", c.fraction}, {"score", c.score}, {"auc", num(c.auc)}}; }
Curve curveFrom(const nlohmann::json& j) {
    Curve c;
    if (j.is_null()) return c;
    c.fraction = j.value("fraction", std::vector<double>{});
    c.score = j.value("score", std::vector<double>{});
    c.auc = numFrom(j, "auc");
    return c;
}

// The curve's score at fractions 0, 0.01, ..., 1 (linear between its points; its ends beyond them).
std::vector<double> resample(const Curve& c) {
    std::vector<double> out(kCurvePoints, NAN);
    if (c.fraction.empty() || c.fraction.size() != c.score.size()) return out;
    size_t k = 0;
    for (int i = 0; i < kCurvePoints; ++i) {
        const double x = i / double(kCurvePoints - 1);
        while (k + 1 < c.fraction.size() && c.fraction[k + 1] < x) ++k;
        if (x <= c.fraction.front()) {
            out[i] = c.score.front();
        } else if (k + 1 >= c.fraction.size()) {
            out[i] = c.score.back();
        } else {
            const double x0 = c.fraction[k], x1 = c.fraction[k + 1];
            const double t = x1 > x0 ? (x - x0) / (x1 - x0) : 0;
            out[i] = c.score[k] + t * (c.score[k + 1] - c.score[k]);
        }
    }
    return out;
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string csvNum(double v, int digits = 6) {
    if (!std::isfinite(v)) return "";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string fmt(double v, int digits = 3) {
    if (!std::isfinite(v)) return "–";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string meanSd(const Spread& s, int digits = 3) {
    if (s.n == 0) return "–";
    return fmt(s.mean, digits) + " ± " + fmt(s.sd, digits) + " (" + std::to_string(s.n) + ")";
}

nlohmann::json spreadJson(const Spread& s) {
    return {{"n", s.n},          {"mean", num(s.mean)}, {"sd", num(s.sd)}, {"median", num(s.median)},
            {"min", num(s.min)}, {"max", num(s.max)}};
}

nlohmann::json groupJson(const GroupAggregate& g) {
    nlohmann::json j;
    j["name"] = g.name;
    j["images"] = g.images;
    j["random_deletion_auc"] = spreadJson(g.random_deletion);
    j["random_insertion_auc"] = spreadJson(g.random_insertion);
    j["target_probability"] = spreadJson(g.target_probability);
    j["methods"] = nlohmann::json::array();
    for (const auto& m : g.methods)
        j["methods"].push_back({{"method", m.method},
                                {"title", m.title},
                                {"deletion_auc", spreadJson(m.deletion)},
                                {"insertion_auc", spreadJson(m.insertion)},
                                {"seconds", spreadJson(m.seconds)},
                                {"beats_random_deletion", m.beats_random_deletion},
                                {"beats_random_insertion", m.beats_random_insertion},
                                {"beats_random_both", m.beats_random_both},
                                {"failed", m.failed}});
    return j;
}

// Aggregates the methods over the done images of `images` selected by `in`.
template <class Pred>
GroupAggregate aggregate(const std::string& name, const std::vector<BatchImageResult>& images,
                         const std::vector<std::string>& methods, const std::vector<std::string>& titles, Pred in) {
    GroupAggregate g;
    g.name = name;
    std::vector<double> rd, ri, tp;
    std::vector<std::vector<double>> del(methods.size()), ins(methods.size()), sec(methods.size());
    g.methods.resize(methods.size());
    for (size_t m = 0; m < methods.size(); ++m) {
        g.methods[m].method = methods[m];
        g.methods[m].title = titles[m];
    }
    for (const auto& r : images) {
        if (r.status != "done" || !in(r)) continue;
        ++g.images;
        rd.push_back(r.random_deletion_auc);
        ri.push_back(r.random_insertion_auc);
        tp.push_back(r.target_probability);
        for (size_t m = 0; m < methods.size(); ++m) {
            auto it = std::find_if(r.methods.begin(), r.methods.end(),
                                   [&](const BatchMethodResult& x) { return x.method == methods[m]; });
            if (it == r.methods.end()) continue;
            if (!it->ok) {
                g.methods[m].failed++;
                continue;
            }
            sec[m].push_back(it->seconds);
            if (!it->has_metrics) continue;
            del[m].push_back(it->deletion_auc);
            ins[m].push_back(it->insertion_auc);
            const bool d = it->deletion_auc<r.random_deletion_auc, i = it->insertion_auc> r.random_insertion_auc;
            g.methods[m].beats_random_deletion += d;
            g.methods[m].beats_random_insertion += i;
            g.methods[m].beats_random_both += d && i;
        }
    }
    g.random_deletion = spreadOf(rd);
    g.random_insertion = spreadOf(ri);
    g.target_probability = spreadOf(tp);
    for (size_t m = 0; m < methods.size(); ++m) {
        g.methods[m].deletion = spreadOf(del[m]);
        g.methods[m].insertion = spreadOf(ins[m]);
        g.methods[m].seconds = spreadOf(sec[m]);
    }
    return g;
}

}  // namespace

// ---------------------------------------------------------------- settings

nlohmann::json batchSettingsJson(const BatchSettings& s, const ModelInfo& model) {
    nlohmann::json j;
    j["model"] = {{"name", model.name}, {"sha256", model.weights_sha256}};
    j["target"] = s.target;
    nlohmann::json methods = nlohmann::json::array();
    for (const auto& m : s.plan.methods) methods.push_back({{"method", m.method}, {"settings", m.params.toJson()}});
    j["methods"] = methods;
    j["superpixels"] = s.plan.superpixels.toJson();
    j["perturbation"] = s.plan.perturbation.toJson();
    j["seed"] = s.plan.seed;
    j["precision"] = toString(s.plan.precision);
    j["batch_size"] = s.plan.batch_size;
    j["metrics"] = s.plan.metrics;
    if (s.plan.metrics) {
        j["faithfulness"] = s.plan.faithfulness.toJson();
        j["agreement"] = s.plan.agreement.toJson();
    }
    j["overlay"] = {{"colormap", s.overlay.colormap},
                    {"opacity", s.overlay.opacity},
                    {"range", s.overlay.range},
                    {"clip_percentile", s.overlay.clip_percentile}};
    j["image_files"] = s.image_files;
    return j;
}

std::string batchSettingsKey(const BatchSettings& s, const ModelInfo& model) {
    const std::string text = batchSettingsJson(s, model).dump();
    return sha256Hex(text.data(), text.size());
}

// ---------------------------------------------------------------- per image

nlohmann::json toJson(const BatchImageResult& r) {
    nlohmann::json j;
    j["id"] = r.id;
    j["file"] = r.file;
    j["folder"] = r.folder;
    j["status"] = r.status;
    if (!r.error.empty()) j["error"] = r.error;
    j["key"] = r.key;
    j["image_sha256"] = r.image_sha256;
    j["file_size"] = r.file_size;
    j["file_mtime"] = r.file_mtime;
    j["width"] = r.width;
    j["height"] = r.height;
    j["true"] = {{"index", r.true_index}, {"label", r.true_label}};
    j["predicted"] = {
        {"index", r.predicted_index}, {"label", r.predicted_label}, {"probability", num(r.predicted_probability)}};
    j["target"] = {{"index", r.target_index}, {"label", r.target_label}, {"probability", num(r.target_probability)}};
    j["has_metrics"] = r.has_metrics;
    if (r.has_metrics)
        j["random"] = {{"deletion_auc", num(r.random_deletion_auc)},
                       {"insertion_auc", num(r.random_insertion_auc)},
                       {"deletion", curveJson(r.random_deletion)},
                       {"insertion", curveJson(r.random_insertion)}};
    j["seconds"] = r.seconds;
    j["input_file"] = r.input_file;
    j["methods"] = nlohmann::json::array();
    for (const auto& m : r.methods) {
        nlohmann::json mj = {{"method", m.method},
                             {"title", m.title},
                             {"ok", m.ok},
                             {"seconds", m.seconds},
                             {"signed", m.signed_map},
                             {"has_metrics", m.has_metrics},
                             {"numbers", m.numbers},
                             {"flags", m.flags},
                             {"warnings", m.warnings},
                             {"overlay_file", m.overlay_file}};
        if (!m.error.empty()) mj["error"] = m.error;
        if (m.has_metrics) {
            mj["deletion_auc"] = num(m.deletion_auc);
            mj["insertion_auc"] = num(m.insertion_auc);
            mj["deletion"] = curveJson(m.deletion);
            mj["insertion"] = curveJson(m.insertion);
        }
        j["methods"].push_back(mj);
    }
    return j;
}

BatchImageResult batchImageResultFromJson(const nlohmann::json& j) {
    try {
        BatchImageResult r;
        r.id = j.at("id").get<std::string>();
        r.file = j.at("file").get<std::string>();
        r.folder = j.value("folder", "");
        r.status = j.at("status").get<std::string>();
        r.error = j.value("error", "");
        r.key = j.value("key", "");
        r.image_sha256 = j.value("image_sha256", "");
        r.file_size = j.value("file_size", uintmax_t{0});
        r.file_mtime = j.value("file_mtime", int64_t{0});
        r.width = j.value("width", 0);
        r.height = j.value("height", 0);
        r.true_index = j.at("true").value("index", -1);
        r.true_label = j.at("true").value("label", "");
        r.predicted_index = j.at("predicted").value("index", -1);
        r.predicted_label = j.at("predicted").value("label", "");
        r.predicted_probability = numFrom(j.at("predicted"), "probability");
        r.target_index = j.at("target").value("index", -1);
        r.target_label = j.at("target").value("label", "");
        r.target_probability = numFrom(j.at("target"), "probability");
        r.has_metrics = j.value("has_metrics", false);
        if (r.has_metrics) {
            const auto& rnd = j.at("random");
            r.random_deletion_auc = numFrom(rnd, "deletion_auc");
            r.random_insertion_auc = numFrom(rnd, "insertion_auc");
            r.random_deletion = curveFrom(rnd.value("deletion", nlohmann::json()));
            r.random_insertion = curveFrom(rnd.value("insertion", nlohmann::json()));
        }
        r.seconds = j.value("seconds", 0.0);
        r.input_file = j.value("input_file", "");
        for (const auto& mj : j.at("methods")) {
            BatchMethodResult m;
            m.method = mj.at("method").get<std::string>();
            m.title = mj.value("title", m.method);
            m.ok = mj.value("ok", false);
            m.error = mj.value("error", "");
            m.seconds = mj.value("seconds", 0.0);
            m.signed_map = mj.value("signed", false);
            m.has_metrics = mj.value("has_metrics", false);
            m.numbers = mj.value("numbers", nlohmann::json::object());
            m.flags = mj.value("flags", std::vector<std::string>{});
            m.warnings = mj.value("warnings", std::vector<std::string>{});
            m.overlay_file = mj.value("overlay_file", "");
            if (m.has_metrics) {
                m.deletion_auc = numFrom(mj, "deletion_auc");
                m.insertion_auc = numFrom(mj, "insertion_auc");
                m.deletion = curveFrom(mj.value("deletion", nlohmann::json()));
                m.insertion = curveFrom(mj.value("insertion", nlohmann::json()));
            }
            r.methods.push_back(std::move(m));
        }
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("a batch result is malformed (") + e.what() + ")");
    }
}

// ---------------------------------------------------------------- aggregation

Spread spreadOf(std::vector<double> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
    Spread s;
    s.n = static_cast<int>(v.size());
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / s.n;
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = s.n > 1 ? std::sqrt(ss / (s.n - 1)) : 0.0;
    s.min = v.front();
    s.max = v.back();
    s.median = s.n % 2 ? v[s.n / 2] : 0.5 * (v[s.n / 2 - 1] + v[s.n / 2]);
    return s;
}

BatchSummaryBuilder::BatchSummaryBuilder(std::vector<std::string> methods, std::vector<std::string> titles,
                                         std::vector<std::string> modelLabels)
    : labels_(std::move(modelLabels)) {
    summary_.methods = std::move(methods);
    summary_.titles = std::move(titles);
    const size_t n = summary_.methods.size() + 1;  // + random
    del_sum_.assign(n, std::vector<double>(kCurvePoints, 0.0));
    ins_sum_.assign(n, std::vector<double>(kCurvePoints, 0.0));
    curve_n_.assign(n, 0);
}

void BatchSummaryBuilder::add(BatchImageResult r) {
    if (r.status == "done" && r.has_metrics) {
        auto addCurves = [&](size_t slot, Curve& d, Curve& i) {
            const auto dr = resample(d), ir = resample(i);
            if (!std::isfinite(dr[0]) || !std::isfinite(ir[0])) return;
            for (int k = 0; k < kCurvePoints; ++k) {
                del_sum_[slot][k] += dr[k];
                ins_sum_[slot][k] += ir[k];
            }
            curve_n_[slot]++;
        };
        for (auto& m : r.methods) {
            const auto it = std::find(summary_.methods.begin(), summary_.methods.end(), m.method);
            if (it != summary_.methods.end() && m.ok && m.has_metrics)
                addCurves(static_cast<size_t>(it - summary_.methods.begin()), m.deletion, m.insertion);
        }
        addCurves(summary_.methods.size(), r.random_deletion, r.random_insertion);
    }
    // The tables need the AUCs only: the curves go.
    for (auto& m : r.methods) m.deletion = m.insertion = Curve{};
    r.random_deletion = r.random_insertion = Curve{};
    summary_.images.push_back(std::move(r));
}

BatchSummary BatchSummaryBuilder::finish() {
    BatchSummary& s = summary_;
    std::stable_sort(s.images.begin(), s.images.end(),
                     [](const BatchImageResult& a, const BatchImageResult& b) { return a.id < b.id; });
    const auto& images = s.images;
    s.done = s.failed = 0;
    s.has_metrics = false;
    s.labelled_images = s.correct_images = 0;
    for (const auto& r : images) {
        if (r.status == "done") {
            ++s.done;
            s.has_metrics = s.has_metrics || r.has_metrics;
            if (r.labelled()) {
                ++s.labelled_images;
                s.correct_images += r.correct();
            }
        } else {
            ++s.failed;
        }
    }
    s.labelled = s.labelled_images > 0;
    s.accuracy = s.labelled ? double(s.correct_images) / s.labelled_images : NAN;
    const auto& M = s.methods;
    const auto& T = s.titles;
    s.all = aggregate("all images", images, M, T, [](const BatchImageResult&) { return true; });
    s.per_class.clear();
    // Per class: the true class when known, else the predicted one.
    std::vector<int> classes;
    for (const auto& r : images) {
        if (r.status != "done") continue;
        const int c = s.labelled ? r.true_index : r.predicted_index;
        if (c >= 0 && std::find(classes.begin(), classes.end(), c) == classes.end()) classes.push_back(c);
    }
    std::sort(classes.begin(), classes.end());
    for (int c : classes) {
        const std::string name = c < static_cast<int>(labels_.size()) ? labels_[c] : std::to_string(c);
        s.per_class.push_back(aggregate(name, images, M, T, [&](const BatchImageResult& r) {
            return (s.labelled ? r.true_index : r.predicted_index) == c;
        }));
    }
    s.confusion_labels = labels_;
    s.confusion.clear();
    if (s.labelled) {
        s.correct = aggregate("correct", images, M, T, [](const BatchImageResult& r) { return r.correct(); });
        s.wrong =
            aggregate("wrong", images, M, T, [](const BatchImageResult& r) { return r.labelled() && !r.correct(); });
        const size_t n = labels_.size();
        s.confusion.assign(n, std::vector<int>(n, 0));
        for (const auto& r : images)
            if (r.status == "done" && r.labelled() && r.predicted_index >= 0 && static_cast<size_t>(r.true_index) < n &&
                static_cast<size_t>(r.predicted_index) < n)
                s.confusion[r.true_index][r.predicted_index]++;
    }
    s.curves.clear();
    if (s.has_metrics) {
        for (size_t m = 0; m <= M.size(); ++m) {
            if (curve_n_[m] == 0) continue;
            MeanCurves c;
            c.method = m < M.size() ? M[m] : "random";
            c.title = m < M.size() ? T[m] : "random pixel order";
            c.images = curve_n_[m];
            for (int k = 0; k < kCurvePoints; ++k) {
                c.fraction.push_back(k / double(kCurvePoints - 1));
                c.deletion.push_back(del_sum_[m][k] / curve_n_[m]);
                c.insertion.push_back(ins_sum_[m][k] / curve_n_[m]);
            }
            s.curves.push_back(std::move(c));
        }
    }
    return s;
}

// ---------------------------------------------------------------- files

std::string batchCsv(const BatchSummary& s) {
    std::ostringstream o;
    o << "id,file,status,error,true_index,true_label,predicted_index,predicted_label,predicted_probability,"
         "correct,target_index,target_label,target_probability,method,method_status,deletion_auc,insertion_auc,"
         "random_deletion_auc,random_insertion_auc,beats_random,seconds,flags,numbers\n";
    for (const auto& r : s.images) {
        const std::string head = csvField(r.id) + "," + csvField(r.file) + "," + r.status + "," + csvField(r.error) +
                                 "," + (r.true_index >= 0 ? std::to_string(r.true_index) : "") + "," +
                                 csvField(r.true_label) + "," +
                                 (r.predicted_index >= 0 ? std::to_string(r.predicted_index) : "") + "," +
                                 csvField(r.predicted_label) + "," + csvNum(r.predicted_probability) + "," +
                                 (r.labelled() && r.predicted_index >= 0 ? (r.correct() ? "1" : "0") : "") + "," +
                                 (r.target_index >= 0 ? std::to_string(r.target_index) : "") + "," +
                                 csvField(r.target_label) + "," + csvNum(r.target_probability);
        if (r.status != "done" || r.methods.empty()) {
            o << head << ",,,,,,,,,,\n";
            continue;
        }
        for (const auto& m : r.methods) {
            std::string beats;
            if (m.has_metrics && std::isfinite(r.random_deletion_auc))
                beats =
                    (m.deletion_auc < r.random_deletion_auc && m.insertion_auc > r.random_insertion_auc) ? "1" : "0";
            std::string numbers;
            for (const auto& [k, v] : m.numbers.items())
                if (v.is_number()) numbers += (numbers.empty() ? "" : ";") + k + "=" + csvNum(v.get<double>());
            std::string flags;
            for (const auto& f : m.flags) flags += (flags.empty() ? "" : ";") + f;
            o << head << "," << m.method << "," << (m.ok ? "done" : "failed: " + csvField(m.error)) << ","
              << (m.has_metrics ? csvNum(m.deletion_auc) : "") << "," << (m.has_metrics ? csvNum(m.insertion_auc) : "")
              << "," << (m.has_metrics ? csvNum(r.random_deletion_auc) : "") << ","
              << (m.has_metrics ? csvNum(r.random_insertion_auc) : "") << "," << beats << "," << csvNum(m.seconds, 4)
              << "," << csvField(flags) << "," << csvField(numbers) << "\n";
        }
    }
    return o.str();
}

nlohmann::json toJson(const BatchSummary& s) {
    nlohmann::json j;
    j["root"] = s.root.string();
    j["model"] = s.model_name;
    j["key"] = s.key;
    j["settings"] = s.settings;
    j["images"] = {
        {"found", s.found}, {"done", s.done}, {"skipped", s.skipped}, {"failed", s.failed}, {"not_run", s.not_run}};
    j["cancelled"] = s.cancelled;
    j["seconds"] = s.seconds;
    j["methods"] = s.methods;
    j["all"] = groupJson(s.all);
    j["per_class"] = nlohmann::json::array();
    for (const auto& g : s.per_class) j["per_class"].push_back(groupJson(g));
    j["per_class_by"] = s.labelled ? "true class" : "predicted class";
    if (s.labelled) {
        j["accuracy"] = {{"correct", s.correct_images}, {"labelled", s.labelled_images}, {"accuracy", num(s.accuracy)}};
        j["correct"] = groupJson(s.correct);
        j["wrong"] = groupJson(s.wrong);
        j["confusion"] = {{"labels", s.confusion_labels}, {"rows_true_columns_predicted", s.confusion}};
    }
    j["failed"] = nlohmann::json::array();
    for (const auto& r : s.images)
        if (r.status != "done") j["failed"].push_back({{"id", r.id}, {"file", r.file}, {"error", r.error}});
    j["notes"] = s.notes;
    return j;
}

std::string summaryMarkdown(const BatchSummary& s) {
    std::ostringstream o;
    o << "Batch of " << s.found << " images in " << s.root.string() << ", model " << s.model_name << ": " << s.done
      << " done (" << s.skipped << " skipped: done before), " << s.failed << " failed";
    if (s.cancelled) o << ", " << s.not_run << " not run (cancelled)";
    o << "\n";
    if (s.labelled) {
        char acc[64];
        std::snprintf(acc, sizeof acc, "%.1f%%", 100 * s.accuracy);
        o << "Accuracy " << acc << " (" << s.correct_images << " of " << s.labelled_images << " labelled images)\n";
    }
    auto table = [&](const GroupAggregate& g) {
        o << "\n### " << g.name << " (" << g.images << " images)\n\n";
        if (s.has_metrics) {
            o << "| method | deletion AUC ↓ mean ± sd (n) | insertion AUC ↑ mean ± sd (n) | beats random on both | "
                 "seconds per image |\n|---|---|---|---|---|\n";
            for (const auto& m : g.methods)
                o << "| " << m.title << " | " << meanSd(m.deletion) << " | " << meanSd(m.insertion) << " | "
                  << m.beats_random_both << "/" << m.deletion.n << " | " << fmt(m.seconds.mean, 3) << " |\n";
            o << "| random pixel order | " << meanSd(g.random_deletion) << " | " << meanSd(g.random_insertion)
              << " | – | – |\n";
        } else {
            o << "| method | seconds per image mean ± sd (n) | failed |\n|---|---|---|\n";
            for (const auto& m : g.methods)
                o << "| " << m.title << " | " << meanSd(m.seconds) << " | " << m.failed << " |\n";
        }
    };
    table(s.all);
    if (s.labelled) {
        table(s.correct);
        table(s.wrong);
    }
    o << "\nPer " << (s.labelled ? "true" : "predicted") << " class:\n";
    for (const auto& g : s.per_class) table(g);
    if (s.failed > 0) {
        o << "\nFailed images:\n\n";
        for (const auto& r : s.images)
            if (r.status != "done") o << "- " << r.id << ": " << r.error << "\n";
    }
    for (const auto& n : s.notes) o << "\nnote: " << n;
    if (!s.notes.empty()) o << "\n";
    return o.str();
}

std::string meanCurvesCsv(const BatchSummary& s) {
    std::ostringstream o;
    o << "method,curve,fraction,score,images\n";
    for (const auto& c : s.curves) {
        for (size_t k = 0; k < c.fraction.size(); ++k)
            o << c.method << ",deletion," << csvNum(c.fraction[k]) << "," << csvNum(c.deletion[k]) << "," << c.images
              << "\n";
        for (size_t k = 0; k < c.fraction.size(); ++k)
            o << c.method << ",insertion," << csvNum(c.fraction[k]) << "," << csvNum(c.insertion[k]) << "," << c.images
              << "\n";
    }
    return o.str();
}

std::vector<fs::path> writeBatchSummary(const BatchSummary& s) {
    std::vector<fs::path> written;
    auto put = [&](const std::string& name, const std::string& bytes) {
        const fs::path p = s.out / name;
        writeFileAtomic(p, bytes);
        written.push_back(p);
    };
    put("results.csv", batchCsv(s));
    put("summary.json", toJson(s).dump(2) + "\n");
    put("summary.md", summaryMarkdown(s));
    if (s.has_metrics) put("curves.csv", meanCurvesCsv(s));
    put("report.html", batchHtml(s));
    return written;
}

}  // namespace mirada
