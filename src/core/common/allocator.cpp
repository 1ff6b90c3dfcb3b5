#include "common/allocator.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mirada {

void keepFreedMemoryForReuse() {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  // glibc's largest allowed value on 64-bit
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
#endif
}

}  // namespace mirada
