#include "run/run_plan.hpp"

#include <exception>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "image/preprocess.hpp"
#include "models/batch_size.hpp"
#include "models/failure_text.hpp"
#include "models/predict.hpp"
#include "run/precision_check.hpp"

namespace mirada {

namespace {

class Runner {
public:
    Runner(const RunObserver& observer, OnFailure onFailure, RunResults& results)
        : observer_(observer), onFailure_(onFailure), results_(results) {}

    void tell(int step, StepState state, const Explanation* explanation = nullptr, std::string message = {}) const {
        if (!observer_.step) return;
        StepEvent e;
        e.step = step;
        e.state = state;
        e.explanation = explanation;
        e.message = std::move(message);
        e.results = &results_;
        observer_.step(e);
    }

    RunContext context(int step, const std::atomic<bool>* cancel) const {
        RunContext ctx;
        ctx.cancel = cancel;
        if (observer_.progress) {
            auto progress = observer_.progress;
            ctx.progress = [progress, step](double f, const std::string& m) { progress(step, f, m); };
        }
        return ctx;
    }

    // Runs one step; returns true when it finished. Failures and cancelling
    // are reported, then thrown (Stop) or swallowed (Continue).
    template <class Work>
    bool attempt(int step, Work work) const {
        tell(step, StepState::Running);
        try {
            work();
            return true;
        } catch (const Cancelled&) {
            tell(step, StepState::Cancelled);
            if (onFailure_ == OnFailure::Stop) throw;
        } catch (const std::exception& e) {
            tell(step, StepState::Failed, nullptr, userMessage(e));
            if (onFailure_ == OnFailure::Stop) throw;
        }
        return false;
    }

private:
    const RunObserver& observer_;
    OnFailure onFailure_;
    RunResults& results_;
};

bool isCancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(std::memory_order_relaxed); }

// The model evaluates in float32 again when the run ends, however it ends.
struct Fp32OnExit {
    Model& model;
    ~Fp32OnExit() {
        try {
            model.setEvaluationPrecision(Precision::Fp32, nullptr);
        } catch (...) {
        }
    }
};

bool evaluatesImageBatches(const std::string& method) {
    const MethodEntry* entry = findMethod(method);
    return entry && entry->work == ModelWork::ImageBatches;
}

}  // namespace

