#pragma once
// Errors the user can read: every failure names the file or value, what was
// expected, and what to do next. The CLI prints `what()` and exits non-zero;
// the GUI shows it in a message.
#include <stdexcept>
#include <string>

namespace mirada {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The operation was cancelled through a RunContext; not a failure.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace mirada
