#pragma once
// The number format of the model evaluations that perturbation methods and
// metrics make (LIME, KernelSHAP, Occlusion, RISE, Score-CAM, deletion/insertion).
//
//   fp32  every evaluation in float32: bit-for-bit the same maps on every machine.
//   bf16  a bfloat16 copy of the network (weights and activations; oneDNN on the
//         CPU), logits returned as float32. Only offered where the CPU computes
//         bfloat16 natively (AVX512-BF16 or AMX-BF16, read from the CPU's flags):
//         elsewhere oneDNN emulates it and it is slower than float32.
//   auto  bf16 where the CPU has it natively AND, on the run's own image, the
//         bf16 scores of a check batch of perturbed images rank and differ like
//         the fp32 ones (run/precision_check.hpp); fp32 otherwise.
//
// Gradients (the Grad-CAM family, gradient methods) always run in float32.
#include <string>

namespace mirada {

enum class Precision { Fp32, Bf16, Auto };

Precision precisionFromString(const std::string& s);  // "fp32" | "bf16" | "auto"; mirada::Error otherwise
std::string toString(Precision p);

// True when the CPU executes bfloat16 arithmetic natively (flags avx512_bf16
// or amx_bf16 in /proc/cpuinfo). MIRADA_CPU_BF16=0/1 overrides (tests).
bool cpuHasNativeBf16();
// The CPU's model name ("Intel(R) Xeon(R) Platinum 8480+"), "" when unknown.
std::string cpuModelName();

}  // namespace mirada
