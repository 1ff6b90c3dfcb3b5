// Compiled as part of the `models` layer (tests/CMakeLists.txt, test
// layering.lower_includes_build): a layer may include its own headers and
// those of the layers below it. (Light headers only, so the probe compiles in
// a second.)
#include "common/error.hpp"
#include "image/input_spec.hpp"
#include "models/baseline.hpp"

int miradaLayeringProbe() { return mirada::InputSpec{}.width + static_cast<int>(mirada::Baseline{}.values.size()); }
