# Shared dependency installation for Signet's scripts (sourced, not executed).
# Debian packages are installed only when missing; apt-get update runs at most once.

SIGNET_BUILD_PACKAGES="libsodium-dev libssl-dev libcurl4-openssl-dev pkg-config"
SIGNET_TEST_PACKAGES="openssl python3 python3-pip python3-venv curl docker-registry skopeo apache2-utils python3-cryptography notary faketime"
SIGNET_PYTHON_PACKAGES="tuf==7.0.1 securesystemslib[crypto]==1.3.1"

_signet_apt_updated=0
signet_apt_install() {
    local missing=()
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Debian packages: ${missing[*]}" >&2
    if [ "$_signet_apt_updated" -eq 0 ]; then
        $sudo apt-get update -qq
        _signet_apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A private virtual environment for the Python oracles (python-tuf, securesystemslib), so that the
# system's Python is never modified. Exported as SIGNET_PYTHON for the tests.
signet_python_env() {
    local venv="${SIGNET_VENV:-$PWD/.build-venv}"
    if [ ! -x "$venv/bin/python3" ]; then
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python3" -c "import tuf, securesystemslib" 2>/dev/null; then
        echo "installing Python test oracles: $SIGNET_PYTHON_PACKAGES" >&2
        "$venv/bin/python3" -m pip install -q --disable-pip-version-check $SIGNET_PYTHON_PACKAGES
    fi
    export SIGNET_PYTHON="$venv/bin/python3"
}

signet_install_build_deps() {
    signet_apt_install $SIGNET_BUILD_PACKAGES
}

signet_install_test_deps() {
    signet_apt_install $SIGNET_BUILD_PACKAGES $SIGNET_TEST_PACKAGES
    signet_python_env
}

# signet_release_build SCRATCH PRODUCT [swift build arguments...]
# A release build of PRODUCT for shipping or measuring: the Swift runtime linked in
# (--static-swift-stdlib), and the C++ runtime it needs (libstdc++, libgcc's unwinder) too, so that a
# process maps two libraries fewer and resolves none of libstdc++'s ~3 300 symbol relocations at every
# start (about 1.5 ms of a `signet verify`, docs/performance.md). The toolchain's static-stdlib link
# line names `-lstdc++`; a linker script called libstdc++.so in SCRATCH/link, searched first, turns
# that into the static archive. Without libstdc++.a (libstdc++-12-dev) the build links it dynamically.
signet_release_build() {
    local scratch=$1 product=$2
    shift 2
    local cxx=() archive
    archive=$(clang -print-file-name=libstdc++.a 2>/dev/null || true)
    if [[ $archive == /* && -f $archive ]]; then
        mkdir -p "$scratch/link"
        printf '/* Signet release builds: the C++ runtime linked statically. */\nINPUT(%s)\n' "$archive" >"$scratch/link/libstdc++.so"
        cxx=(-Xlinker "-L$scratch/link" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc)
    else
        echo "libstdc++.a not found: linking the C++ runtime dynamically" >&2
    fi
    swift build -c release --static-swift-stdlib --product "$product" --scratch-path "$scratch" "${cxx[@]}" "$@"
}
