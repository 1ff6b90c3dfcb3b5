// The programs `mirada` and `mirada-cli` are this small launcher; it sets how
// OpenMP threads wait, then runs the real program (`mirada.bin`,
// `mirada-cli.bin`, beside it) in its place with the same arguments.
//
// Why a launcher: Debian's LibTorch parallelises with GNU OpenMP (libgomp),
// whose idle threads spin for 300000 rounds before they sleep. On a desktop,
// where other processes hold cores, the spinning threads take the time slices
// the working ones need: LIME + KernelSHAP on the bundled model took 2.1x its
// idle time next to one busy process (`yes`), 1.4x with a spin count of 1000
// (libgomp's own value for an oversubscribed machine), at the same idle time
// (1.84 vs 1.81 s, median of 5; OMP_WAIT_POLICY=PASSIVE cost 15% idle). libgomp reads its
// settings once, in a constructor that runs before main() and before any
// code of a program that links LibTorch can change the environment (glibc
// resets the environment after .preinit_array; measured), so they must be in
// the environment before the program starts. scripts/bench_load.sh measures it.
//
// A setting the user made (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is kept. This
// file links nothing but the C library, so it starts in about a millisecond.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifndef MIRADA_PROGRAM
#error "MIRADA_PROGRAM (the real program's file name) must be defined"
#endif

int main(int argc, char** argv) {
    (void)argc;
    if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "1000", 1);
    char self[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = ".";
    if (n > 0) {
        self[n] = '\0';
        dir = self;
        dir.erase(dir.rfind('/'));
    }
    // Beside the launcher (build tree), or in libexec (an installed layout).
    const std::string candidates[] = {dir + "/" MIRADA_PROGRAM, dir + "/../libexec/mirada/" MIRADA_PROGRAM};
    int err = ENOENT;
    for (const std::string& path : candidates) {
        execv(path.c_str(), argv);
        err = errno;
    }
    std::fprintf(stderr, "%s: cannot start %s (%s): the installation is incomplete; build or install Mirada again\n",
                 argv[0] ? argv[0] : "mirada", candidates[0].c_str(), std::strerror(err));
    return 127;
}
