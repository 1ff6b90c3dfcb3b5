// Compiled as part of the `models` layer (tests/CMakeLists.txt, test
// layering.lower_includes_build): a layer may include its own headers and
// those of the layers below it.
#include "common/error.hpp"
#include "image/input_spec.hpp"
#include "models/model.hpp"

int miradaLayeringProbe() { return mirada::InputSpec{}.width; }
