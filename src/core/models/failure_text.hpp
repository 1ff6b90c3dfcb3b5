#pragma once
// What went wrong, in a sentence a user can act on, for exceptions that do not
// come from Mirada itself (LibTorch, TorchScript code inside a model, OpenCV,
// the C++ allocator). mirada::Error messages are already written for users and
// pass through unchanged.
#include <exception>
#include <string>

#include <torch/torch.h>

namespace mirada {

struct FailureText {
    std::string text;            // one line, at most ~400 characters
    bool out_of_memory = false;  // an allocation failed (CPU or GPU)
};

// - c10::Error: its message without the C++ backtrace;
// - an exception raised by TorchScript code (e.g. `raise RuntimeError("...")`
//   in a model's forward): the raised exception's own line ("RuntimeError: ..."),
//   not the interpreter's "The following operation failed" preamble;
// - std::bad_alloc, c10::OutOfMemoryError, LibTorch's "can't allocate memory"
//   and OpenCV's "Insufficient memory": out_of_memory = true.
FailureText describeFailure(const std::exception& e);

// One sentence for the user (GUI messages): a mirada::Error as it is; out of
// memory with what to try; anything else as describeFailure's text.
std::string userMessage(const std::exception& e);

// The error thrown when a model's forward() fails: names the model, the batch
// shape and the model's own message; out-of-memory says so and what to try.
// For use inside a catch block of a std::exception that is neither a
// mirada::Error nor a c10::OutOfMemoryError (those pass through).
std::string forwardFailureMessage(const std::string& model, const torch::Tensor& batch, const std::exception& e);

}  // namespace mirada
