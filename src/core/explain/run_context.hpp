#pragma once
// Long calls take a RunContext: a progress callback and a cancel flag that is
// checked at every batch. The core knows nothing about threads or widgets.
#include <atomic>
#include <functional>
#include <string>

#include "common/error.hpp"

namespace mirada {

struct RunContext {
    // fraction in [0, 1]; message says what is being done ("LIME: batch 3/32").
    std::function<void(double fraction, const std::string& message)> progress;
    const std::atomic<bool>* cancel = nullptr;  // set to true from any thread to stop

    void report(double fraction, const std::string& message) const {
        if (progress) progress(fraction, message);
    }
    bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
    // Throws mirada::Cancelled when cancellation was requested.
    void checkCancelled() const {
        if (cancelled()) throw Cancelled();
    }
};

}  // namespace mirada
