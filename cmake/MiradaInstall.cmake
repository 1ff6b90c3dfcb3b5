# Installing Mirada like a desktop program (`cmake --install build --prefix
# PREFIX`) and packaging it as a .deb (`cpack -G DEB` in the build folder).
#
#   PREFIX/bin/mirada, mirada-cli              the launchers (src/launcher)
#   PREFIX/libexec/mirada/mirada.bin, ...      the real programs they start
#   PREFIX/share/mirada/models/fashion-cnn/    the bundled model
#   PREFIX/share/mirada/samples/               the sample images
#   PREFIX/share/mirada/scripts/               bench_pytorch.py (bench --compare-pytorch)
#   PREFIX/share/applications/mirada.desktop   the freedesktop menu entry
#   PREFIX/share/icons/hicolor/*/apps/mirada.* the icon: SVG, and PNGs rendered at build time
#   PREFIX/share/doc/mirada/                   README, licence, credits
#
# The layout under PREFIX is fixed: the launcher looks for its program in
# ../libexec/mirada (src/launcher/launcher.cpp) and the programs for their data
# in ../../share/mirada (src/core/common/data_dir.cpp). Every rule is in the
# component `mirada`, so a test can install with `--component mirada` and leave
# the build folder's install_manifest.txt (a user's uninstall list) alone.
include(GNUInstallDirs)

if(NOT CMAKE_INSTALL_BINDIR STREQUAL "bin" OR NOT CMAKE_INSTALL_DATADIR STREQUAL "share")
  message(FATAL_ERROR "Mirada installs into PREFIX/bin, PREFIX/libexec/mirada and PREFIX/share/mirada, "
    "the layout its programs look for; leave CMAKE_INSTALL_BINDIR and CMAKE_INSTALL_DATADIR at bin and share "
    "(they are ${CMAKE_INSTALL_BINDIR} and ${CMAKE_INSTALL_DATADIR}) and choose the place with CMAKE_INSTALL_PREFIX.")
endif()
set(MIRADA_INSTALL_LIBEXECDIR libexec/mirada)
set(MIRADA_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/mirada)
set(MIRADA_INSTALL_DOCDIR ${CMAKE_INSTALL_DATADIR}/doc/mirada)
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME mirada)

# Programs. A LibTorch from outside the system's folders (CMAKE_PREFIX_PATH)
# stays found through the RPATH; system libraries get none.
install(TARGETS mirada-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mirada)
install(TARGETS mirada-cli-program RUNTIME DESTINATION ${MIRADA_INSTALL_LIBEXECDIR} COMPONENT mirada)
set_target_properties(mirada-cli-program PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
if(TARGET mirada)
  install(TARGETS mirada RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mirada)
  install(TARGETS mirada-program RUNTIME DESTINATION ${MIRADA_INSTALL_LIBEXECDIR} COMPONENT mirada)
  set_target_properties(mirada-program PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
endif()

# Data the programs read at run time (src/core/common/data_dir.hpp). The
# ImageNet class names are compiled in, the GUI's icon is a Qt resource.
install(FILES
  ${PROJECT_SOURCE_DIR}/models/fashion-cnn/fashion-cnn.json
  ${PROJECT_SOURCE_DIR}/models/fashion-cnn/fashion-cnn.pt
  ${PROJECT_SOURCE_DIR}/models/fashion-cnn/README.md
  ${PROJECT_SOURCE_DIR}/models/fashion-cnn/train.py
  DESTINATION ${MIRADA_INSTALL_DATADIR}/models/fashion-cnn COMPONENT mirada)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/samples/
  DESTINATION ${MIRADA_INSTALL_DATADIR}/samples COMPONENT mirada
  FILES_MATCHING PATTERN "*.png" PATTERN "*.jpg")
install(FILES ${PROJECT_SOURCE_DIR}/scripts/bench_pytorch.py
  DESTINATION ${MIRADA_INSTALL_DATADIR}/scripts COMPONENT mirada)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/resources/CREDITS.md
  DESTINATION ${MIRADA_INSTALL_DOCDIR} COMPONENT mirada)
# Debian's place for the licence: /usr/share/doc/<package>/copyright.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${MIRADA_INSTALL_DOCDIR} RENAME copyright COMPONENT mirada)

# Desktop entry and icons (with the GUI). The PNG sizes are rendered from the
# SVG with rsvg-convert (Debian: librsvg2-bin, in scripts/setup.sh); without
# it only the scalable icon is installed, which most desktops accept.
set(MIRADA_ICON_PNG_SIZES "")
if(TARGET mirada)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/mirada.desktop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT mirada)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/mirada.svg
    DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT mirada)
  find_program(MIRADA_RSVG_CONVERT rsvg-convert)
  if(MIRADA_RSVG_CONVERT)
    set(MIRADA_ICON_PNG_SIZES 32 48 64 128 256)
    set(pngs "")
    foreach(size IN LISTS MIRADA_ICON_PNG_SIZES)
      set(png ${CMAKE_BINARY_DIR}/icons/hicolor/${size}x${size}/apps/mirada.png)
      add_custom_command(OUTPUT ${png}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/icons/hicolor/${size}x${size}/apps
        COMMAND ${MIRADA_RSVG_CONVERT} -w ${size} -h ${size} -o ${png} ${PROJECT_SOURCE_DIR}/resources/icons/mirada.svg
        DEPENDS ${PROJECT_SOURCE_DIR}/resources/icons/mirada.svg
        COMMENT "Rendering the ${size}x${size} icon" VERBATIM)
      list(APPEND pngs ${png})
      install(FILES ${png} DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps COMPONENT mirada)
    endforeach()
    add_custom_target(mirada-icons ALL DEPENDS ${pngs})
  else()
    message(STATUS "rsvg-convert not found (Debian: librsvg2-bin): only the SVG icon will be installed")
  endif()
endif()

# The .deb: `cpack -G DEB` in the build folder writes mirada_<version>_amd64.deb.
# Its Depends line is what dpkg-shlibdeps finds for the programs' libraries
# (libtorch1.13, libopencv-*406, libqt6*6, libssl3, ...) plus what they load
# without linking: a font, and Qt's SVG plugin (the window icon).
set(MIRADA_PACKAGE_MAINTAINER "The Mirada authors <maintainers@mirada.invalid>"
  CACHE STRING "Maintainer field of the .deb (Name <email>)")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mirada)
set(CPACK_PACKAGE_VENDOR "The Mirada authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${MIRADA_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "compare where an image classifier looks")
set(CPACK_PACKAGE_DESCRIPTION "Mirada explains the decisions of image classifiers (TorchScript models,
torchvision networks, a bundled Fashion-MNIST CNN) with gradient, CAM,
perturbation, LIME and SHAP methods, shows the maps side by side and measures
them (deletion/insertion, agreement between methods, sanity check). Desktop
application `mirada` (Qt 6) and command line `mirada-cli`.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Package the component `mirada` (everything): cpack then writes
# install_manifest_mirada.txt, not the install_manifest.txt of a user's install.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};mirada;/")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MIRADA_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(TARGET mirada)
  # Qt's SVG image plugin draws the window icon; named here unless the GUI links Qt6::Svg anyway.
  get_target_property(mirada_gui_links mirada_gui LINK_LIBRARIES)
  if("Qt6::Svg" IN_LIST mirada_gui_links)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "fonts-dejavu-core")
  else()
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6svg6, fonts-dejavu-core")
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch, python3-torchvision")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_SOURCE_IGNORE_FILES "/[.]git/" "/build[^/]*/")
include(CPack)
