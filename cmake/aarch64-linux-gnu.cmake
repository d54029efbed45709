# cmake/aarch64-linux-gnu.cmake - the toolchain file of the aarch64 cross
# build (scripts/test-aarch64.sh): Debian's gcc-aarch64-linux-gnu, the arm64
# libraries of Debian's multiarch (/usr/lib/aarch64-linux-gnu), Concurrency
# Kit from a private prefix, and qemu-user to run what it builds, so ctest
# runs the tests under emulation.  The packages come from
# `scripts/deps.sh aarch64`.
#
# Concurrency Kit is the one dependency that cannot come from multiarch:
# libck0 is not "Multi-Arch: same", so libck-dev:arm64 and the amd64
# libck-dev that the native build needs cannot be installed together, and
# ck_md.h differs between the two (CK_MD_TSO on amd64, CK_MD_RMO on arm64):
# an aarch64 build against the amd64 header would compile ck's fences to
# nothing.  deps.sh unpacks the arm64 packages into WEFT_AARCH64_CK instead;
# its ck.pc comes first on the pkg-config path and its -I before the
# compiler's /usr/include.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# Where deps.sh unpacked libck0:arm64 and libck-dev:arm64.
if(NOT WEFT_AARCH64_CK)
  set(WEFT_AARCH64_CK "${CMAKE_CURRENT_LIST_DIR}/../build/aarch64/ck-arm64")
endif()
get_filename_component(WEFT_AARCH64_CK "${WEFT_AARCH64_CK}" ABSOLUTE)
set(WEFT_AARCH64_CK "${WEFT_AARCH64_CK}" CACHE PATH
  "Prefix holding the unpacked libck0:arm64 and libck-dev:arm64 (scripts/deps.sh aarch64)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WEFT_AARCH64_CK)
if(NOT EXISTS "${WEFT_AARCH64_CK}/usr/lib/aarch64-linux-gnu/pkgconfig/ck.pc")
  message(FATAL_ERROR "no arm64 Concurrency Kit in ${WEFT_AARCH64_CK}: "
    "run scripts/deps.sh aarch64 (or set WEFT_AARCH64_CK)")
endif()

# Libraries, headers and package configs: the cross compiler's own sysroot,
# then the multiarch tree under / (whose arm64 files sit in
# */aarch64-linux-gnu, which CMAKE_LIBRARY_ARCHITECTURE selects).  Programs
# (pkg-config, valgrind) are the build machine's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu "${WEFT_AARCH64_CK}" /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config sees only arm64 .pc files: ck's first, then multiarch's.
set(ENV{PKG_CONFIG_LIBDIR}
  "${WEFT_AARCH64_CK}/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})

# ctest runs every test executable through qemu.  The guest's root is the
# host's (-L /, not qemu's default /etc/qemu-binfmt/aarch64, which a binfmt
# set-up may point at another sysroot): libuv1:arm64 brings libc6:arm64,
# whose loader and libc.so.6 are one build.  With -L /usr/aarch64-linux-gnu qemu takes the loader of
# the cross sysroot (libc6-arm64-cross, another Debian revision), and that
# loader still finds libc.so.6 in /lib/aarch64-linux-gnu first: two glibc
# builds in one process.  The cross sysroot serves the link only.
find_program(WEFT_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${WEFT_QEMU_AARCH64};-L;/")