RunResults runPlan(Model& model, const cv::Mat& image, const RunPlan& plan, const RunObserver& observer,
                   const std::atomic<bool>* cancel, OnFailure onFailure) {
    if (plan.methods.empty()) throw Error("the run has no method; choose at least one");
    RunResults results;
    const Runner runner(observer, onFailure, results);
    // The sanity check recomputes each finished map with its explainer and request.
    std::vector<std::unique_ptr<Explainer>> explainers;
    std::vector<ExplainRequest> requests;
    // Precision (models/precision.hpp): the steps that evaluate batches of
    // images (perturbation methods, Score-CAM, the metrics) run in the plan's
    // precision, resolved once on first use; every other step in float32.
    const Fp32OnExit restore{model};
    bool precisionResolved = false;
    auto usePrecision = [&](bool imageBatches) {
        if (!imageBatches || plan.precision == Precision::Fp32) {
            model.setEvaluationPrecision(Precision::Fp32, nullptr);
            return;
        }
        if (!precisionResolved) {
            results.precision = resolveRunPrecision(model, image, results.target_index, plan.perturbation, plan.seed,
                                                    plan.precision, &results.precision_note);
            precisionResolved = true;
        }
        model.setEvaluationPrecision(results.precision, nullptr);
    };

    for (int step = 0; step < static_cast<int>(plan.methods.size()); ++step) {
        if (isCancelled(cancel)) {
            runner.tell(step, StepState::Cancelled);
            if (onFailure == OnFailure::Stop) throw Cancelled();
            continue;
        }
        runner.attempt(step, [&]() {
            if (results.target_index < 0)
                results.target_index =
                    plan.target_index >= 0 ? plan.target_index : resolveTarget(model, image, plan.target_request);
            if (results.batch_size <= 0) {
                // Measured (batch size auto) in the precision the image batches will run in.
                bool anyBatches = plan.metrics;
                for (const auto& m : plan.methods) anyBatches = anyBatches || evaluatesImageBatches(m.method);
                usePrecision(anyBatches);
                results.batch_size = resolveBatchSize(model, plan.batch_size);
            }
            auto explainer = makeExplainer(plan.methods[step].method);
            const auto& reuse = plan.methods[step].reuse;
            ExplainRequest request;
            request.model = &model;
            request.image = image;
            request.target_index = results.target_index;
            request.seed = plan.seed;
            request.batch_size = results.batch_size;
            request.params = plan.methods[step].params;
            request.superpixels = plan.superpixels;
            request.perturbation = plan.perturbation;
            request.segments = plan.segments;
            if (reuse) {
                if (reuse->target_index != results.target_index)
                    throw Error("the earlier " + reuse->method_title + " map explains class " +
                                std::to_string(reuse->target_index) + ", this run class " +
                                std::to_string(results.target_index) + "; run it again");
                results.explanations.push_back(*reuse);
            } else {
                usePrecision(evaluatesImageBatches(plan.methods[step].method));
                Explanation e = explainer->explain(request, runner.context(step, cancel));
                e.settings["precision"] = toString(model.evaluationPrecision());
                model.setEvaluationPrecision(Precision::Fp32, nullptr);
                results.explanations.push_back(std::move(e));
            }
            results.steps.push_back(step);
            explainers.push_back(std::move(explainer));
            requests.push_back(std::move(request));
            runner.tell(step, StepState::Done, &results.explanations.back());
        });
    }
    if (!plan.metrics) return results;

    if (isCancelled(cancel) || results.explanations.empty()) {
        if (isCancelled(cancel)) {
            runner.tell(kFaithfulnessStep, StepState::Cancelled);
            if (plan.sanity) runner.tell(kSanityStep, StepState::Cancelled);
            if (onFailure == OnFailure::Stop) throw Cancelled();
        } else {
            runner.tell(kFaithfulnessStep, StepState::Failed, nullptr,
                        "no map finished, so there is nothing to measure");
        }
        return results;
    }
    const bool measured = runner.attempt(kFaithfulnessStep, [&]() {
        FaithfulnessRequest request;
        request.model = &model;
        request.image = image;
        request.target_index = results.explanations.front().target_index;
        request.seed = plan.seed;
        request.batch_size = results.batch_size;
        request.params = plan.faithfulness;
        request.perturbation = plan.perturbation;
        usePrecision(true);
        results.faithfulness_precision = model.evaluationPrecision();
        results.faithfulness =
            evaluateFaithfulness(request, results.explanations, runner.context(kFaithfulnessStep, cancel));
        results.agreement = agreementMatrix(results.explanations, inputGeometry(image.size(), model.info().input),
                                            agreementSettingsFrom(plan.agreement));
        model.setEvaluationPrecision(Precision::Fp32, nullptr);
        results.has_metrics = true;
        runner.tell(kFaithfulnessStep, StepState::Done);
    });
    if (!plan.sanity) return results;
    if (!measured) {
        runner.tell(kSanityStep, isCancelled(cancel) ? StepState::Cancelled : StepState::Failed, nullptr,
                    "the faithfulness step did not finish");
        return results;
    }
    runner.attempt(kSanityStep, [&]() {
        std::vector<SanityInput> inputs;
        for (size_t i = 0; i < results.explanations.size(); ++i)
            inputs.push_back({explainers[i].get(), requests[i], results.explanations[i]});
        results.sanity = runSanityCheck(inputs, plan.sanity_params, plan.seed, runner.context(kSanityStep, cancel));
        results.has_sanity = true;
        runner.tell(kSanityStep, StepState::Done);
    });
    return results;
}

}  // namespace mirada
