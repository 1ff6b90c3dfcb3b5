// libFuzzer target: mirada::readStateDict and mirada::sniffWeightFileFormat
// (src/core/models/state_dict_reader.cpp) on a file holding the input: zip
// archives (torch.save since 1.6, read through LibTorch's PyTorchStreamReader)
// and legacy pickle streams (the reader's own pickle interpreter).
//
// Bad input must come out as an exception. A state dict that is read must keep
// state_dict_reader.hpp's promises: defined CPU tensors without grad whose
// elements all lie inside their storage. The storage bytes are copied here with
// memcpy, which ASan checks against the allocation, so a tensor that claims
// more memory than it has is a finding even though LibTorch is not instrumented.
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>

#include "fuzz_common.hpp"
#include "models/state_dict_reader.hpp"

namespace {

void checkTensor(const mirada::NamedTensor& nt) {
    const torch::Tensor& t = nt.tensor;
    FUZZ_CHECK(t.defined(), "every tensor is defined");
    FUZZ_CHECK(t.device().is_cpu(), "tensors are on the CPU");
    FUZZ_CHECK(!t.requires_grad(), "tensors do not require grad");
    const c10::Storage& storage = t.storage();
    const std::size_t bytes = storage.nbytes();
    if (t.numel() > 0) {
        // Last element's offset, in elements, computed without overflow.
        __int128 last = t.storage_offset();
        FUZZ_CHECK(last >= 0, "storage offset is not negative");
        for (int64_t d = 0; d < t.dim(); ++d) {
            FUZZ_CHECK(t.stride(d) >= 0, "strides are not negative");
            last += static_cast<__int128>(t.size(d) - 1) * t.stride(d);
        }
        FUZZ_CHECK((last + 1) * static_cast<__int128>(t.element_size()) <= static_cast<__int128>(bytes),
                   "every element lies inside the tensor's storage");
    }
    if (bytes > 0) {
        FUZZ_CHECK(storage.data() != nullptr, "a non-empty storage has memory");
        std::vector<unsigned char> copy(bytes);
        std::memcpy(copy.data(), storage.data(), bytes);  // ASan: the whole storage is allocated
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    at::set_num_threads(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = mirada_fuzz::writeFile("weights.pth", data, size);
    (void)mirada::sniffWeightFileFormat(file);  // documented never to throw for bad content
    try {
        const mirada::StateDict dict = mirada::readStateDict(file);
        for (const auto& nt : dict) checkTensor(nt);
    } catch (const std::exception&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
