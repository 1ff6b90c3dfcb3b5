#pragma once
// Memory allocation tuning for the programs (the CLI and the GUI call it first).

namespace mirada {

// glibc's malloc serves large blocks (a batch of activations, a perturbed image
// batch) with fresh mmap()s and gives them back at free(), so every forward
// pass of a small model page-faults its buffers in again: on the 2-core
// development machine a batch of 20 Fashion-MNIST images with Grad-CAM and its
// deletion/insertion curves spent 11 s of 38 s in the kernel. Keeping freed
// blocks for reuse (mmap threshold at glibc's maximum, 32 MiB; no trimming)
// took the same run to 12.8 s (0.6 s in the kernel); memory stays at the
// run's peak instead of shrinking between batches.
void keepFreedMemoryForReuse();

}  // namespace mirada
