# Finds every dependency and stops early with a sentence that names the Debian
# package to install when one is missing.
set(MIRADA_APT_HINT "Run ./scripts/setup.sh (or: sudo apt-get install <package>)")

macro(mirada_require pkg debian_package)
  find_package(${pkg} ${ARGN} QUIET)
  if(NOT ${pkg}_FOUND)
    message(FATAL_ERROR
      "Mirada needs ${pkg}, which was not found.\n"
      "On Debian 12 install the package '${debian_package}'. ${MIRADA_APT_HINT}.")
  endif()
endmacro()

# LibTorch: Debian's libtorch-dev, or any LibTorch given through CMAKE_PREFIX_PATH.
find_package(Torch QUIET)
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "Mirada needs LibTorch, which was not found.\n"
    "On Debian 12 install 'libtorch-dev'; with another LibTorch (for example a CUDA one), "
    "pass -DCMAKE_PREFIX_PATH=<its cmake prefix>. ${MIRADA_APT_HINT}.")
endif()

mirada_require(OpenCV "libopencv-dev and libopencv-contrib-dev" COMPONENTS core imgproc imgcodecs ximgproc)
mirada_require(Eigen3 "libeigen3-dev" NO_MODULE)
mirada_require(nlohmann_json "nlohmann-json3-dev")
mirada_require(CLI11 "libcli11-dev")
mirada_require(OpenSSL "libssl-dev")
mirada_require(ZLIB "zlib1g-dev")
mirada_require(Threads "libc6-dev")
if(MIRADA_BUILD_TESTS)
  mirada_require(GTest "libgtest-dev")
endif()
if(MIRADA_BUILD_GUI)
  find_package(Qt6 QUIET COMPONENTS Widgets Concurrent Charts Svg Test)
  if(NOT Qt6_FOUND)
    message(FATAL_ERROR "Mirada's GUI needs Qt 6, which was not found.\n"
      "On Debian 12 install 'qt6-base-dev', 'qt6-charts-dev' and 'qt6-svg-dev'. ${MIRADA_APT_HINT}. "
      "To build only the library and CLI, pass -DMIRADA_BUILD_GUI=OFF.")
  endif()
endif()

# Python with torch/torchvision (Debian's python3-torch) makes test fixtures.
find_program(MIRADA_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
