#include "models/failure_text.hpp"

#include <opencv2/core.hpp>

#include <c10/util/Exception.h>

#include <new>
#include <sstream>
#include <vector>

#include "common/error.hpp"

namespace mirada {
namespace {

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) {
        const auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        const auto e = line.find_last_not_of(" \t\r");
        out.push_back(line.substr(b, e - b + 1));
    }
    return out;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// "RuntimeError: text", "ValueError: text", "AssertionError: ..." -- the line
// TorchScript's interpreter ends its traceback with.
bool isRaisedLine(const std::string& line) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos || colon == 0 || colon > 60) return false;
    const std::string name = line.substr(0, colon);
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
    return name.size() > 5 && (name.compare(name.size() - 5, 5, "Error") == 0 ||
                               (name.size() > 9 && name.compare(name.size() - 9, 9, "Exception") == 0));
}

std::string clip(std::string s, size_t max = 400) {
    if (s.size() > max) s = s.substr(0, max - 3) + "...";
    return s;
}

}  // namespace

FailureText describeFailure(const std::exception& e) {
    FailureText f;
    if (dynamic_cast<const Error*>(&e)) {
        f.text = e.what();
        return f;
    }
    std::string raw;
    if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) {
        raw = c10e->what_without_backtrace();
        if (dynamic_cast<const c10::OutOfMemoryError*>(&e)) f.out_of_memory = true;
    } else if (const auto* cve = dynamic_cast<const cv::Exception*>(&e)) {
        raw = cve->err.empty() ? std::string(cve->what()) : cve->err;
        if (cve->code == cv::Error::StsNoMem) f.out_of_memory = true;
    } else {
        raw = e.what();
    }
    if (dynamic_cast<const std::bad_alloc*>(&e)) f.out_of_memory = true;
    if (contains(raw, "can't allocate memory") || contains(raw, "not enough memory") ||
        contains(raw, "out of memory") || contains(raw, "Insufficient memory") || contains(raw, "Failed to allocate"))
        f.out_of_memory = true;

    const auto ls = lines(raw);
    std::string text;
    if (contains(raw, "The following operation failed in the TorchScript interpreter") ||
        contains(raw, "Traceback of TorchScript")) {
        // The exception raised inside the model's code is the last "XxxError: ..." line.
        for (auto it = ls.rbegin(); it != ls.rend() && text.empty(); ++it)
            if (isRaisedLine(*it)) text = *it;
        // LibTorch's own failure inside TorchScript: the last line is its message.
        if (text.empty() && !ls.empty()) text = ls.back();
    } else if (!ls.empty()) {
        text = ls.front();
        // c10 messages with an "Exception raised from ..." tail: keep the first line.
    }
    if (text.empty()) text = dynamic_cast<const std::bad_alloc*>(&e) ? "a memory allocation failed" : "no details";
    f.text = clip(text);
    return f;
}

std::string userMessage(const std::exception& e) {
    if (dynamic_cast<const Error*>(&e)) return e.what();
    const FailureText f = describeFailure(e);
    if (f.out_of_memory)
        return "out of memory (" + f.text + "): use a smaller image or batch size, or close other programs";
    return f.text;
}

std::string forwardFailureMessage(const std::string& model, const torch::Tensor& batch, const std::exception& e) {
    const FailureText f = describeFailure(e);
    std::string shape = "an input";
    if (batch.defined()) {
        std::ostringstream s;
        s << "a batch of " << batch.sizes();
        shape = s.str();
    }
    if (f.out_of_memory)
        return "model '" + model + "' ran out of memory on " + shape + " (" + f.text +
               "): use a smaller batch (--batch-size), a smaller model input, or close other programs";
    return "model '" + model + "' failed inside its forward() on " + shape + ": " + f.text +
           " (the model's own code raised this; check that the model works on this input in PyTorch)";
}

}  // namespace mirada
