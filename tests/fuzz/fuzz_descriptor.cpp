// libFuzzer target: mirada::readModelDescriptor (src/core/models/descriptor.cpp)
// on a file holding the input, model.json, in the harness's private folder.
// The folder also holds fashion-cnn.pt and model.pt (the descriptor only checks
// that the TorchScript file exists) and labels.txt, so inputs that name them
// get past those checks into the rest of the parser. The seeds name them.
//
// Bad input must come out as an exception; a descriptor that is accepted must
// keep the limits descriptor.cpp enforces.
#include <exception>

#include "fuzz_common.hpp"
#include "models/descriptor.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    mirada_fuzz::writeFile("fashion-cnn.pt", "not read by the descriptor parser\n");
    mirada_fuzz::writeFile("model.pt", "");
    mirada_fuzz::writeFile("labels.txt", "zero\none\r\n\ntwo\n");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = mirada_fuzz::writeFile("model.json", data, size);
    try {
        const mirada::ModelDescriptor d = mirada::readModelDescriptor(file);
        const mirada::InputSpec& in = d.info.input;
        FUZZ_CHECK(in.width >= 1 && in.width <= 8192 && in.height >= 1 && in.height <= 8192, "input size");
        FUZZ_CHECK(in.channels == 1 || in.channels == 3, "1 or 3 channels");
        FUZZ_CHECK(static_cast<int>(in.mean.size()) == in.channels, "one mean per channel");
        FUZZ_CHECK(static_cast<int>(in.std.size()) == in.channels, "one std per channel");
        for (float s : in.std) FUZZ_CHECK(s > 0, "std is positive");
        FUZZ_CHECK(!d.info.name.empty(), "a name");
    } catch (const std::exception&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
